"""The demo city's supervision data (called by portal's seed_demo after the cases and their history).

The policy keeps its defaults (it is created if missing) and one sweep runs over whatever cases the
earlier loaders made, so the board opens with alerts, level histories and digests in the inboxes.
Idempotent: a second run finds the same alerts open and changes nothing but what time changed.
"""

from __future__ import annotations

from typing import Any

from tongban.supervision import services
from tongban.supervision.choices import SweepOrigin
from tongban.supervision.models import Alert, SupervisionPolicy


def load() -> dict[str, Any]:
    SupervisionPolicy.objects.get_or_create(pk=1)
    sweep = services.supervision_sweep(origin=SweepOrigin.DEMO)
    return {
        "sweep": sweep.pk,
        "opened": sweep.opened,
        "changed": sweep.changed,
        "closed": sweep.closed,
        "notified": sweep.notified,
        "open_alerts": Alert.objects.filter(closed_at__isnull=True).count(),
    }

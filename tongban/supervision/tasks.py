"""Supervision's background job (registered every five minutes by portal's schedule_jobs)."""

from __future__ import annotations

from tongban.supervision import services
from tongban.supervision.choices import SweepOrigin


def sweep() -> int:
    """Measure every open case and stage, keep the alerts, send the digests; the sweep's id."""
    return services.supervision_sweep(origin=SweepOrigin.SCHEDULE).pk

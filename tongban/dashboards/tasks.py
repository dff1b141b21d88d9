"""Background jobs of the dashboards (registered by ``manage.py schedule_jobs``)."""

from __future__ import annotations

from typing import Any

from tongban.dashboards import rollups


def refresh_rollups() -> dict[str, Any]:
    """Every five minutes: recompute the rollup groups touched since the last refresh."""
    return rollups.refresh().as_dict()

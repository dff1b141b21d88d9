"""The demo city's dashboards data (called by portal's seed_demo after the cases demo and history).

The figures are the rollups of the demo's cases, reviews and licence uses: rebuilt in full here, so
the board shows the year of history on first start; the five-minute job keeps them up after.
"""

from __future__ import annotations

from typing import Any

from tongban.dashboards import rollups


def load() -> dict[str, Any]:
    return rollups.refresh(full=True).as_dict()

"""The demo city's dashboards data (called by portal's seed_demo after the cases demo)."""

from __future__ import annotations

from typing import Any


def load() -> dict[str, Any]:
    return {}

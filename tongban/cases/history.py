"""A year of finished and open cases for the demo city, loaded in bulk as a historical import would
be (issue 6: the supervision board and the dashboards need history on first start)."""

from __future__ import annotations

from typing import Any


def load_demo() -> dict[str, Any]:
    return {}

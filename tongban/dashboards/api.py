"""The dashboards API, mounted under /api/v1/ by tongban.api."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["dashboards"])

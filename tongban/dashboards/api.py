"""The dashboards API, mounted under /api/v1/ by tongban.api.

``GET /api/v1/staff/dashboard`` answers every figure of the main dashboard for the filters, from the
rollup tables (``source=raw``: the same figures straight from the raw tables, administrators only,
to reconcile). Bad periods are refused with stable codes: ``period_date_invalid``,
``period_in_future``, ``period_reversed``, ``period_too_long`` (400); a department or item outside the
caller's jurisdiction with ``department_not_visible`` / ``item_not_visible`` (403).
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema

from tongban.dashboards import selectors
from tongban.identity import selectors as identity_selectors
from tongban.identity.auth import session_or_token

router = Router(tags=["dashboards"])


class ErrorOut(Schema):
    error: dict[str, Any]


class DashboardOut(Schema):
    period: dict[str, str]
    department: int | None
    item: int | None
    source: str
    refreshed_at: str | None
    kpis: dict[str, Any]
    days: list[dict[str, Any]]
    months: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    items: list[dict[str, Any]]


@router.get(
    "/staff/dashboard",
    response={200: DashboardOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    auth=session_or_token,
    summary="The main dashboard: every KPI and chart series for a period, a department and an item",
)
def staff_dashboard(
    request: HttpRequest,
    department: str | None = None,
    item: str | None = None,
    start: str | None = None,
    end: str | None = None,
    source: Literal["rollup", "raw"] = "rollup",
) -> dict[str, Any]:
    """Dates are local (Asia/Shanghai) ``YYYY-MM-DD``, both ends included; default the last 365 days."""
    user = identity_selectors.api_person(request)
    filters = selectors.parse_filters(user, department=department, item=item, start=start, end=end)
    return selectors.dashboard(user, filters, source=source)

"""The dashboards pages (决策支持), mounted at /staff/dashboards/.

Supervisors and administrators see their jurisdiction, approvers their own department
(``selectors.parse_filters``). Bad filters show the message on the form (status 400), never a 500.
Charts are drawn by ``static/dashboards/dashboard.js`` from the figures embedded with
``json_script`` (CSP: no inline script); every table has an Excel export, the drill-down list too.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from tongban.core.audit import record
from tongban.core.errors import DomainError, PermissionDenied
from tongban.core.masking import mask_name, mask_resident_id
from tongban.dashboards import excel, rollups, selectors, services
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import has_role, portal_user

PAGE_SIZE = 50
MAX_PAGE = 2_000

viewer_required = staff_required(*selectors.VIEWER_ROLES)


def _filters(request: HttpRequest, user: User) -> selectors.Filters:
    query = request.GET
    try:
        return selectors.parse_filters(
            user,
            department=query.get("department"),
            item=query.get("item"),
            start=query.get("start"),
            end=query.get("end"),
        )
    except PermissionDenied as exc:
        raise PageForbidden(str(exc.message)) from None


def _filter_context(user: User, query: QueryDict) -> dict[str, Any]:
    return {
        "departments": list(selectors.visible_departments(user)),
        "items": list(selectors.visible_items(user)),
        "chosen": {k: query.get(k, "") for k in ("department", "item", "start", "end")},
        "is_administrator": has_role(user, Role.ADMINISTRATOR),
    }


def _filters_text(filters: selectors.Filters) -> list[tuple[str, str]]:
    return [
        (_("Period"), f"{filters.start:%Y-%m-%d} – {filters.end:%Y-%m-%d}"),
        (_("Department"), filters.department.name if filters.department else _("All departments in view")),
        (
            _("Service item"),
            (
                filters.item.current_version.name
                if filters.item.current_version
                else filters.item.implementation_code
            )
            if filters.item
            else _("All items"),
        ),
    ]


def _chart_data(figures: dict[str, Any], filters: selectors.Filters) -> dict[str, Any]:
    """What dashboard.js draws: series and the drill-down links of each point."""
    return {
        "drill": reverse("dashboards:cases") + "?" + urlencode(filters.query()),
        "days": figures["days"],
        "months": figures["months"],
        "departments": [
            {k: d[k] for k in ("id", "name", "submitted", "late", "on_time_rate", "one_visit_rate")}
            for d in figures["departments"]
        ],
        "items": [
            {k: i[k] for k in ("id", "name", "decided", "avg_duration_days", "avg_promised_days")}
            for i in figures["items"][:20]
        ],
        "labels": {
            "submitted": pgettext("dashboards", "Submitted"),
            "online": _("Submitted online"),
            "late": _("Decided late"),
            "online_rate": _("Online handling rate"),
            "one_visit_rate": _("At-most-one-visit rate"),
            "on_time_rate": _("On-time rate"),
            "satisfaction_rate": _("Satisfaction rate"),
            "rectification_rate": _("Bad reviews rectified"),
            "avg_duration_days": _("Average working days taken"),
            "avg_promised_days": _("Average working days promised"),
            "exchange_calls": pgettext("dashboards", "Exchange calls"),
            "licence_uses": _("Licence uses"),
            "reviews": _("Reviews"),
            "bad_reviews": _("Bad reviews"),
        },
    }


@viewer_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    context = _filter_context(user, request.GET)
    try:
        filters = _filters(request, user)
    except DomainError as exc:
        context.update(error=exc.message, error_fields=exc.fields)
        return render(request, "dashboards/dashboard.html", context, status=400)
    figures = selectors.dashboard(user, filters)
    query = urlencode(filters.query())
    context.update(
        filters=filters,
        figures=figures,
        kpis=figures["kpis"],
        refreshed=rollups.last_refreshed(),
        query=query,
        query_without_department=urlencode({k: v for k, v in filters.query().items() if k != "department"}),
        query_without_item=urlencode({k: v for k, v in filters.query().items() if k != "item"}),
        charts=_chart_data(figures, filters),
        month_columns=excel.MONTH_COLUMNS,
        department_columns=excel.DEPARTMENT_COLUMNS,
        item_columns=excel.ITEM_COLUMNS,
    )
    if not context["chosen"]["start"]:
        context["chosen"].update(start=filters.start.isoformat(), end=filters.end.isoformat())
    return render(request, "dashboards/dashboard.html", context)


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=excel.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _bad_request(request: HttpRequest, user: User, exc: DomainError) -> HttpResponse:
    context = _filter_context(user, request.GET)
    context.update(error=exc.message, error_fields=exc.fields)
    return render(request, "dashboards/dashboard.html", context, status=400)


@viewer_required
@require_GET
def dashboard_xlsx(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    table = request.GET.get("table") or None
    try:
        filters = _filters(request, user)
        if table is not None and table not in excel.TABLES:
            raise selectors.invalid("table", _("Unknown table."), "table_invalid")
    except DomainError as exc:
        return _bad_request(request, user, exc)
    figures = selectors.dashboard(user, filters)
    data = excel.dashboard_xlsx(figures, _filters_text(filters), table)
    return _xlsx(data, f"dashboard-{table or 'all'}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.xlsx")


def _drill(request: HttpRequest, user: User) -> tuple[selectors.Filters, selectors.Drill]:
    filters = _filters(request, user)
    drill = selectors.parse_drill(
        filters, kind=request.GET.get("kind"), day=request.GET.get("day"), month=request.GET.get("month")
    )
    return filters, drill


@viewer_required
@require_GET
def cases(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    try:
        filters, drill = _drill(request, user)
    except DomainError as exc:
        return _bad_request(request, user, exc)
    try:
        number = min(max(int(request.GET.get("page") or 1), 1), MAX_PAGE)
    except ValueError:
        number = 1
    found = selectors.drill_cases(user, filters, drill)
    start = (number - 1) * PAGE_SIZE
    rows = list(found[start : start + PAGE_SIZE + 1])
    rest = request.GET.copy()
    rest.pop("page", None)
    record(action="dashboards.cases_listed", actor=user, data={"kind": drill.kind, **filters.query()})
    return render(
        request,
        "dashboards/cases.html",
        {
            "filters": filters,
            "drill": drill,
            "total": found.count(),
            "rows": [
                (c, mask_name(c.applicant_name), mask_resident_id(c.applicant_id_number))
                for c in rows[:PAGE_SIZE]
            ],
            "page": {
                "number": number,
                "has_previous": number > 1,
                "has_next": len(rows) > PAGE_SIZE,
                "previous": number - 1,
                "next": number + 1,
            },
            "query": rest.urlencode(),
            "back": reverse("dashboards:dashboard") + "?" + urlencode(filters.query()),
        },
    )


@viewer_required
@require_GET
def cases_xlsx(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    try:
        filters, drill = _drill(request, user)
    except DomainError as exc:
        return _bad_request(request, user, exc)
    found = selectors.drill_cases(user, filters, drill)[: excel.MAX_CASE_ROWS]
    record(action="dashboards.cases_exported", actor=user, data={"kind": drill.kind, **filters.query()})
    text = [*_filters_text(filters), (_("Figure"), str(drill.label))]
    data = excel.cases_xlsx(str(drill.label), text, found.iterator(chunk_size=2000))
    return _xlsx(data, f"cases-{drill.kind}-{drill.start:%Y%m%d}-{drill.end:%Y%m%d}.xlsx")


@staff_required(Role.ADMINISTRATOR)
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    full = request.POST.get("full") == "1"
    result = services.rollups_refresh(by=user, full=full)
    messages.success(
        request,
        _("The dashboards were refreshed (%(groups)d groups recomputed in %(ms).0f ms).")
        % {"groups": result.case_groups, "ms": result.duration_ms},
    )
    return redirect(reverse("dashboards:dashboard") + ("?" + request.GET.urlencode() if request.GET else ""))

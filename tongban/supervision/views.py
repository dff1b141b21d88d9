"""The supervision pages (电子监察), mounted at /staff/supervision/ (urls.py).

The board and the case list compute every level at the moment they are read (``selectors``), so
they are right even when the sweep is late; the page says when the sweep last ran. Supervisors
and administrators see their jurisdiction, approvers and clerks their own department; a case or
warning outside it is a 404. Opening a case's file is audited; notes go through the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.catalog.models import ServiceItem
from tongban.core.calendar import working_days_between
from tongban.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.core.paging import EMPTY_PAGE, query_without_page, slice_page
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.supervision import permissions, selectors, services
from tongban.supervision.choices import CLOCK_TRIGGERS, FACT_TRIGGERS, LEVEL_CSS, Level, Trigger
from tongban.supervision.forms import FilterForm, NoteForm, PolicyForm
from tongban.supervision.levels import current_policy
from tongban.supervision.models import Alert

board_required = staff_required(*permissions.BOARD_ROLES)
policy_required = staff_required(*permissions.POLICY_ROLES)


def level_css(level: int) -> str:
    return LEVEL_CSS.get(Level(level), "normal")


def _filter_form(user: User, data: QueryDict) -> FilterForm:
    departments = permissions.board_departments(user).order_by("sort_order", "name")
    items = (
        ServiceItem.objects.filter(department__in=departments, current_version__isnull=False)
        .select_related("current_version")
        .order_by("department__sort_order", "implementation_code")
    )
    return FilterForm(
        data or None,
        departments=[(d.pk, d.name) for d in departments],
        items=[(i.pk, i.current_version.name if i.current_version else i.implementation_code) for i in items],
    )


def _filters(user: User, request: HttpRequest) -> tuple[FilterForm, selectors.BoardFilters | None, int]:
    """The filter form and the parsed filters; impossible values put their messages on the form."""
    form = _filter_form(user, request.GET)
    try:
        return form, selectors.parse_filters(user, request.GET), 200
    except ValidationFailed as exc:
        form.is_valid()
        for name, msgs in exc.fields.items():
            for message in msgs:
                if name in form.fields:
                    form.add_error(name, str(message))
        form.add_error(None, str(exc.message))
        return form, None, 400


def _common(user: User, section: str) -> dict[str, Any]:
    return {
        "section": section,
        "can_set_policy": permissions.can_set_policy(user),
        "last_sweep": selectors.last_sweep(),
        "policy": current_policy(),
    }


@board_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form, filters, status = _filters(user, request)
    rows = selectors.board_summary(user, filters) if filters is not None else []
    totals = {
        "red": sum(r.red for r in rows),
        "yellow": sum(r.yellow for r in rows),
        "warning": sum(r.warning for r in rows),
    }
    context = {
        **_common(user, "board"),
        "form": form,
        "rows": rows,
        "totals": totals,
        "query": query_without_page(request.GET),
    }
    return render(request, "supervision/board.html", context, status=status)


@dataclass(frozen=True)
class CaseRow:
    case: Any
    level: int
    css: str
    level_label: str
    triggers: list[str]
    days_left: int | None  # working days left on the case's clock
    overdue: int | None  # working days overdue (0 when overdue today)


def _case_rows(cases: Sequence[Any], now: datetime) -> list[CaseRow]:
    facts = selectors.open_fact_triggers([c.pk for c in cases])
    rows = []
    for case in cases:
        triggers = [
            str(Trigger(t).label)
            for t, on in (
                (Trigger.CASE_OVERDUE, case.level_case),
                (Trigger.STAGE_OVERDUE, case.level_stage),
                (Trigger.UNACCEPTED, case.level_accept),
            )
            if on
        ] + [str(Trigger(t).label) for t in facts.get(case.pk, [])]
        days_left = overdue = None
        if case.due_at and case.level_case:
            if case.due_at < now:
                overdue = working_days_between(case.due_at, now)
            else:
                days_left = working_days_between(now, case.due_at)
        label = str(Level(case.level).label)
        rows.append(CaseRow(case, case.level, level_css(case.level), label, triggers, days_left, overdue))
    return rows


@board_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form, filters, status = _filters(user, request)
    now = timezone.now()
    page = (
        slice_page(selectors.supervised_cases(user, filters, now=now), request.GET.get("page"))
        if filters is not None
        else EMPTY_PAGE
    )
    context = {
        **_common(user, "cases"),
        "form": form,
        "page": page,
        "rows": _case_rows(page.rows, now),
        "query": query_without_page(request.GET),
    }
    return render(request, "supervision/case_list.html", context, status=status)


def _case_page(
    request: HttpRequest,
    user: User,
    pk: int,
    *,
    note_forms: dict[int, NoteForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        file = selectors.case_file(user, pk)
    except NotFound:
        raise Http404 from None
    services.supervised_case_viewed(case=file.case, by=user)
    can_note = permissions.can_note(user)
    note_forms = note_forms or {}
    alerts = [
        {
            "alert": a,
            "css": level_css(a.level if a.is_open else Level.NORMAL),
            "is_fact": a.trigger in FACT_TRIGGERS,
            "form": note_forms.get(a.pk) or (NoteForm(auto_id=f"id_note_{a.pk}_%s") if can_note else None),
        }
        for a in file.alerts
    ]
    context = {
        **_common(user, "cases"),
        "file": file,
        "case": file.case,
        "css": level_css(file.level),
        "level_label": Level(file.level).label,
        "stages": [(s, lvl, level_css(lvl), Level(lvl).label) for s, lvl in file.stages],
        "alerts": alerts,
        "can_note": can_note,
        "clock_triggers": CLOCK_TRIGGERS,
        "timeline": [(e, level_css(e.level) if e.level is not None else "") for e in file.timeline],
    }
    return render(request, "supervision/case_detail.html", context, status=status)


@board_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_page(request, portal_user(request), pk)


@board_required
@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    try:
        alert: Alert = selectors.alert_in_scope(user, pk)
    except NotFound:
        raise Http404 from None
    form = NoteForm(request.POST, auto_id=f"id_note_{pk}_%s")
    if not form.is_valid():
        return _case_page(request, user, alert.case_id, note_forms={pk: form}, status=400)
    try:
        services.alert_note_add(
            alert_id=pk, text=form.cleaned_data["text"], close=form.cleaned_data["close"], by=user
        )
    except PermissionDenied as exc:
        raise PageForbidden(str(exc.message)) from None
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        form.add_domain_error(exc)
        return _case_page(request, user, alert.case_id, note_forms={pk: form}, status=exc.status)
    messages.success(request, _("The handling note is recorded."))
    return redirect(f"{reverse('supervision:case', args=[alert.case_id])}#alert-{pk}")


@policy_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    current = current_policy()
    status = 200
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                services.policy_update(by=user, **form.cleaned_data)
            except DomainError as exc:
                form.add_domain_error(exc)
                status = exc.status
            else:
                messages.success(request, _("The thresholds are saved; the board uses them at once."))
                return redirect("supervision:policy")
        else:
            status = 400
    else:
        form = PolicyForm(
            initial={
                "warning_days": current.warning_days,
                "red_days": current.red_days,
                "unaccepted_days": current.unaccepted_days,
            }
        )
    context = {**_common(user, "policy"), "form": form, "current": current}
    return render(request, "supervision/policy.html", context, status=status)

"""Staff pages for platform-wide records: the audit trail and the working-day calendar (under /staff/).

They live in portal because they join core's records with identity's jurisdictions, and core may
not depend on identity. Who sees which audit events is decided here (``audit_scope``) and handed to
core's selector.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from tongban.core import calendar, services
from tongban.core import selectors as core_selectors
from tongban.core.audit import check_row
from tongban.core.errors import DomainError
from tongban.core.models import AuditOutcome, WorkingDayOverride
from tongban.identity import selectors
from tongban.identity.choices import DepartmentLevel, Role
from tongban.identity.decorators import staff_required
from tongban.identity.models import User
from tongban.identity.selectors import portal_user
from tongban.portal.forms import DomainForm

AUDIT_PAGE_SIZE = 50
WHOLE_CITY_LEVELS = frozenset({DepartmentLevel.CITY, DepartmentLevel.PROVINCE})
CALENDAR_YEARS = range(2000, 2100)


# --- Audit trail -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditScope:
    """The audit events one member of staff may see."""

    department_ids: list[int]  # events by staff of these departments
    include_unassigned: bool  # and events with no department (visitors, citizens, enterprises, system)


def audit_scope(user: User) -> AuditScope:
    """Events of the departments in the user's jurisdiction; events without a department only for staff
    whose jurisdiction is a whole city or province, since those people are not any county's to watch."""
    department_ids = list(selectors.departments_in_jurisdiction(user).values_list("pk", flat=True))
    whole_city = user.department is not None and user.department.level in WHOLE_CITY_LEVELS
    return AuditScope(department_ids=department_ids, include_unassigned=whole_city)


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label=gettext_lazy("Action"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("Type the start of an action code: auth. finds every login event."),
    )
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        required=False,
        choices=[("", gettext_lazy("Any outcome")), *AuditOutcome.choices],
    )
    actor_id = forms.IntegerField(label=gettext_lazy("Actor id"), required=False, min_value=1)
    subject_type = forms.CharField(label=gettext_lazy("Subject type"), required=False, max_length=64)
    subject_id = forms.CharField(label=gettext_lazy("Subject id"), required=False, max_length=64)
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    request_id = forms.CharField(label=gettext_lazy("Request id"), required=False, max_length=64)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data


def _filters(form: AuditFilterForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "action": data.get("action") or "",
        "outcome": data.get("outcome") or "",
        "actor_id": data.get("actor_id"),
        "subject_type": data.get("subject_type") or "",
        "subject_id": data.get("subject_id") or "",
        "since": data.get("since"),
        "until": data.get("until"),
        "request_id": data.get("request_id") or "",
    }


@staff_required(Role.SUPERVISOR, Role.ADMINISTRATOR)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = AuditFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "portal/staff/audit_list.html", {"form": form, "page": None}, status=400)
    filters = _filters(form) if form.is_bound else {}
    scope = audit_scope(user)
    events = core_selectors.audit_events(
        department_ids=scope.department_ids, include_unassigned=scope.include_unassigned, **filters
    )
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    services.audit_trail_view(by=user, filters=filters, page=page.number)
    context = {"form": form, "page": page, "rows": rows, "whole_city": scope.include_unassigned}
    return render(request, "portal/staff/audit_list.html", context)


@staff_required(Role.SUPERVISOR, Role.ADMINISTRATOR)
@require_GET
def audit_detail(request: HttpRequest, seq: int) -> HttpResponse:
    user = portal_user(request)
    scope = audit_scope(user)
    event = core_selectors.audit_event(
        seq=seq, department_ids=scope.department_ids, include_unassigned=scope.include_unassigned
    )
    if event is None:
        raise Http404
    row_check = check_row(event)
    services.audit_trail_view(by=user, filters={}, event=event)
    context = {
        "event": event,
        "check": row_check,
        "data_json": json.dumps(event.data, ensure_ascii=False, indent=2, sort_keys=True),
    }
    return render(request, "portal/staff/audit_detail.html", context)


# --- Working-day calendar ---------------------------------------------------------------------------


SOURCE_LABELS = {
    calendar.DaySource.OFFICIAL: gettext_lazy("Official schedule"),
    calendar.DaySource.OVERRIDE: gettext_lazy("Local override"),
    calendar.DaySource.PROVISIONAL: gettext_lazy("Provisional rule"),
}


class OverrideForm(DomainForm):
    date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    is_workday = forms.TypedChoiceField(
        label=gettext_lazy("Day type"),
        choices=[("0", gettext_lazy("a rest day")), ("1", gettext_lazy("a working day"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        label=gettext_lazy("Holiday name"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("e.g. Spring Festival, or Spring Festival make-up working day"),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=255,
        help_text=gettext_lazy("Where it comes from, e.g. the State Council notice"),
    )


def can_edit_calendar(user: User) -> bool:
    """The calendar is the whole platform's: only administrators of a whole city or province change it."""
    return (
        selectors.has_role(user, Role.ADMINISTRATOR)
        and user.department is not None
        and user.department.level in WHOLE_CITY_LEVELS
    )


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    if raw.isdigit() and int(raw) in CALENDAR_YEARS:
        return int(raw)
    return calendar.local_date(timezone.now()).year


@dataclass(frozen=True)
class MonthSummary:
    month: date
    working: int
    rest: int


def _calendar_page(
    request: HttpRequest, user: User, year: int, *, form: OverrideForm | None = None, status: int = 200
) -> HttpResponse:
    days = calendar.year_days(year)
    special = [d for d in days if d.source == calendar.DaySource.OVERRIDE or d.holiday or d.is_makeup_workday]
    working = Counter(d.day.month for d in days if d.is_workday)
    months = [
        MonthSummary(
            month=date(year, m, 1),
            working=working[m],
            rest=sum(1 for d in days if d.day.month == m) - working[m],
        )
        for m in range(1, 13)
    ]
    overrides = list(core_selectors.working_day_overrides(year=year))
    context = {
        "year": year,
        "previous_year": year - 1 if year - 1 in CALENDAR_YEARS else None,
        "next_year": year + 1 if year + 1 in CALENDAR_YEARS else None,
        "provisional": calendar.is_provisional_year(year),
        "official_years": calendar.official_years(),
        "special_days": [(d, SOURCE_LABELS[d.source]) for d in special],
        "months": months,
        "working_total": sum(working.values()),
        "rest_total": len(days) - sum(working.values()),
        "overrides": overrides,
        "can_edit": can_edit_calendar(user),
        "form": form or OverrideForm(),
    }
    return render(request, "portal/staff/calendar.html", context, status=status)


@staff_required(Role.ADMINISTRATOR)
@require_GET
def calendar_view(request: HttpRequest) -> HttpResponse:
    return _calendar_page(request, portal_user(request), _year(request))


@staff_required(Role.ADMINISTRATOR)
@require_POST
def calendar_override_set(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if not can_edit_calendar(user):
        raise PermissionDenied(_("Only administrators of the whole city change the working-day calendar."))
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _calendar_page(request, user, _year(request), form=form, status=400)
    data = form.cleaned_data
    try:
        override = services.working_day_override_set(
            date=data["date"], is_workday=data["is_workday"], name=data["name"], note=data["note"], by=user
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _calendar_page(request, user, data["date"].year, form=form, status=exc.status)
    if override.is_workday:
        text = _("%(date)s is now a working day.") % {"date": override.date.isoformat()}
    else:
        text = _("%(date)s is now a rest day.") % {"date": override.date.isoformat()}
    messages.success(request, text)
    return redirect(f"{reverse('staffpages:calendar')}?year={override.date.year}")


@staff_required(Role.ADMINISTRATOR)
@require_POST
def calendar_override_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = portal_user(request)
    if not can_edit_calendar(user):
        raise PermissionDenied(_("Only administrators of the whole city change the working-day calendar."))
    override = get_object_or_404(WorkingDayOverride, pk=pk)
    year = override.date.year
    try:
        services.working_day_override_delete(override=override, by=user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("The override of %(date)s was removed.") % {"date": override.date.isoformat()}
        )
    return redirect(f"{reverse('staffpages:calendar')}?year={year}")

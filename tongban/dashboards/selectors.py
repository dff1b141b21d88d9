"""Reads of the dashboards: the filters checked against the viewer's jurisdiction, the figures, the
cases behind a figure (docs/adr/0020-dashboards-and-rollups.md).

Who sees what: supervisors and administrators every department of their jurisdiction (ADR 5),
approvers their own department only; every other account is refused. The figures come from the
rollup tables (``rollups.grouped``); ``source="raw"`` computes the same figures straight from the
raw tables (administrators' reconciliation check and the benchmark's baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongban.cases import selectors as case_selectors
from tongban.cases.choices import PREFILLED_ORIGINS, CaseStatus, Channel, DeliveryMethod
from tongban.cases.models import Case
from tongban.catalog.models import ServiceItem
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.dashboards import rollups
from tongban.exchange.models import CallStatDay
from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import departments_in_jurisdiction, has_role

VIEWER_ROLES = (Role.SUPERVISOR, Role.ADMINISTRATOR, Role.APPROVER)
MAX_DAYS = 3 * 366  # the longest period a dashboard answers
DEFAULT_DAYS = 365


# --- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    departments: tuple[Department, ...]  # the departments counted (one, or the jurisdiction)
    department: Department | None  # the one chosen, if any
    item: ServiceItem | None

    @property
    def scope(self) -> rollups.Scope:
        return rollups.Scope(
            start=self.start,
            end=self.end,
            department_ids=tuple(d.pk for d in self.departments),
            item_id=self.item.pk if self.item else None,
        )

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links to the drill-down and the exports)."""
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.department is not None:
            query["department"] = str(self.department.pk)
        if self.item is not None:
            query["item"] = str(self.item.pk)
        return query


def ensure_viewer(user: User) -> None:
    if not has_role(user, *VIEWER_ROLES):
        raise PermissionDenied(
            _("The dashboards are for supervisors, administrators and approvers."), code="dashboard_forbidden"
        )


def visible_departments(user: User) -> QuerySet[Department]:
    ensure_viewer(user)
    return departments_in_jurisdiction(user).order_by("sort_order", "code")


def visible_items(user: User) -> QuerySet[ServiceItem]:
    return (
        ServiceItem.objects.filter(department__in=visible_departments(user))
        .select_related("current_version", "department")
        .order_by("department__sort_order", "implementation_code")
    )


def invalid(field: str, message: Any, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={field: [message]})


def _date(value: str | date | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise invalid(field, _("Give the date as YYYY-MM-DD."), "period_date_invalid") from None


def _id(value: str | int | None, field: str, message: Any, code: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(field, message, code) from None
    if number <= 0:
        raise invalid(field, message, code)
    return number


def parse_filters(
    user: User,
    *,
    department: str | int | None = None,
    item: str | int | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    today: date | None = None,
) -> Filters:
    """Check the filters; errors name the field and carry a stable code (nothing is counted)."""
    ensure_viewer(user)
    today = today or timezone.localdate()
    end_day = _date(end, "end") or today
    start_day = _date(start, "start") or end_day - timedelta(days=DEFAULT_DAYS - 1)
    if start_day > today:
        raise invalid("start", _("The period cannot start after today."), "period_in_future")
    if end_day > today:
        raise invalid("end", _("The period cannot end after today."), "period_in_future")
    if start_day > end_day:
        raise invalid("start", _("The period starts after it ends."), "period_reversed")
    if (end_day - start_day).days + 1 > MAX_DAYS:
        raise invalid("start", _("A period is at most three years long."), "period_too_long")
    visible = list(visible_departments(user))
    chosen: Department | None = None
    department_id = _id(
        department, "department", _("Choose a department from the list."), "department_invalid"
    )
    if department_id is not None:
        chosen = next((d for d in visible if d.pk == department_id), None)
        if chosen is None:
            raise PermissionDenied(
                _("This department is not in your jurisdiction."), code="department_not_visible"
            )
    chosen_item: ServiceItem | None = None
    item_id = _id(item, "item", _("Choose a service item from the list."), "item_invalid")
    if item_id is not None:
        chosen_item = visible_items(user).filter(pk=item_id).first()
        if chosen_item is None:
            raise PermissionDenied(
                _("This service item is not in your jurisdiction."), code="item_not_visible"
            )
        if chosen is not None and chosen_item.department_id != chosen.pk:
            raise invalid(
                "item", _("This service item belongs to another department."), "item_not_in_department"
            )
    departments = (chosen,) if chosen is not None else tuple(visible)
    return Filters(start=start_day, end=end_day, departments=departments, department=chosen, item=chosen_item)


# --- figures ---------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _avg(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def case_kpis(row: dict[str, int]) -> dict[str, Any]:
    """The case KPIs of one summed row (ADR 20 defines each)."""
    return {
        "submitted": row["submitted"],
        "online": row["online"],
        "online_rate": _rate(row["online"], row["submitted"]),
        "accepted": row["accepted"],
        "not_accepted": row["not_accepted"],
        "withdrawn": row["withdrawn"],
        "refused": row["refused"],
        "completed": row["completed"],
        "decided": row["decided"],
        "on_time": row["on_time"],
        "late": row["decided"] - row["on_time"],
        "on_time_rate": _rate(row["on_time"], row["decided"]),
        "finished": row["finished"],
        "one_visit": row["one_visit"],
        "one_visit_rate": _rate(row["one_visit"], row["finished"]),
        "avg_duration_days": _avg(row["duration_days"], row["decided"]),
        "avg_promised_days": _avg(row["promised_days"], row["decided"]),
        "duration_ratio": _rate(row["duration_days"], row["promised_days"]),
        "materials": row["materials"],
        "prefilled": row["prefilled"],
        "prefilled_rate": _rate(row["prefilled"], row["materials"]),
        "visits_saved": row["visits_saved"],
    }


def review_kpis(row: dict[str, int]) -> dict[str, Any]:
    return {
        "reviews": row["reviews"],
        "satisfied": row["satisfied"],
        "satisfaction_rate": _rate(row["satisfied"], row["reviews"]),
        "avg_level": _avg(row["level_sum"], row["reviews"]),
        "bad_reviews": row["bad"],
        "rectified": row["rectified"],
        "rectification_rate": _rate(row["rectified"], row["bad"]),
    }


def _zero(metrics: dict[str, str]) -> dict[str, int]:
    return dict.fromkeys(metrics, 0)


def _add(into: dict[str, int], row: dict[str, Any]) -> None:
    for key in into:
        into[key] += int(row.get(key) or 0)


def _exchange_by_day(filters: Filters) -> dict[date, dict[str, int]]:
    rows = (
        CallStatDay.objects.filter(
            day__gte=filters.start,
            day__lte=filters.end,
            consumer_department_id__in=[d.pk for d in filters.departments],
        )
        .values("day")
        .order_by("day")
        .annotate(calls_sum=Sum("calls"), answered_sum=Sum("answered"))
    )
    return {r["day"]: {"calls": r["calls_sum"] or 0, "answered": r["answered_sum"] or 0} for r in rows}


def dashboard(user: User, filters: Filters, *, source: str = "rollup") -> dict[str, Any]:
    """Every figure of the main dashboard for the filters (one dict, the API's answer)."""
    ensure_viewer(user)
    if source == "raw" and not has_role(user, Role.ADMINISTRATOR):
        raise PermissionDenied(
            _("Only administrators may compute the figures from the raw tables."), code="raw_forbidden"
        )
    raw = source == "raw"
    refreshed = rollups.last_refreshed()
    scope = filters.scope
    names = {d.pk: d.name for d in filters.departments}
    case_days = {r["k"]: r for r in rollups.grouped(rollups.CASES, scope, "day", raw=raw)}
    review_days = {r["k"]: r for r in rollups.grouped(rollups.REVIEWS, scope, "day", raw=raw)}
    licence_days = {r["k"]: r for r in rollups.grouped(rollups.LICENCE_USES, scope, "day", raw=raw)}
    exchange_days = _exchange_by_day(filters)

    totals = _zero(rollups.CASE_METRICS)
    review_totals = _zero(rollups.REVIEW_METRICS)
    months: dict[str, dict[str, Any]] = {}
    days: list[dict[str, Any]] = []
    day = filters.start
    while day <= filters.end:
        case_row = case_days.get(day) or _zero(rollups.CASE_METRICS)
        review_row = review_days.get(day) or _zero(rollups.REVIEW_METRICS)
        calls = exchange_days.get(day, {"calls": 0, "answered": 0})
        uses = int((licence_days.get(day) or {}).get("uses", 0))
        _add(totals, case_row)
        _add(review_totals, review_row)
        month = months.setdefault(
            f"{day:%Y-%m}",
            {
                "cases": _zero(rollups.CASE_METRICS),
                "reviews": _zero(rollups.REVIEW_METRICS),
                "exchange_calls": 0,
                "licence_uses": 0,
            },
        )
        _add(month["cases"], case_row)
        _add(month["reviews"], review_row)
        month["exchange_calls"] += calls["calls"]
        month["licence_uses"] += uses
        days.append(
            {
                "day": day.isoformat(),
                "submitted": case_row["submitted"],
                "online": case_row["online"],
                "completed": case_row["completed"],
                "late": case_row["decided"] - case_row["on_time"],
                "exchange_calls": calls["calls"],
                "licence_uses": uses,
                "reviews": review_row["reviews"],
                "bad_reviews": review_row["bad"],
            }
        )
        day += timedelta(days=1)
    exchange_total = {
        "calls": sum(v["calls"] for v in exchange_days.values()),
        "answered": sum(v["answered"] for v in exchange_days.values()),
    }
    reviews_by_department = {
        r["k"]: r for r in rollups.grouped(rollups.REVIEWS, scope, "department", raw=raw)
    }
    departments = []
    for row in sorted(
        rollups.grouped(rollups.CASES, scope, "department", raw=raw), key=lambda r: -r["submitted"]
    ):
        review_row = reviews_by_department.get(row["k"]) or _zero(rollups.REVIEW_METRICS)
        departments.append(
            {
                "id": row["k"],
                "name": names.get(row["k"], str(row["k"])),
                **case_kpis(row),
                **review_kpis(review_row),
            }
        )
    item_rows = rollups.grouped(rollups.CASES, scope, "item", raw=raw)
    item_names = {
        i.pk: (i.current_version.name if i.current_version else i.implementation_code)
        for i in ServiceItem.objects.filter(pk__in=[r["k"] for r in item_rows]).select_related(
            "current_version"
        )
    }
    items = [
        {"id": row["k"], "name": item_names.get(row["k"], str(row["k"])), **case_kpis(row)}
        for row in sorted(item_rows, key=lambda r: -r["submitted"])
    ]
    return {
        "period": {"start": filters.start.isoformat(), "end": filters.end.isoformat()},
        "department": filters.department.pk if filters.department else None,
        "item": filters.item.pk if filters.item else None,
        "source": "raw" if raw else "rollup",
        "refreshed_at": refreshed.isoformat() if refreshed else None,
        "kpis": {
            **case_kpis(totals),
            **review_kpis(review_totals),
            "exchange_calls": exchange_total["calls"],
            "exchange_answered": exchange_total["answered"],
            "licence_uses": sum(int(r["uses"]) for r in licence_days.values()),
        },
        "days": days,
        "months": [
            {
                "month": key,
                **case_kpis(value["cases"]),
                **review_kpis(value["reviews"]),
                "exchange_calls": value["exchange_calls"],
                "licence_uses": value["licence_uses"],
            }
            for key, value in months.items()
        ],
        "departments": departments,
        "items": items,
    }


# --- the cases behind a figure ---------------------------------------------------------------

DECIDED_Q = Q(
    accepted_at__isnull=False,
    completed_at__isnull=False,
    due_at__isnull=False,
    status__in=[CaseStatus.COMPLETED, CaseStatus.REFUSED],
)
FINISHED_Q = Q(status__in=[CaseStatus.COMPLETED, CaseStatus.REFUSED, CaseStatus.NOT_ACCEPTED])
MORE_THAN_ONE_VISIT_Q = Q(channel=Channel.WINDOW) & (
    Q(correction_rounds__gt=0) | Q(delivery_method=DeliveryMethod.PICKUP)
)
# drill-down kind -> (label, the cases it lists)
DRILL_KINDS: dict[str, tuple[Any, Q]] = {
    "submitted": (pgettext_lazy("dashboards", "Submitted"), Q()),
    "online": (_("Submitted online"), ~Q(channel=Channel.WINDOW)),
    "window": (_("Submitted at the window"), Q(channel=Channel.WINDOW)),
    "accepted": (_("Accepted"), Q(accepted_at__isnull=False)),
    "not_accepted": (_("Not accepted"), Q(status=CaseStatus.NOT_ACCEPTED)),
    "withdrawn": (_("Withdrawn"), Q(status=CaseStatus.WITHDRAWN)),
    "refused": (_("Refused"), Q(status=CaseStatus.REFUSED)),
    "completed": (pgettext_lazy("dashboards", "Completed"), Q(status=CaseStatus.COMPLETED)),
    "decided": (_("Decided after acceptance"), DECIDED_Q),
    "on_time": (_("Decided on time"), DECIDED_Q & Q(completed_at__lte=F("due_at"))),
    "late": (_("Decided late"), DECIDED_Q & Q(completed_at__gt=F("due_at"))),
    "finished": (pgettext_lazy("dashboards", "Finished"), FINISHED_Q),
    "one_visit": (_("At most one visit"), FINISHED_Q & ~MORE_THAN_ONE_VISIT_Q),
    "more_visits": (_("More than one visit"), FINISHED_Q & MORE_THAN_ONE_VISIT_Q),
    "prefilled": (_("With materials not submitted"), Q(materials__origin__in=PREFILLED_ORIGINS)),
}


@dataclass(frozen=True)
class Drill:
    kind: str
    label: Any
    start: date
    end: date


def parse_drill(filters: Filters, *, kind: str | None, day: str | None, month: str | None) -> Drill:
    """Narrow the filters to the cases of one chart point: a kind, and perhaps one day or month."""
    kind = kind or "submitted"
    if kind not in DRILL_KINDS:
        raise invalid("kind", _("Unknown figure."), "drill_kind_invalid")
    start, end = filters.start, filters.end
    if day:
        one = _date(day, "day") or filters.start
        start, end = max(start, one), min(end, one)
    elif month:
        try:
            first = datetime.strptime(month.strip(), "%Y-%m").date()  # noqa: DTZ007 - a calendar month
        except ValueError:
            raise invalid("month", _("Give the month as YYYY-MM."), "drill_month_invalid") from None
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        start, end = max(start, first), min(end, last)
    if start > end:
        raise invalid("day", _("This day is outside the period."), "drill_outside_period")
    return Drill(kind=kind, label=DRILL_KINDS[kind][0], start=start, end=end)


def drill_cases(user: User, filters: Filters, drill: Drill) -> QuerySet[Case]:
    """The cases behind a figure, of the viewer's scope only, newest first (count = the figure)."""
    ensure_viewer(user)
    begin, after = rollups.day_bounds(drill.start, drill.end)
    cases = case_selectors.cases_for_staff(user).filter(
        submitted_at__gte=begin,
        submitted_at__lt=after,
        department__in=[d.pk for d in filters.departments],
    )
    if filters.item is not None:
        cases = cases.filter(item_id=filters.item.pk)
    condition = DRILL_KINDS[drill.kind][1]
    if drill.kind == "prefilled":
        matching = Case.objects.filter(condition).values("pk")
        cases = cases.filter(pk__in=matching)
    else:
        cases = cases.filter(condition)
    return cases.select_related("department", "version").order_by("-submitted_at", "-pk")

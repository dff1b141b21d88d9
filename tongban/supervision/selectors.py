"""Reads of supervision: the board's cases with their levels computed now, by the database (ADR 18).

The board never trusts the sweep to be on time: each read turns the policy into cut-offs for this
moment (``levels.cutoffs``) and annotates every case with the level of its own clock, of its active
stages and of its acceptance, plus the fact findings the sweep has recorded. Everything is scoped to
the departments the asking staff member may see (``permissions.board_departments``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    Case as When_,
)
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.cases.choices import CaseStatus, StageStatus
from tongban.cases.models import Case, CaseEvent, CaseFee, CaseStage
from tongban.catalog.models import ServiceItem
from tongban.core import selectors as core_selectors
from tongban.core.errors import NotFound, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import User
from tongban.supervision import permissions
from tongban.supervision.choices import FACT_TRIGGERS, LEVEL_SLUGS, Level, Trigger
from tongban.supervision.levels import Cutoffs, cutoffs
from tongban.supervision.models import Alert, AlertChange, AlertNote, Sweep

_CASE_NOT_FOUND = _("No such case under supervision, or it is outside your jurisdiction.")
_ALERT_NOT_FOUND = _("No such warning, or it is outside your jurisdiction.")
MAX_QUERY = 64


def _zero(expression: Any) -> Any:
    return Coalesce(expression, Value(0), output_field=IntegerField())


def with_levels(cases: QuerySet[Case], c: Cutoffs) -> QuerySet[Any]:
    """``cases`` annotated with ``level_case``, ``level_stage``, ``level_accept``, ``level_facts`` and
    their maximum ``level``, all computed at ``c.now`` (suspended cases: only the facts count)."""
    d, a = c.deadline, c.acceptance
    stage_level = (
        CaseStage.objects.filter(case=OuterRef("pk"), status=StageStatus.ACTIVE)
        .annotate(sv_level=d.level("due_at"))
        .order_by("-sv_level")
        .values("sv_level")[:1]
    )
    fact_level = (
        Alert.objects.filter(case=OuterRef("pk"), closed_at__isnull=True, trigger__in=FACT_TRIGGERS)
        .order_by("-level")
        .values("level")[:1]
    )
    zero = Value(0, output_field=IntegerField())
    annotated: Any = cases
    return annotated.annotate(
        level_case=When_(When(status=CaseStatus.IN_REVIEW, then=d.level("due_at")), default=zero),
        level_accept=When_(When(status=CaseStatus.SUBMITTED, then=a.level("submitted_at")), default=zero),
        level_stage=When_(When(status=CaseStatus.IN_REVIEW, then=_zero(Subquery(stage_level))), default=zero),
        level_facts=_zero(Subquery(fact_level)),
    ).annotate(level=Greatest("level_case", "level_accept", "level_stage", "level_facts"))


# --- the board's filters -------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    department_id: int | None = None
    item_id: int | None = None
    level: Level | None = None
    trigger: str = ""
    number: str = ""

    def as_query(self) -> dict[str, str]:
        query = {
            "department": str(self.department_id or ""),
            "item": str(self.item_id or ""),
            "level": next(
                (k for k, v in LEVEL_SLUGS.items() if self.level is not None and v == self.level), ""
            ),
            "trigger": self.trigger,
            "number": self.number,
        }
        return {k: v for k, v in query.items() if v}


def _positive_int(raw: str, name: str, errors: dict[str, list[Any]]) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12 or int(raw) == 0:
        errors[name] = [_("Give the id as a positive whole number.")]
        return None
    return int(raw)


def parse_filters(user: User, raw: Mapping[str, Any]) -> BoardFilters:
    """The board's filters from query parameters; an impossible value is a ``filter_invalid``
    error naming each bad parameter (a department or item outside the jurisdiction is one)."""
    errors: dict[str, list[Any]] = {}
    department_id = _positive_int(str(raw.get("department") or ""), "department", errors)
    item_id = _positive_int(str(raw.get("item") or ""), "item", errors)
    departments = permissions.board_departments(user)
    if department_id is not None and not departments.filter(pk=department_id).exists():
        errors["department"] = [_("No such department in your jurisdiction.")]
    if (
        item_id is not None
        and not ServiceItem.objects.filter(pk=item_id, department__in=departments).exists()
    ):
        errors["item"] = [_("No such service item in your jurisdiction.")]
    level_raw = str(raw.get("level") or "").strip()
    level = None
    if level_raw:
        if level_raw not in LEVEL_SLUGS or level_raw == "normal":
            errors["level"] = [_("Choose warning, yellow or red.")]
        else:
            level = LEVEL_SLUGS[level_raw]
    trigger = str(raw.get("trigger") or "").strip()
    if trigger and trigger not in Trigger.values:
        errors["trigger"] = [_("Choose one of the listed triggers.")]
    number = str(raw.get("number") or "").strip()
    if len(number) > MAX_QUERY:
        errors["number"] = [_("A case number has at most 64 characters.")]
    if errors:
        raise ValidationFailed(
            _("Some filters are not possible; correct them and try again."),
            code="filter_invalid",
            fields=errors,
        )
    return BoardFilters(department_id, item_id, level, trigger, number)


def _trigger_q(trigger: str) -> Q:
    if trigger == Trigger.CASE_OVERDUE:
        return Q(level_case__gt=0)
    if trigger == Trigger.STAGE_OVERDUE:
        return Q(level_stage__gt=0)
    if trigger == Trigger.UNACCEPTED:
        return Q(level_accept__gt=0)
    return Q(Exists(Alert.objects.filter(case=OuterRef("pk"), trigger=trigger, closed_at__isnull=True)))


def _may_be_at_risk(c: Cutoffs) -> Q:
    """A cheap test every case at warning or above passes (most cases, on time, fail it), so the
    levels' subqueries run only for the few that may be at risk."""
    d, a = c.deadline, c.acceptance
    late_stage = CaseStage.objects.filter(d.at_risk("due_at"), case=OuterRef("pk"), status=StageStatus.ACTIVE)
    fact = Alert.objects.filter(case=OuterRef("pk"), closed_at__isnull=True, trigger__in=FACT_TRIGGERS)
    return (
        Q(d.at_risk("due_at"), status=CaseStatus.IN_REVIEW)
        | Q(a.at_risk("submitted_at"), status=CaseStatus.SUBMITTED)
        | Q(Exists(late_stage), status=CaseStatus.IN_REVIEW)
        | Q(Exists(fact))
    )


def supervised_cases(
    user: User, filters: BoardFilters | None = None, *, now: datetime | None = None
) -> QuerySet[Any]:
    """Cases of the jurisdiction at warning or above now, the most serious and most overdue first."""
    filters = filters or BoardFilters()
    c = cutoffs(now or timezone.now())
    cases = Case.objects.filter(department__in=permissions.board_departments(user)).filter(_may_be_at_risk(c))
    if filters.department_id:
        cases = cases.filter(department_id=filters.department_id)
    if filters.item_id:
        cases = cases.filter(item_id=filters.item_id)
    if filters.number:
        cases = cases.filter(number__icontains=filters.number)
    levelled = with_levels(cases, c).filter(level__gt=Level.NORMAL)
    if filters.level is not None:
        levelled = levelled.filter(level=filters.level)
    if filters.trigger:
        levelled = levelled.filter(_trigger_q(filters.trigger))
    return levelled.select_related("department", "version").order_by("-level", "due_at", "submitted_at", "pk")


@dataclass(frozen=True)
class SummaryRow:
    department_id: int
    department_name: str
    item_id: int
    item_name: str
    warning: int
    yellow: int
    red: int

    @property
    def total(self) -> int:
        return self.warning + self.yellow + self.red


def board_summary(
    user: User, filters: BoardFilters | None = None, *, now: datetime | None = None
) -> list[SummaryRow]:
    """Counts per level for each department and item of the jurisdiction that has any."""
    rows = (
        supervised_cases(user, filters, now=now)
        .order_by()
        .values("department_id", "department__name", "item_id")
        .annotate(
            item_name=Max("version__name"),
            warning=Count("pk", filter=Q(level=Level.WARNING)),
            yellow=Count("pk", filter=Q(level=Level.YELLOW)),
            red=Count("pk", filter=Q(level=Level.RED)),
        )
    )
    result = [
        SummaryRow(
            department_id=r["department_id"],
            department_name=r["department__name"],
            item_id=r["item_id"],
            item_name=r["item_name"] or "",
            warning=r["warning"],
            yellow=r["yellow"],
            red=r["red"],
        )
        for r in rows
    ]
    result.sort(key=lambda r: (-r.red, -r.yellow, -r.warning, r.department_name, r.item_name))
    return result


def open_fact_triggers(case_ids: list[int]) -> dict[int, list[str]]:
    """The fact triggers with an open alert, per case (for a page of the board)."""
    found: dict[int, list[str]] = {}
    for case_id, trigger in Alert.objects.filter(
        case_id__in=case_ids, closed_at__isnull=True, trigger__in=FACT_TRIGGERS
    ).values_list("case_id", "trigger"):
        found.setdefault(case_id, []).append(trigger)
    return found


def last_sweep() -> Sweep | None:
    return Sweep.objects.filter(finished_at__isnull=False).order_by("-started_at", "-pk").first()


# --- one case -------------------------------------------------------------------------------------


def _case_in_scope(user: User, case_id: int) -> Case:
    case = (
        Case.objects.filter(department__in=permissions.board_departments(user), pk=case_id)
        .exclude(status=CaseStatus.DRAFT)
        .select_related("department", "version", "item")
        .first()
    )
    if case is None:
        raise NotFound(_CASE_NOT_FOUND, code="case_not_found")
    return case


def alert_in_scope(user: User, alert_id: int) -> Alert:
    """One alert of a case in the user's jurisdiction; any other is "not found" (no probing)."""
    alert = (
        Alert.objects.filter(pk=alert_id, case__department__in=permissions.board_departments(user))
        .select_related("case", "stage")
        .first()
    )
    if alert is None:
        raise NotFound(_ALERT_NOT_FOUND, code="alert_not_found")
    return alert


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # "case", "alert", "note", "audit"
    label: str
    text: str = ""
    level: int | None = None


@dataclass
class CaseFile:
    """Everything the supervisor's case page shows."""

    case: Case
    level: int
    levels: dict[str, int]
    stages: list[tuple[CaseStage, int]]
    alerts: list[Alert]
    fees: list[CaseFee]
    timeline: list[TimelineEntry] = field(default_factory=list)


def case_file(user: User, case_id: int, *, now: datetime | None = None) -> CaseFile:
    """The case with its levels now, its stages, alerts (with their level changes and notes), fees
    and one timeline merging case events (stages starting and finishing among them), alerts, notes
    and the audit rows about the case."""
    case = _case_in_scope(user, case_id)
    c = cutoffs(now or timezone.now())
    annotated: Any = with_levels(Case.objects.filter(pk=case.pk), c).values(
        "level", "level_case", "level_stage", "level_accept", "level_facts"
    )[0]
    running = case.status == CaseStatus.IN_REVIEW
    stages: list[tuple[CaseStage, int]] = [
        (s, c.deadline.of(s.due_at) if running and s.status == StageStatus.ACTIVE else Level.NORMAL)
        for s in CaseStage.objects.filter(case=case).order_by("index")
    ]
    alerts = list(
        Alert.objects.filter(case=case)
        .select_related("stage")
        .prefetch_related("changes", "notes__written_by")
        .order_by("opened_at", "pk")
    )
    fees = list(CaseFee.objects.filter(case=case).select_related("recorded_by"))
    timeline: list[TimelineEntry] = []
    for event in CaseEvent.objects.filter(case=case).select_related("department", "actor"):
        who = " · ".join(x for x in (event.department.name if event.department else "", event.note) if x)
        timeline.append(TimelineEntry(event.at, "case", str(event.get_kind_display()), who))
    for alert in alerts:
        subject = alert.get_trigger_display() + (f" · {alert.stage.name}" if alert.stage else "")
        for change in alert.changes.all():
            timeline.append(
                TimelineEntry(
                    change.at,
                    "alert",
                    str(_("Supervision level: %(level)s") % {"level": change.get_level_display()}),
                    str(subject),
                    change.level,
                )
            )
        for note in alert.notes.all():
            timeline.append(
                TimelineEntry(
                    note.written_at,
                    "note",
                    str(_("Handling note by %(name)s") % {"name": note.written_by.name}),
                    note.text,
                )
            )
    for row in case_audit(case, alerts):
        timeline.append(
            TimelineEntry(
                row.occurred_at,
                "audit",
                row.action,
                " · ".join(x for x in (row.actor_label, row.summary) if x),
            )
        )
    timeline.sort(key=lambda e: (e.at, e.source))
    return CaseFile(
        case=case,
        level=int(annotated["level"]),
        levels={k: int(v) for k, v in annotated.items() if k != "level"},
        stages=stages,
        alerts=alerts,
        fees=fees,
        timeline=timeline,
    )


def case_audit(case: Case, alerts: list[Alert]) -> list[AuditEvent]:
    """The audit rows whose subject is the case or one of its alerts, oldest first."""
    events = list(
        core_selectors.audit_events(
            department_ids=None, subject_type=Case._meta.label_lower, subject_id=str(case.pk)
        )
    )
    alert_ids = [str(a.pk) for a in alerts]
    if alert_ids:
        events += list(
            AuditEvent.objects.filter(subject_type=Alert._meta.label_lower, subject_id__in=alert_ids)
        )
    return sorted(events, key=lambda e: e.seq)


def notes_of(alert: Alert) -> list[AlertNote]:
    return list(alert.notes.select_related("written_by").order_by("written_at", "pk"))


def changes_of(alert: Alert) -> list[AlertChange]:
    return list(alert.changes.order_by("at", "pk"))

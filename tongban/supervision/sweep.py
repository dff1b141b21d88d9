"""The sweep's statements: every open case and stage measured at once, alerts kept set-based (ADR 18).

Nothing here loops over cases in Python. The findings of this moment (clock triggers at their
computed level, fact triggers at their fixed level) are selected into a temporary table with one
``INSERT … SELECT`` per trigger; four statements then bring the alerts in line with it:

1. re-level the open alerts whose finding has another level now (``UPDATE … FROM``);
2. open an alert for each finding that has none (a fact a supervisor closed as handled stays closed),
   from a second temporary table of those findings selected while the alerts are only read;
3. close the clock alerts whose finding is gone (the case was accepted, decided, the stage finished),
   except on suspended cases, whose clock is stopped: their alerts wait, unchanged, for the resumption;
4. write one ``AlertChange`` row for every alert this sweep opened, re-levelled or closed.

The SELECTs are compiled from Django querysets (``levels.Ladder``), so the same SQL runs on
PostgreSQL and on SQLite (≥ 3.33 for ``UPDATE … FROM``). Before they change anything, the findings
give the digests' content in one ``GROUP BY``: new alerts and open ones rising above the level last
escalated, per department and level; writing an alert's level marks it escalated, so no second
pass over the alerts is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.fields import CharField

from tongban.cases.choices import OPEN_STATUSES, CaseStatus, Channel, StageStatus, TaskStatus
from tongban.cases.models import Case, CaseFee, CaseStage, CaseTask
from tongban.catalog.choices import OnlineDepth
from tongban.supervision.choices import CLOCK_TRIGGERS, FACT_LEVELS, CloseReason, Level, Trigger
from tongban.supervision.levels import Cutoffs
from tongban.supervision.models import Alert, AlertChange, Sweep

CANDIDATES = "supervision_sweep_findings"
FRESH = "supervision_sweep_fresh"
_COLUMNS = ("sv_case", "sv_stage", "sv_key", "sv_trigger", "sv_level")


def _finding(qs: QuerySet[Any], *, case: str, stage: str | None, trigger: str, level: Any) -> QuerySet[Any]:
    """``qs`` as rows (case id, stage id, stage key, trigger, level) in that column order."""
    stage_id: Any = F(stage) if stage else Value(None, output_field=IntegerField())
    stage_key: Any = F(stage) if stage else Value(0, output_field=IntegerField())
    return (
        qs.order_by()
        .annotate(
            sv_case=F(case),
            sv_stage=stage_id,
            sv_key=stage_key,
            sv_trigger=Value(str(trigger), output_field=CharField()),
            sv_level=level,
        )
        .values_list(*_COLUMNS)
    )


def clock_findings(c: Cutoffs) -> dict[str, QuerySet[Any]]:
    """Open cases and stages at warning or above, by trigger (suspended cases have no clock)."""
    deadline, acceptance = c.deadline, c.acceptance
    return {
        Trigger.CASE_OVERDUE: _finding(
            Case.objects.filter(deadline.at_risk("due_at"), status=CaseStatus.IN_REVIEW),
            case="pk",
            stage=None,
            trigger=Trigger.CASE_OVERDUE,
            level=deadline.level("due_at"),
        ),
        Trigger.STAGE_OVERDUE: _finding(
            CaseStage.objects.filter(
                deadline.at_risk("due_at"), status=StageStatus.ACTIVE, case__status=CaseStatus.IN_REVIEW
            ),
            case="case_id",
            stage="pk",
            trigger=Trigger.STAGE_OVERDUE,
            level=deadline.level("due_at"),
        ),
        Trigger.UNACCEPTED: _finding(
            Case.objects.filter(acceptance.at_risk("submitted_at"), status=CaseStatus.SUBMITTED),
            case="pk",
            stage=None,
            trigger=Trigger.UNACCEPTED,
            level=acceptance.level("submitted_at"),
        ),
    }


def fact_cases() -> dict[str, QuerySet[Case]]:
    """Cases showing each fact trigger (these need no clock)."""
    refused_task = CaseTask.objects.filter(case=OuterRef("pk"), status=TaskStatus.REFUSED, opinion="")
    return {
        Trigger.REFUSAL_UNREASONED: Case.objects.filter(
            Q(status=CaseStatus.REFUSED) & (Q(decision_opinion="") | Exists(refused_task))
            | Q(status=CaseStatus.NOT_ACCEPTED, not_accepted_reason="")
        ),
        Trigger.FEE_OFF_CATALOGUE: Case.objects.filter(
            pk__in=CaseFee.objects.filter(in_catalogue=False).values("case_id")
        ),
        Trigger.NOT_ONLINE: Case.objects.filter(
            status__in=OPEN_STATUSES,
            channel=Channel.WINDOW,
            version__online_depth=OnlineDepth.FULLY_ONLINE,
        ),
    }


def fact_findings() -> dict[str, QuerySet[Any]]:
    return {
        trigger: _finding(
            qs,
            case="pk",
            stage=None,
            trigger=trigger,
            level=Value(int(FACT_LEVELS[Trigger(trigger)]), output_field=IntegerField()),
        )
        for trigger, qs in fact_cases().items()
    }


@dataclass
class SweepCounts:
    opened: int = 0
    changed: int = 0
    closed: int = 0
    # (department id, level, number of alerts) newly raised above what was escalated: the digests
    raised: list[tuple[int, int, int]] = field(default_factory=list)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _dt(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def run(c: Cutoffs, sweep: Sweep) -> SweepCounts:
    """Bring the alerts in line with the findings at ``c.now``; the caller holds the transaction."""
    alert = _q(Alert._meta.db_table)
    change = _q(AlertChange._meta.db_table)
    case_table = _q(Case._meta.db_table)
    now = _dt(c.now)
    counts = SweepCounts()
    clock = ", ".join(f"'{t}'" for t in CLOCK_TRIGGERS)
    same_key = "t.case_id = {a}.case_id AND t.trigger = {a}.trigger AND t.stage_key = {a}.stage_key"
    with connection.cursor() as cursor:
        for table in (FRESH, CANDIDATES):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {CANDIDATES} (case_id bigint NOT NULL, stage_id bigint NULL, "
            "stage_key bigint NOT NULL, trigger varchar(24) NOT NULL, level smallint NOT NULL)"
        )
        for qs in [*clock_findings(c).values(), *fact_findings().values()]:
            sql, params = qs.query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {CANDIDATES} (case_id, stage_id, stage_key, trigger, level) {sql}",
                params,
            )
        cursor.execute(f"CREATE INDEX {CANDIDATES}_key ON {CANDIDATES} (case_id, trigger, stage_key)")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {CANDIDATES}")
        # The findings with no alert yet (none open, and not a fact a supervisor closed as handled),
        # selected apart while the alerts are only read: an INSERT checking each row against the
        # table it fills would rescan the growing table for every row.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {FRESH} AS SELECT t.case_id, t.stage_id, t.stage_key, t.trigger, "  # noqa: S608
            f"t.level FROM {CANDIDATES} t WHERE NOT EXISTS (SELECT 1 FROM {alert} a "
            f"WHERE {same_key.format(a='a')} AND (a.closed_at IS NULL OR a.closed_reason = %s))",
            [CloseReason.HANDLED],
        )
        # The digests' content: new alerts, and open ones rising above the level last escalated.
        cursor.execute(
            f"SELECT c.department_id, x.level, COUNT(*) FROM ("  # noqa: S608
            f"SELECT case_id, level FROM {FRESH} UNION ALL SELECT t.case_id, t.level FROM {CANDIDATES} t "
            f"JOIN {alert} a ON {same_key.format(a='a')} AND a.closed_at IS NULL "
            f"WHERE t.level > a.notified_level) x JOIN {case_table} c ON c.id = x.case_id "
            "GROUP BY c.department_id, x.level"
        )
        counts.raised = [(int(d), int(level), int(n)) for d, level, n in cursor.fetchall()]
        # 1. Re-level (what is raised counts as escalated: the digest goes out in this transaction).
        cursor.execute(
            f"UPDATE {alert} SET level = t.level, "  # noqa: S608
            f"raised_at = CASE WHEN t.level > {alert}.level THEN %s ELSE {alert}.raised_at END, "
            f"notified_level = CASE WHEN t.level > {alert}.notified_level THEN t.level "
            f"ELSE {alert}.notified_level END, "
            f"changed_at = %s, changed_by_id = %s FROM {CANDIDATES} t "
            f"WHERE {alert}.closed_at IS NULL AND {same_key.format(a=alert)} AND {alert}.level <> t.level",
            [now, now, sweep.pk],
        )
        counts.changed = max(cursor.rowcount, 0)
        # 2. Open.
        cursor.execute(
            f"INSERT INTO {alert} (case_id, stage_id, stage_key, trigger, level, opened_at, raised_at, "  # noqa: S608
            "changed_at, changed_by_id, closed_reason, notified_level) "
            f"SELECT case_id, stage_id, stage_key, trigger, level, %s, %s, %s, %s, '', level FROM {FRESH}",
            [now, now, now, sweep.pk],
        )
        counts.opened = max(cursor.rowcount, 0)
        # 3. Close the clock alerts whose finding is gone (not on suspended cases).
        cursor.execute(
            f"UPDATE {alert} SET closed_at = %s, closed_reason = %s, changed_at = %s, changed_by_id = %s "  # noqa: S608
            f"WHERE closed_at IS NULL AND trigger IN ({clock}) "
            f"AND NOT EXISTS (SELECT 1 FROM {CANDIDATES} t WHERE {same_key.format(a=alert)}) "
            f"AND NOT EXISTS (SELECT 1 FROM {case_table} c WHERE c.id = {alert}.case_id AND c.status = %s)",
            [now, CloseReason.CLEARED, now, sweep.pk, CaseStatus.SUSPENDED],
        )
        counts.closed = max(cursor.rowcount, 0)
        # 4. The history of levels: a closed alert goes back to normal.
        cursor.execute(
            f"INSERT INTO {change} (alert_id, level, at, sweep_id) "  # noqa: S608
            f"SELECT id, CASE WHEN closed_at IS NULL THEN level ELSE {int(Level.NORMAL)} END, %s, %s "
            f"FROM {alert} WHERE changed_by_id = %s",
            [now, sweep.pk, sweep.pk],
        )
        for table in (FRESH, CANDIDATES):
            cursor.execute(f"DROP TABLE {table}")
    return counts

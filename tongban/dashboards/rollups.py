"""The dashboards' rollups: one SQL definition per figure, read from the raw tables or from the rollups.

Every figure is a sum over groups (ADR 20). ``CASE_ROW`` says what one case adds to each column of
``CaseDay``; the refresh keeps one ``CaseFact`` row per case with those values and sums them per
(day, department, item, channel) into ``CaseDay``. The raw path (``raw=True`` in ``grouped``) sums
the same expressions grouped by what a chart needs, straight over the case tables: the
reconciliation check, the tests' oracle and the benchmark's baseline. Only names from the models
and the constants below are put into SQL.

Incremental refresh (``refresh``): the watermark is the start time of the previous refresh (less a
margin for transactions that were open then) and the highest id it saw. The cases changed or added
since get their facts replaced (by primary key); the (day, department) groups they were or are in
are deleted and summed again from the facts (through the facts' own index), in the refresh's
transaction, so a refresh that fails changes nothing and a repeated one gives the same rows.
Reviews and licence uses are recomputed per day touched. The working-day index is checked against
the calendar on every refresh; when an override changed a day, everything is rebuilt.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Model
from django.utils import timezone

from tongban.cases.choices import PREFILLED_ORIGINS, CaseStatus, Channel, DeliveryMethod
from tongban.cases.models import Case, CaseMaterial
from tongban.catalog.models import ServiceItemVersion
from tongban.core.calendar import is_working_day, local_date
from tongban.dashboards.models import CaseDay, CaseFact, LicenceUseDay, RefreshState, ReviewDay, WorkingDay
from tongban.licences.models import LicenceUse

# Transactions open when the previous refresh started may commit changes stamped before it: read
# that much further back (a repeated group is recomputed, never counted twice).
MARGIN = timedelta(minutes=10)
CHUNK = 200  # days per DELETE/INSERT statement
FULL_ABOVE = 200_000  # more cases changed than this: rebuild the case figures in full
CASES, REVIEWS, RECTIFICATIONS, LICENCE_USES = "cases", "reviews", "rectifications", "licence_uses"
DECIDED = f"c.accepted_at IS NOT NULL AND c.completed_at IS NOT NULL AND c.due_at IS NOT NULL AND c.status IN ('{CaseStatus.COMPLETED}', '{CaseStatus.REFUSED}')"  # noqa: E501
FINISHED = f"c.status IN ('{CaseStatus.COMPLETED}', '{CaseStatus.REFUSED}', '{CaseStatus.NOT_ACCEPTED}')"
# 最多跑一次: a case filed at the window is one visit; coming back to correct it at the window, or
# collecting the result there, is one more. Online, API and bundle applications posted or delivered
# online take no visit; collecting the result takes one.
MORE_THAN_ONE_VISIT = (
    f"c.channel = '{Channel.WINDOW}' "
    f"AND (c.correction_rounds > 0 OR c.delivery_method = '{DeliveryMethod.PICKUP}')"
)
_PREFILLED = ", ".join(f"'{o}'" for o in PREFILLED_ORIGINS)


def _q(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _tz() -> str:
    name = str(settings.TIME_ZONE)
    if not re.fullmatch(r"[A-Za-z0-9_/+-]+", name):
        raise ValueError(f"unexpected TIME_ZONE {name!r}")
    return name


def local_day_sql(column: str) -> str:
    """The SQL of the Asia/Shanghai date of a timestamp column, on PostgreSQL and SQLite."""
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE '{_tz()}')::date"
    return f"django_datetime_cast_date({column}, '{_tz()}', 'UTC')"


def _sum(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


# CaseDay column -> its value for one case (the raw rows of one group are summed).
CASE_ROW: dict[str, str] = {
    "submitted": "1",
    "online": _flag(f"c.channel <> '{Channel.WINDOW}'"),
    "accepted": _flag("c.accepted_at IS NOT NULL"),
    "not_accepted": _flag(f"c.status = '{CaseStatus.NOT_ACCEPTED}'"),
    "withdrawn": _flag(f"c.status = '{CaseStatus.WITHDRAWN}'"),
    "refused": _flag(f"c.status = '{CaseStatus.REFUSED}'"),
    "completed": _flag(f"c.status = '{CaseStatus.COMPLETED}'"),
    "decided": _flag(DECIDED),
    "on_time": _flag(f"{DECIDED} AND c.completed_at <= c.due_at"),
    "finished": _flag(FINISHED),
    "one_visit": _flag(f"{FINISHED} AND NOT ({MORE_THAN_ONE_VISIT})"),
    "duration_days": f"CASE WHEN {DECIDED} THEN COALESCE(wc.ordinal - wa.ordinal, 0) ELSE 0 END",
    "promised_days": f"CASE WHEN {DECIDED} THEN COALESCE(v.promised_days, 1) ELSE 0 END",
    "materials": "COALESCE(m.materials, 0)",
    "prefilled": "COALESCE(m.prefilled, 0)",
    "visits_saved": "COALESCE(m.saved, 0)",
}
CASE_METRICS: dict[str, str] = {name: f"COALESCE(SUM({expr}), 0)" for name, expr in CASE_ROW.items()}
# Satisfaction is over the ratings that stand (valid: not annulled on appeal, not superseded by a
# re-rating); bad ratings and their rectification count every bad rating not annulled, so a bad
# rating rectified and then re-rated stays counted as a bad rating rectified.
REVIEW_METRICS: dict[str, str] = {
    "reviews": _sum("rv.status = 'valid'"),
    "satisfied": _sum("rv.status = 'valid' AND rv.level >= 4"),
    "bad": _sum("rv.level <= 2"),
    "level_sum": "COALESCE(SUM(CASE WHEN rv.status = 'valid' THEN rv.level ELSE 0 END), 0)",
    "rectified": _sum("rv.level <= 2 AND rc.status = 'closed'"),
}
LICENCE_METRICS: dict[str, str] = {"uses": "COUNT(*)"}


def _case_from(where: str) -> str:
    """FROM … WHERE of the case facts; ``where`` (on alias c) restricts the cases and their materials."""
    case, version, material, wd = _q(Case), _q(ServiceItemVersion), _q(CaseMaterial), _q(WorkingDay)
    # Table names from the models, constants and the caller's placeholders only.
    return (
        f"FROM {case} c JOIN {version} v ON v.id = c.version_id "  # noqa: S608
        f"LEFT JOIN {wd} wa ON wa.day = {local_day_sql('c.accepted_at')} "
        f"LEFT JOIN {wd} wc ON wc.day = {local_day_sql('c.completed_at')} "
        "LEFT JOIN (SELECT cm.case_id, COUNT(DISTINCT cm.material_id) AS materials, "
        f"COUNT(DISTINCT CASE WHEN cm.origin IN ({_PREFILLED}) THEN cm.material_id END) AS prefilled, "
        f"COUNT(DISTINCT CASE WHEN cm.origin IN ({_PREFILLED}) AND cm.provider <> '' THEN cm.provider END) "
        f"AS saved FROM {material} cm WHERE cm.case_id IN (SELECT c.id FROM {case} c WHERE {where}) "
        "GROUP BY cm.case_id) m ON m.case_id = c.id "
        f"WHERE {where}"
    )


CASE_BASE = f"c.status <> '{CaseStatus.DRAFT}' AND c.submitted_at IS NOT NULL"


def review_models() -> tuple[type[Model], type[Model]] | None:
    """The reviews app's models, once it has them (issue 6 builds it in parallel)."""
    try:
        return apps.get_model("reviews", "Review"), apps.get_model("reviews", "Rectification")
    except LookupError:
        return None


def _review_from(where: str) -> str:
    models = review_models()
    if models is None:
        raise LookupError("the reviews app has no models")
    review, rectification = (_q(m) for m in models)
    return (
        f"FROM {review} rv LEFT JOIN {rectification} rc ON rc.review_id = rv.id "
        f"WHERE rv.status <> 'annulled' AND {where}"
    )


def _licence_from(where: str) -> str:
    return f"FROM {_q(LicenceUse)} lu WHERE {where}"


# --- filters and grouped reads ---------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What to count: a period of local dates, some departments, perhaps one item."""

    start: date
    end: date
    department_ids: tuple[int, ...]
    item_id: int | None = None


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants of local midnight at ``start`` and after ``end`` (for index range scans)."""
    zone = timezone.get_default_timezone()
    return (
        datetime.combine(start, datetime.min.time(), tzinfo=zone),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone),
    )


def _in(column: str, values: Sequence[Any], params: list[Any]) -> str:
    if not values:
        return "1 = 0"
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


# source -> (FROM builder, raw column of the day, of the department, of the item, rollup model)
_SOURCES: dict[str, tuple[Any, str, str, str | None, type[Model]]] = {
    CASES: (_case_from, "c.submitted_at", "c.department_id", "c.item_id", CaseDay),
    REVIEWS: (_review_from, "rv.created_at", "rv.department_id", "rv.item_id", ReviewDay),
    LICENCE_USES: (_licence_from, "lu.at", "lu.department_id", None, LicenceUseDay),
}
_METRICS = {CASES: CASE_METRICS, REVIEWS: REVIEW_METRICS, LICENCE_USES: LICENCE_METRICS}
GROUPS = ("day", "department", "item")


def grouped(source: str, scope: Scope, by: str, *, raw: bool = False) -> list[dict[str, Any]]:
    """The metrics of ``source`` summed per ``by`` (day, department or item) within ``scope``."""
    from_sql, day_col, dept_col, item_col, model = _SOURCES[source]
    metrics = _METRICS[source]
    if source == REVIEWS and review_models() is None:
        return []
    params: list[Any] = []
    if raw:
        if by == "item" and item_col is None:
            return []
        key = {"day": local_day_sql(day_col), "department": dept_col, "item": item_col}[by]
        begin, after = day_bounds(scope.start, scope.end)
        where = [f"{day_col} >= %s", f"{day_col} < %s"]
        params += [begin, after]
        where.append(_in(dept_col, scope.department_ids, params))
        if scope.item_id is not None and item_col is not None:
            where.append(f"{item_col} = %s")
            params.append(scope.item_id)
        if source == CASES:
            where.insert(0, CASE_BASE)
        condition = " AND ".join(where)
        if source == CASES:
            # The materials' subquery repeats the condition: its parameters come twice.
            params = params + params
        sql = f"SELECT {key} AS k, {', '.join(f'{e} AS {n}' for n, e in metrics.items())} {from_sql(condition)} GROUP BY {key}"  # noqa: E501
    else:
        if by == "item" and source == LICENCE_USES:
            return []
        key = {"day": "r.day", "department": "r.department_id", "item": "r.item_id"}[by]
        where = ["r.day >= %s", "r.day <= %s"]
        params += [scope.start, scope.end]
        where.append(_in("r.department_id", scope.department_ids, params))
        if scope.item_id is not None and source != LICENCE_USES:
            where.append("r.item_id = %s")
            params.append(scope.item_id)
        sums = ", ".join(f"COALESCE(SUM(r.{n}), 0) AS {n}" for n in metrics)
        sql = f"SELECT {key} AS k, {sums} FROM {_q(model)} r WHERE {' AND '.join(where)} GROUP BY {key}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = ["k", *metrics]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        if by == "day" and not isinstance(row["k"], date):
            row["k"] = date.fromisoformat(str(row["k"]))
        for name in metrics:
            row[name] = int(row[name] or 0)
    return rows


# --- the working-day index -------------------------------------------------------------------


def _calendar_days(first: date, last: date) -> list[tuple[date, int, bool]]:
    rows: list[tuple[date, int, bool]] = []
    ordinal = 0
    day = first
    while day <= last:
        working = is_working_day(day)
        ordinal += int(working)
        rows.append((day, ordinal, working))
        day += timedelta(days=1)
    return rows


def _working_days_stale(first: date, last: date) -> bool:
    """True when the index does not cover [first, last] or disagrees with the calendar there."""
    stored = dict(WorkingDay.objects.filter(day__gte=first, day__lte=last).values_list("day", "is_working"))
    if len(stored) != (last - first).days + 1:
        return True
    return any(stored[day] != working for day, _, working in _calendar_days(first, last))


def rebuild_working_days(first: date, last: date) -> None:
    WorkingDay.objects.all().delete()
    WorkingDay.objects.bulk_create(
        (WorkingDay(day=d, ordinal=o, is_working=w) for d, o, w in _calendar_days(first, last)),
        batch_size=1000,
    )


# --- refresh ---------------------------------------------------------------------------------


@dataclass
class RefreshResult:
    full: bool = False
    cases: int = 0
    case_groups: int = 0
    review_days: int = 0
    licence_days: int = 0
    duration_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "cases": self.cases,
            "case_groups": self.case_groups,
            "review_days": self.review_days,
            "licence_days": self.licence_days,
            "duration_ms": round(self.duration_ms, 1),
        }


def _state(name: str) -> RefreshState:
    RefreshState.objects.get_or_create(name=name)
    return RefreshState.objects.select_for_update().get(name=name)


def _max_id(model: type[Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {_q(model)}")  # noqa: S608
        return int(cursor.fetchone()[0] or 0)


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _insert(source: str, condition: str, params: list[Any]) -> None:
    from_sql, day_col, dept_col, _item_col, model = _SOURCES[source]
    metrics = _METRICS[source]
    day = local_day_sql(day_col)
    keys = [f"{day}", dept_col]
    columns = ["day", "department_id"]
    if source == REVIEWS:
        keys += ["rv.item_id", "rv.channel"]
        columns += ["item_id", "channel"]
    else:
        keys += ["lu.kind"]
        columns += ["kind"]
    select = ", ".join([*keys, *metrics.values()])
    sql = (
        f"INSERT INTO {_q(model)} ({', '.join([*columns, *metrics])}) "
        f"SELECT {select} {from_sql(condition)} GROUP BY {', '.join(keys)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _days_condition(day_col: str, days: Sequence[date], params: list[Any]) -> str:
    begin, after = day_bounds(min(days), max(days))
    params += [begin, after]
    return f"{day_col} >= %s AND {day_col} < %s AND " + _in(
        local_day_sql(day_col), [d.isoformat() if connection.vendor == "sqlite" else d for d in days], params
    )


def _insert_facts(condition: str, params: list[Any]) -> None:
    """One ``CaseFact`` row per submitted case matching ``condition`` (on alias c)."""
    columns = ["case_id", "day", "department_id", "item_id", "channel", *CASE_ROW]
    select = ", ".join(
        [
            "c.id",
            local_day_sql("c.submitted_at"),
            "c.department_id",
            "c.item_id",
            "c.channel",
            *CASE_ROW.values(),
        ]
    )
    condition = f"{CASE_BASE} AND {condition}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_q(CaseFact)} ({', '.join(columns)}) SELECT {select} {_case_from(condition)}",
            params + params,  # the materials' subquery repeats the condition
        )


def _rollup_facts(condition: str, params: list[Any]) -> None:
    """``CaseDay`` rows of the facts matching ``condition`` (on alias f), summed per group."""
    keys = "f.day, f.department_id, f.item_id, f.channel"
    sums = ", ".join(f"SUM(f.{n})" for n in CASE_ROW)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_q(CaseDay)} (day, department_id, item_id, channel, {', '.join(CASE_ROW)}) "  # noqa: S608
            f"SELECT {keys}, {sums} FROM {_q(CaseFact)} f WHERE {condition} GROUP BY {keys}",
            params,
        )


def _replace_facts(case_ids: Sequence[int]) -> dict[int, set[date]]:
    """Replace the facts of these cases; the (department, day) groups they were and are in."""
    groups: dict[int, set[date]] = defaultdict(set)
    for i in range(0, len(case_ids), 1000):
        chunk = list(case_ids[i : i + 1000])
        params: list[Any] = []
        in_facts = _in("case_id", chunk, params)
        for department_id, day_value in _fetch(
            f"SELECT department_id, day FROM {_q(CaseFact)} WHERE {in_facts}",  # noqa: S608
            params,
        ):
            groups[int(department_id)].add(_as_date(day_value))
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_q(CaseFact)} WHERE {in_facts}", params)  # noqa: S608
        insert_params: list[Any] = []
        _insert_facts(_in("c.id", chunk, insert_params), insert_params)
        for department_id, day_value in _fetch(
            f"SELECT department_id, day FROM {_q(CaseFact)} WHERE {in_facts}",  # noqa: S608
            params,
        ):
            groups[int(department_id)].add(_as_date(day_value))
    return groups


def _recompute_case_groups(groups: dict[int, set[date]]) -> int:
    """Delete and insert again the ``CaseDay`` rows of these groups, from the facts (indexed)."""
    count = 0
    for department_id, days in groups.items():
        ordered = sorted(days)
        for i in range(0, len(ordered), CHUNK):
            chunk = ordered[i : i + CHUNK]
            params: list[Any] = [department_id]
            days_in = _in("day", chunk, params)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {_q(CaseDay)} WHERE department_id = %s AND {days_in}",  # noqa: S608
                    params,
                )
            _rollup_facts(f"f.department_id = %s AND f.{days_in}", params)
            count += len(chunk)
    return count


def _recompute_days(source: str, days: set[date]) -> int:
    _, day_col, _, _, model = _SOURCES[source]
    ordered = sorted(days)
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i : i + CHUNK]
        delete_params: list[Any] = []
        delete_in = _in("day", chunk, delete_params)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_q(model)} WHERE {delete_in}", delete_params)  # noqa: S608
        params: list[Any] = []
        _insert(source, _days_condition(day_col, chunk, params), params)
    return len(ordered)


def _first_day() -> date:
    first = Case.objects.aggregate(first=Min("submitted_at"))["first"]
    if first is None:
        return timezone.localdate() - timedelta(days=31)
    return local_date(first) - timedelta(days=31)


def _touched_cases(since: datetime | None, last_id: int) -> list[int]:
    """Cases added (id above the watermark) or changed (``updated_at`` after it) since."""
    condition = "c.id > %s"
    params: list[Any] = [last_id]
    if since is not None:
        condition = f"({condition} OR c.updated_at > %s)"
        params.append(since)
    return [
        int(row[0])
        for row in _fetch(f"SELECT c.id FROM {_q(Case)} c WHERE {condition} ORDER BY c.id", params)  # noqa: S608
    ]


def _touched_days(sql: str, params: Sequence[Any]) -> set[date]:
    return {_as_date(row[0]) for row in _fetch(sql, params) if row[0] is not None}


def _review_touched(since: datetime | None, last_review: int, last_rect: int) -> set[date]:
    """Days of reviews new since the watermark, re-rated (the first rating is superseded), whose
    rectification was opened or closed, or whose appeal was decided (an upheld one annuls)."""
    models = review_models()
    if models is None:
        return set()
    review, rectification = (_q(m) for m in models)
    day = local_day_sql("rv.created_at")
    condition = (
        f"rv.id > %s OR rc.id > %s OR rv.id IN (SELECT n.re_rating_of_id FROM {review} n WHERE n.id > %s)"  # noqa: S608
    )
    params: list[Any] = [last_review, last_rect, last_review]
    if since is not None:
        condition += " OR rc.closed_at > %s"
        params.append(since)
        try:
            appeal = _q(apps.get_model("reviews", "Appeal"))
        except LookupError:
            appeal = None
        if appeal is not None:
            condition += f" OR rv.id IN (SELECT a.review_id FROM {appeal} a WHERE a.decided_at > %s)"  # noqa: S608
            params.append(since)
    return _touched_days(
        f"SELECT DISTINCT {day} FROM {review} rv LEFT JOIN {rectification} rc ON rc.review_id = rv.id "  # noqa: S608
        f"WHERE {condition}",
        params,
    )


def refresh(*, full: bool = False, now: datetime | None = None) -> RefreshResult:
    """Bring the rollups up to date (incrementally unless ``full``), in one transaction."""
    started = time.monotonic()
    now = now or timezone.now()
    result = RefreshResult(full=full)
    with transaction.atomic():
        cases_state = _state(CASES)  # locks: one refresh at a time
        today = local_date(now)
        first = _first_day()
        window_first = max(first, today - timedelta(days=400))
        if (
            full
            or cases_state.full_at is None
            or _working_days_stale(window_first, today + timedelta(days=31))
        ):
            full = result.full = True
            stored_first = WorkingDay.objects.order_by("day").values_list("day", flat=True).first()
            rebuild_working_days(min(first, stored_first or first), today + timedelta(days=31))
        elif not WorkingDay.objects.filter(day__lte=first).exists():
            rebuild_working_days(first, today + timedelta(days=31))
        states = {name: _state(name) for name in (REVIEWS, RECTIFICATIONS, LICENCE_USES)}
        case_max = _max_id(Case)
        licence_max = _max_id(LicenceUse)
        models = review_models()
        review_max = _max_id(models[0]) if models else 0
        rect_max = _max_id(models[1]) if models else 0
        if full:
            for model in (CaseFact, CaseDay, ReviewDay, LicenceUseDay):
                with connection.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {_q(model)}")  # noqa: S608
            _insert_facts("1 = 1", [])
            _rollup_facts("1 = 1", [])
            _insert(LICENCE_USES, "1 = 1", [])
            if models:
                _insert(REVIEWS, "1 = 1", [])
            result.case_groups = CaseDay.objects.values("day", "department_id").distinct().count()
            result.cases = CaseFact.objects.count()
        else:
            since = cases_state.last_changed_at - MARGIN if cases_state.last_changed_at else None
            touched = _touched_cases(since, cases_state.last_id)
            result.cases = len(touched)
            if len(touched) > FULL_ABOVE:
                CaseFact.objects.all().delete()
                CaseDay.objects.all().delete()
                _insert_facts("1 = 1", [])
                _rollup_facts("1 = 1", [])
                touched = []
            result.case_groups = _recompute_case_groups(_replace_facts(touched))
            licence_days = _touched_days(
                f"SELECT DISTINCT {local_day_sql('lu.at')} FROM {_q(LicenceUse)} lu WHERE lu.id > %s",  # noqa: S608
                [states[LICENCE_USES].last_id],
            )
            result.licence_days = _recompute_days(LICENCE_USES, licence_days) if licence_days else 0
            review_days = _review_touched(since, states[REVIEWS].last_id, states[RECTIFICATIONS].last_id)
            result.review_days = _recompute_days(REVIEWS, review_days) if review_days else 0
        result.duration_ms = (time.monotonic() - started) * 1000
        for state, last_id in (
            (cases_state, case_max),
            (states[REVIEWS], review_max),
            (states[RECTIFICATIONS], rect_max),
            (states[LICENCE_USES], licence_max),
        ):
            state.last_changed_at = now
            state.last_id = last_id
            state.refreshed_at = now
            state.duration_ms = result.duration_ms
            state.groups = result.case_groups if state is cases_state else 0
            if full:
                state.full_at = now
            state.save()
    return result


def last_refreshed() -> datetime | None:
    return RefreshState.objects.filter(name=CASES).values_list("refreshed_at", flat=True).first()

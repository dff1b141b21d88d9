"""A year of finished and open cases for the demo city, loaded in bulk as a historical import would
be (issue 6: the supervision board and the dashboards need history on first start).

What it makes, from a fixed seed (the same on every machine): for every day of the last 400 days up
to yesterday, a handful of applications per working day (fewer at weekends) for the published demo
items, by citizens of the population base (accounts created in bulk, without a password: they
never logged in) and the demo accounts. Most are completed; some were not accepted, refused or
withdrawn; some were decided after their promised completion (late); recent ones are still open,
a few of them past their due date (the supervision board's red cases). Each case has what the
engine would have given it: the number (implementation code, date, serial after the day's counter,
which is moved on, so later numbers never collide), the due date from the calendar
(``deadline_after``), the stages and tasks copied from its version's process, the public timeline
(events) and one material row per material of the version, the fetched ones (免提交) with their
provenance and providing department. Files stay in the departments' archives: the rows name them.

Rows are inserted in bulk, not through the services: an import of the past has no notifications,
no audit of each step (one audit row says what was imported) and timestamps of its own.

Idempotent: the cases carry the idempotency key ``history:<n>``; when any exists, nothing is done.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from tongban.basedata.models import Person
from tongban.cases.choices import (
    CaseStatus,
    Channel,
    Decision,
    DeliveryMethod,
    EventKind,
    MaterialOrigin,
    MaterialStatus,
    StageStatus,
    TaskStatus,
)
from tongban.cases.models import Case, CaseCounter, CaseEvent, CaseMaterial, CaseStage, CaseTask
from tongban.catalog.choices import MaterialSource
from tongban.catalog.models import Material, ServiceItem
from tongban.core import audit
from tongban.core.calendar import add_working_days, deadline_after, is_working_day, local_date
from tongban.identity.choices import AccountKind, RealNameLevel
from tongban.identity.models import Department, User
from tongban.licences.models import LicenceType
from tongban.resources.models import DataResource

KEY_PREFIX = "history:"
SEED = "tongban-demo-history"
DAYS = 400
APPLICANTS = 300
ARCHIVED = "历史导入：原件存部门档案"


@dataclass
class HistoryResult:
    cases: int = 0
    events: int = 0
    materials: int = 0
    applicants_created: int = 0
    skipped: bool = False
    by_status: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "events": self.events,
            "materials": self.materials,
            "applicants_created": self.applicants_created,
            "skipped": self.skipped,
            "by_status": dict(self.by_status),
        }


def _at(day: date, rng: random.Random, first_hour: int = 9, last_hour: int = 16) -> datetime:
    moment = datetime.combine(
        day, time(rng.randint(first_hour, last_hour), rng.randint(0, 59), rng.randint(0, 59))
    )
    return timezone.make_aware(moment)


def _working_at(day: date, rng: random.Random) -> datetime:
    while not is_working_day(day):
        day += timedelta(days=1)
    return _at(day, rng)


def _applicants(rng: random.Random) -> tuple[list[User], int]:
    """Citizens of the population base with an account (made now when missing), and the demo's own."""
    people = list(Person.objects.order_by("resident_id").values_list("resident_id", "name")[: APPLICANTS * 3])
    rng.shuffle(people)
    wanted = people[:APPLICANTS]
    existing = set(
        User.objects.filter(resident_id__in=[p[0] for p in wanted]).values_list("resident_id", flat=True)
    )
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(
                username=f"c{rid}",
                kind=AccountKind.CITIZEN,
                name=name,
                resident_id=rid,
                real_name_level=RealNameLevel.L1,
                password=unusable,
            )
            for rid, name in wanted
            if rid not in existing
        ],
        batch_size=500,
    )
    created = len([p for p in wanted if p[0] not in existing])
    users = list(User.objects.filter(resident_id__in=[p[0] for p in wanted]))
    users += list(User.objects.filter(kind=AccountKind.ENTERPRISE).order_by("pk")[:20])
    users.sort(key=lambda u: u.pk)
    return users, created


def _items() -> list[ServiceItem]:
    items = [
        i
        for i in ServiceItem.objects.filter(current_version__isnull=False)
        .select_related("current_version", "department")
        .order_by("pk")
        if i.current_version is not None
        and i.current_version.process
        and i.department.division_code.startswith("3415")
    ]
    return items


def _providers(materials: list[Material]) -> dict[int, str]:
    """The code of the department holding each fetchable material (its licence type's or resource's)."""
    licence_codes = {m.source_code for m in materials if m.source == MaterialSource.E_LICENCE}
    resource_codes = {m.source_code for m in materials if m.source == MaterialSource.SHARED_DATA}
    by_type = dict(
        LicenceType.objects.filter(code__in=licence_codes).values_list("code", "issuing_department__code")
    )
    by_resource = dict(
        DataResource.objects.filter(code__in=resource_codes).values_list("code", "provider__code")
    )
    found: dict[int, str] = {}
    for m in materials:
        if m.source == MaterialSource.E_LICENCE:
            found[m.pk] = by_type.get(m.source_code) or ""
        elif m.source == MaterialSource.SHARED_DATA:
            found[m.pk] = by_resource.get(m.source_code) or ""
    return found


@dataclass
class _Plan:
    """One case's story, decided before any row is written."""

    item: ServiceItem
    applicant: User
    channel: str
    submitted: datetime
    status: str
    accepted: datetime | None = None
    due: datetime | None = None
    completed: datetime | None = None
    decided: datetime | None = None
    decision: str = ""
    delivery: str = ""
    corrections: int = 0
    stages_done: int = 0  # stages finished (the rest pending or, for the open ones, one active)


def _plan(item: ServiceItem, applicant: User, day: date, rng: random.Random, now: datetime) -> _Plan:
    version = item.current_version
    if version is None:
        raise ValueError(f"item {item.pk} is not published")
    channel = rng.choices([Channel.ONLINE, Channel.WINDOW, Channel.API], weights=[62, 33, 5])[0]
    if channel == Channel.WINDOW and not is_working_day(day):
        channel = Channel.ONLINE  # the halls are closed: online only
    submitted = _at(day, rng)
    plan = _Plan(
        item=item, applicant=applicant, channel=channel, submitted=submitted, status=CaseStatus.SUBMITTED
    )
    if submitted >= now:
        return plan
    roll = rng.random()
    if roll < 0.04:
        plan.status = CaseStatus.NOT_ACCEPTED
        plan.completed = _working_at(local_date(submitted) + timedelta(days=rng.randint(0, 2)), rng)
        plan.completed = max(plan.completed, submitted + timedelta(minutes=30))
        if plan.completed >= now:
            plan.status, plan.completed = CaseStatus.SUBMITTED, None
        return plan
    if roll < 0.07:
        plan.corrections = 1
    accepted_day = (
        local_date(submitted)
        if channel == Channel.WINDOW and rng.random() < 0.7
        else add_working_days(submitted, 1)
    )
    if plan.corrections:
        accepted_day = add_working_days(accepted_day, rng.randint(2, 5))
    accepted = max(_working_at(accepted_day, rng), submitted + timedelta(minutes=20))
    if accepted >= now:
        plan.status = CaseStatus.CORRECTION if plan.corrections else CaseStatus.SUBMITTED
        return plan
    plan.accepted = accepted
    promised = version.promised_days or 1
    plan.due = deadline_after(accepted, promised)
    stages = len(version.process)
    if rng.random() < 0.03:
        plan.status = CaseStatus.WITHDRAWN
        plan.completed = max(_working_at(add_working_days(accepted, 1), rng), accepted + timedelta(minutes=5))
        if plan.completed < now:
            return plan
        plan.completed = None
    late = rng.random() < 0.09
    taken = promised + rng.randint(1, 6) if late else rng.randint(max(1, promised // 4), promised)
    decided = max(_working_at(add_working_days(accepted, taken), rng), accepted + timedelta(hours=1))
    if decided >= now:
        plan.status = CaseStatus.IN_REVIEW
        # How far it got: the stages whose share of the time has passed.
        plan.stages_done = min(
            stages - 1, int(stages * (now - accepted) / max(decided - accepted, timedelta(hours=1)))
        )
        return plan
    plan.decided = decided
    if rng.random() < 0.06:
        plan.status = CaseStatus.REFUSED
        plan.decision = Decision.REFUSED
        plan.completed = decided
        plan.stages_done = stages
        return plan
    plan.decision = Decision.APPROVED
    plan.stages_done = stages
    plan.delivery = rng.choices(
        [DeliveryMethod.ONLINE, DeliveryMethod.POST, DeliveryMethod.PICKUP],
        weights=[3, 2, 5] if channel == Channel.WINDOW else [6, 3, 1],
    )[0]
    delivered = (
        decided + timedelta(hours=rng.randint(1, 3))
        if plan.delivery == DeliveryMethod.ONLINE
        else _working_at(add_working_days(decided, rng.randint(0, 1)), rng)
    )
    delivered = max(delivered, decided + timedelta(minutes=10))
    if delivered >= now:
        plan.status = CaseStatus.RESULT_READY
    else:
        plan.status = CaseStatus.COMPLETED
        plan.completed = delivered
    return plan


def _stage_departments(
    process: list[dict[str, Any]], departments: dict[str, Department], default: Department
) -> list[list[Department]]:
    result = []
    for stage in process:
        codes = list(stage.get("departments") or [stage.get("department")])
        result.append([departments[c] for c in codes if c in departments] or [default])
    return result


def _serials(plans: list[_Plan]) -> dict[tuple[int, date], int]:
    """The last serial already given per (item, day) of the plans (the cases demo's own, if any)."""
    days = {(p.item.pk, local_date(p.submitted)) for p in plans}
    rows = CaseCounter.objects.filter(
        item_id__in={i for i, _ in days}, day__gte=min(d for _, d in days), day__lte=max(d for _, d in days)
    ).values_list("item_id", "day", "last")
    return {(i, d): last for i, d, last in rows}


@transaction.atomic
def load_demo(*, now: datetime | None = None, days: int = DAYS, per_day: int = 11) -> dict[str, Any]:
    """Import the demo city's history once (see the module docstring); a second call changes nothing."""
    result = HistoryResult()
    if Case.objects.filter(idempotency_key__startswith=KEY_PREFIX).exists():
        result.skipped = True
        return result.as_dict()
    items = _items()
    if not items:
        result.skipped = True
        return result.as_dict()
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    now = now or timezone.now()
    applicants, result.applicants_created = _applicants(rng)
    if not applicants:
        result.skipped = True
        return result.as_dict()
    today = local_date(now)
    plans: list[_Plan] = []
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        count = rng.randint(per_day - 4, per_day + 4) if is_working_day(day) else rng.randint(0, 3)
        for _ in range(count):
            plans.append(_plan(rng.choice(items), rng.choice(applicants), day, rng, now))
    # A few old cases still open and long past due: the supervision board's red ones.
    for _ in range(12):
        day = today - timedelta(days=rng.randint(45, 90))
        plan = _plan(rng.choice(items), rng.choice(applicants), day, rng, now)
        if plan.accepted is not None and plan.status not in (CaseStatus.WITHDRAWN,):
            plan.status, plan.completed, plan.decided, plan.decision, plan.delivery = (
                CaseStatus.IN_REVIEW,
                None,
                None,
                "",
                "",
            )
            plan.stages_done = 0
            plans.append(plan)
    plans.sort(key=lambda p: p.submitted)
    _write(plans, result, rng)
    audit.record(action="cases.history_imported", actor=None, data=result.as_dict())
    return result.as_dict()


def _write(plans: list[_Plan], result: HistoryResult, rng: random.Random) -> None:
    departments = {d.code: d for d in Department.objects.all()}
    versions = {p.item.current_version_id for p in plans}
    materials: dict[int, list[Material]] = defaultdict(list)
    for m in Material.objects.filter(version_id__in=versions).order_by("sort_order", "pk"):
        materials[m.version_id].append(m)
    providers = _providers([m for ms in materials.values() for m in ms])
    last = _serials(plans)
    counters: dict[tuple[int, date], int] = dict(last)
    cases: list[Case] = []
    for n, plan in enumerate(plans, start=1):
        day = local_date(plan.submitted)
        key = (plan.item.pk, day)
        counters[key] = counters.get(key, 0) + 1
        applicant = plan.applicant
        cases.append(
            Case(
                number=f"{plan.item.implementation_code}{day:%Y%m%d}{counters[key]:04d}",
                item=plan.item,
                version=plan.item.current_version,
                department=plan.item.department,
                applicant=applicant,
                channel=plan.channel,
                status=plan.status,
                applicant_name=applicant.name,
                applicant_id_number=applicant.resident_id or applicant.credit_code or "",
                applicant_phone=applicant.phone,
                idempotency_key=f"{KEY_PREFIX}{n}",
                submitted_at=plan.submitted,
                accepted_at=plan.accepted,
                due_at=plan.due,
                correction_rounds=plan.corrections,
                decision=plan.decision,
                decision_opinion="符合条件，予以办理。"
                if plan.decision == Decision.APPROVED
                else ("经审查不符合条件。" if plan.decision else ""),
                decided_at=plan.decided,
                not_accepted_reason="申请材料不齐全且无法当场补正。"
                if plan.status == CaseStatus.NOT_ACCEPTED
                else "",
                delivery_method=plan.delivery if plan.status == CaseStatus.COMPLETED else "",
                delivery_note="EMS 历史件"
                if plan.delivery == DeliveryMethod.POST and plan.status == CaseStatus.COMPLETED
                else "",
                completed_at=plan.completed,
                withdrawn_reason="申请人主动撤回。" if plan.status == CaseStatus.WITHDRAWN else "",
            )
        )
    Case.objects.bulk_create(cases, batch_size=500)
    CaseCounter.objects.bulk_create(
        [CaseCounter(item_id=i, day=d, last=v) for (i, d), v in counters.items()],
        update_conflicts=True,
        unique_fields=["item", "day"],
        update_fields=["last"],
        batch_size=500,
    )
    # The database stamped creation and change with the import's time: give them the case's own.
    table = connection.ops.quote_name(Case._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET created_at = submitted_at, "  # noqa: S608
            "updated_at = COALESCE(completed_at, decided_at, accepted_at, submitted_at) "
            "WHERE idempotency_key LIKE %s",
            [KEY_PREFIX + "%"],
        )
    events: list[tuple[Any, ...]] = []
    material_rows: list[tuple[Any, ...]] = []
    stage_plans: list[tuple[Case, _Plan]] = []
    for case, plan in zip(cases, plans, strict=True):
        result.by_status[str(plan.status)] = result.by_status.get(str(plan.status), 0) + 1
        dept = plan.item.department
        events.append((case.pk, EventKind.SUBMITTED, plan.submitted, None, None, ""))
        if plan.corrections:
            events.append(
                (
                    case.pk,
                    EventKind.CORRECTION_REQUESTED,
                    plan.submitted + timedelta(hours=2),
                    dept.pk,
                    None,
                    "",
                )
            )
            if plan.accepted:
                events.append(
                    (case.pk, EventKind.RESUBMITTED, plan.accepted - timedelta(minutes=10), None, None, "")
                )
        if plan.status == CaseStatus.NOT_ACCEPTED:
            events.append(
                (case.pk, EventKind.NOT_ACCEPTED, plan.completed, dept.pk, None, case.not_accepted_reason)
            )
        if plan.accepted:
            events.append((case.pk, EventKind.ACCEPTED, plan.accepted, dept.pk, None, ""))
            stage_plans.append((case, plan))
        if plan.decided:
            kind = EventKind.APPROVED if plan.decision == Decision.APPROVED else EventKind.REFUSED
            events.append((case.pk, kind, plan.decided, dept.pk, None, case.decision_opinion))
        if plan.status == CaseStatus.COMPLETED:
            events.append((case.pk, EventKind.DELIVERED, plan.completed, dept.pk, None, ""))
        if plan.status == CaseStatus.WITHDRAWN:
            events.append((case.pk, EventKind.WITHDRAWN, plan.completed, None, None, case.withdrawn_reason))
        for m in materials.get(plan.item.current_version_id or 0, []):
            fetched = (
                m.source in (MaterialSource.E_LICENCE, MaterialSource.SHARED_DATA)
                and plan.channel != Channel.WINDOW
                and rng.random() < 0.8
            )
            if m.source == MaterialSource.EARLIER_STEP:
                continue
            origin = (
                (
                    MaterialOrigin.E_LICENCE
                    if m.source == MaterialSource.E_LICENCE
                    else MaterialOrigin.SHARED_DATA
                )
                if fetched
                else (
                    MaterialOrigin.WINDOW_SCAN if plan.channel == Channel.WINDOW else MaterialOrigin.APPLICANT
                )
            )
            provenance = (
                {"kind": str(origin), "source_code": m.source_code, "imported": True} if fetched else {}
            )
            material_rows.append(
                (
                    case.pk,
                    m.pk,
                    MaterialStatus.PROVIDED,
                    origin,
                    "",
                    ARCHIVED if not fetched else m.name[:200],
                    "application/pdf",
                    ".pdf",
                    0,
                    "",
                    plan.submitted,
                    provenance,
                    providers.get(m.pk, "") if fetched else "",
                )
            )
    _stages(stage_plans, departments, events)
    _insert_events(events)
    _insert_materials(material_rows)
    result.cases = len(cases)
    result.events = len(events)
    result.materials = len(material_rows)


def _stages(
    stage_plans: list[tuple[Case, _Plan]], departments: dict[str, Department], events: list[tuple[Any, ...]]
) -> None:
    stage_rows: list[CaseStage] = []
    owners: list[tuple[Case, _Plan, int, list[Department]]] = []
    for case, plan in stage_plans:
        version = plan.item.current_version
        if version is None or plan.accepted is None:
            continue
        process = list(version.process)
        by_stage = _stage_departments(process, departments, plan.item.department)
        end = plan.decided or plan.accepted + timedelta(days=1)
        span = (end - plan.accepted) / max(len(process), 1)
        refused = plan.decision == Decision.REFUSED
        withdrawn = plan.status == CaseStatus.WITHDRAWN
        for index, spec in enumerate(process):
            started = plan.accepted + span * index
            finished = plan.accepted + span * (index + 1)
            if withdrawn:
                status = StageStatus.CANCELLED if index == 0 else StageStatus.PENDING
            elif index < plan.stages_done:
                status = StageStatus.REFUSED if refused and index == len(process) - 1 else StageStatus.DONE
            elif index == plan.stages_done and plan.status == CaseStatus.IN_REVIEW:
                status = StageStatus.ACTIVE
            else:
                status = StageStatus.PENDING
            active = status != StageStatus.PENDING
            stage_rows.append(
                CaseStage(
                    case=case,
                    index=index,
                    name=str(spec.get("name", "")),
                    days=int(spec.get("days") or 1),
                    status=status,
                    started_at=started if active else None,
                    due_at=deadline_after(started, int(spec.get("days") or 1)) if active else None,
                    finished_at=finished
                    if status in (StageStatus.DONE, StageStatus.REFUSED)
                    else (plan.completed if status == StageStatus.CANCELLED else None),
                )
            )
            owners.append((case, plan, index, by_stage[index]))
    CaseStage.objects.bulk_create(stage_rows, batch_size=500)
    tasks: list[CaseTask] = []
    for stage, (case, _plan_of, _index, stage_departments) in zip(stage_rows, owners, strict=True):
        if stage.status == StageStatus.PENDING or stage.started_at is None:
            continue
        task_status = {
            StageStatus.DONE: TaskStatus.APPROVED,
            StageStatus.REFUSED: TaskStatus.REFUSED,
            StageStatus.ACTIVE: TaskStatus.OPEN,
            StageStatus.CANCELLED: TaskStatus.CANCELLED,
        }[StageStatus(stage.status)]
        for department in stage_departments:
            tasks.append(
                CaseTask(
                    stage=stage,
                    case=case,
                    department=department,
                    status=task_status,
                    due_at=stage.due_at,
                    opinion="同意。"
                    if task_status == TaskStatus.APPROVED
                    else ("不符合条件。" if task_status == TaskStatus.REFUSED else ""),
                    decided_at=stage.finished_at
                    if task_status in (TaskStatus.APPROVED, TaskStatus.REFUSED)
                    else None,
                )
            )
        events.append(
            (case.pk, EventKind.STAGE_STARTED, stage.started_at, stage_departments[0].pk, None, stage.name)
        )
        if stage.status in (StageStatus.DONE, StageStatus.REFUSED) and stage.finished_at is not None:
            for department in stage_departments:
                events.append(
                    (
                        case.pk,
                        EventKind.OPINION,
                        stage.finished_at - timedelta(minutes=5),
                        department.pk,
                        None,
                        "",
                    )
                )
            if stage.status == StageStatus.DONE:
                events.append(
                    (
                        case.pk,
                        EventKind.STAGE_DONE,
                        stage.finished_at,
                        stage_departments[0].pk,
                        None,
                        stage.name,
                    )
                )
    CaseTask.objects.bulk_create(tasks, batch_size=500)


def _insert_events(rows: list[tuple[Any, ...]]) -> None:
    # Inserted with their own time (``at`` is stamped by the database layer on a model save).
    table = connection.ops.quote_name(CaseEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (case_id, kind, at, department_id, actor_id, note) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [(c, str(k), connection.ops.adapt_datetimefield_value(a), d, u, n) for c, k, a, d, u, n in rows],
        )


def _insert_materials(rows: list[tuple[Any, ...]]) -> None:
    table = connection.ops.quote_name(CaseMaterial._meta.db_table)
    columns = (
        "case_id, material_id, status, origin, file, original_name, content_type, extension, size, sha256, "
        "uploaded_at, provenance, provider"
    )
    json_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 11)}, {json_param}, %s)",  # noqa: S608
            [
                (
                    *r[:10],
                    connection.ops.adapt_datetimefield_value(r[10]),
                    json.dumps(r[11], ensure_ascii=False),
                    r[12],
                )
                for r in rows
            ],
        )

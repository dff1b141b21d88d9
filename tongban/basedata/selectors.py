"""Reads of the base databases, each scoped to what the asking user may see (see permissions.py).

A job, run or task outside the user's departments raises ``NotFound`` (404), never PermissionDenied,
so its existence is not revealed. Looking a record up by its key is a sensitive read: every look-up
is audited, found or not, with the key masked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.basedata import codes, permissions
from tongban.basedata.choices import Dataset, JobStatus, QualityTaskStatus
from tongban.basedata.models import (
    DataQualityTask,
    Division,
    ImportJob,
    IndicatorSeries,
    IndicatorValue,
    LegalEntity,
    Person,
    ReconciliationRun,
    StandardAddress,
)
from tongban.core import audit
from tongban.core.errors import NotFound, ValidationFailed
from tongban.core.masking import mask_name, mask_resident_id
from tongban.core.models import AuditOutcome
from tongban.identity.models import Department, User

# A running job that has not reported progress for this long has most likely been killed.
STALLED_AFTER = dt.timedelta(minutes=10)

_JOB_NOT_FOUND = _("No such import job, or it belongs to another department.")
_RUN_NOT_FOUND = _("No such reconciliation run, or it belongs to another department.")
_TASK_NOT_FOUND = _("No such data-quality task, or it is not your department's.")


# --- divisions -------------------------------------------------------------------------------


def division_codes() -> frozenset[str]:
    """Every code of the division table, read once per call (a job calls it once when it starts)."""
    return frozenset(Division.objects.values_list("code", flat=True))


def division_full_names() -> dict[str, str]:
    """code -> the names from the province down, e.g. 341502001 -> 安徽省六安市金安区中市街道."""
    rows = {
        code: (name, parent) for code, name, parent in Division.objects.values_list("code", "name", "parent")
    }
    names: dict[str, str] = {}

    def full(code: str) -> str:
        if code in names:
            return names[code]
        name, parent = rows[code]
        names[code] = (full(parent) if parent in rows else "") + name
        return names[code]

    for code in rows:
        full(code)
    return names


def division_children(code: str | None) -> tuple[Division | None, list[Division]]:
    """A division (None: the top) and the divisions directly under it, with how many each has under it."""
    division = Division.objects.filter(code=code).select_related("parent").first() if code else None
    if code and division is None:
        raise NotFound(_("No division has this code."), code="division_not_found")
    children = (
        Division.objects.filter(parent=division) if division else Division.objects.filter(parent__isnull=True)
    )
    return division, list(children.annotate(child_count=Count("children")).order_by("code"))


def division_path(division: Division) -> list[Division]:
    path = [division]
    while path[0].parent_id is not None and len(path) < 6:
        parent = path[0].parent
        if parent is None:
            break
        path.insert(0, parent)
    return path


# --- overview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetCount:
    dataset: str
    label: Promise | str
    records: int


def dataset_counts() -> list[DatasetCount]:
    return [
        DatasetCount(Dataset.POPULATION, Dataset.POPULATION.label, Person.objects.count()),
        DatasetCount(Dataset.LEGAL_ENTITY, Dataset.LEGAL_ENTITY.label, LegalEntity.objects.count()),
        DatasetCount(Dataset.ADDRESS, Dataset.ADDRESS.label, StandardAddress.objects.count()),
        DatasetCount(Dataset.INDICATOR, Dataset.INDICATOR.label, IndicatorValue.objects.count()),
        DatasetCount("division", _("Administrative divisions"), Division.objects.count()),
    ]


def departments_for_upload(user: User) -> QuerySet[Department]:
    return Department.objects.filter(permissions.departments_acted_for(user), is_active=True).order_by(
        "sort_order", "name"
    )


# --- import jobs -----------------------------------------------------------------------------


def import_jobs_for(user: User, *, dataset: str = "", status: str = "") -> QuerySet[ImportJob]:
    jobs = ImportJob.objects.filter(permissions.department_scope(user, "source_department")).select_related(
        "source_department", "created_by"
    )
    if dataset:
        jobs = jobs.filter(dataset=dataset)
    if status:
        jobs = jobs.filter(status=status)
    return jobs.order_by("-created_at", "-pk")


def import_job_for(user: User, *, job_id: int) -> ImportJob:
    job = import_jobs_for(user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_JOB_NOT_FOUND, code="import_job_not_found")
    return job


def is_stalled(job: ImportJob | ReconciliationRun, *, now: dt.datetime | None = None) -> bool:
    """Running, but no progress for ``STALLED_AFTER``: its worker was most likely stopped."""
    if job.status not in (JobStatus.RUNNING, JobStatus.MERGING):
        return False
    last = job.heartbeat_at or job.started_at
    return last is not None and (now or timezone.now()) - last > STALLED_AFTER


def same_file_jobs(job: ImportJob) -> QuerySet[ImportJob]:
    """Earlier jobs of the same department that read the very same file (by SHA-256)."""
    return ImportJob.objects.filter(
        sha256=job.sha256, dataset=job.dataset, source_department_id=job.source_department_id, pk__lt=job.pk
    ).order_by("-pk")


def job_progress(job: ImportJob | ReconciliationRun) -> dict[str, Any]:
    """What the job page's script polls: status, rows read of how many, and the counts so far."""
    total = job.total_rows or 0
    done = job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
    percent = (
        100
        if job.status == JobStatus.SUCCEEDED
        else (min(99, job.processed_rows * 100 // total) if total else 0)
    )
    body: dict[str, Any] = {
        "id": job.pk,
        "status": job.status,
        "status_label": str(JobStatus(job.status).label),
        "processed_rows": job.processed_rows,
        "total_rows": job.total_rows,
        "percent": percent,
        "error_count": job.error_count,
        "finished": done,
        "stalled": is_stalled(job),
    }
    if isinstance(job, ImportJob):
        body.update(inserted=job.inserted, updated=job.updated, unchanged=job.unchanged)
    else:
        body.update(
            matched=job.matched,
            mismatched=job.mismatched,
            missing=job.missing,
            tasks_created=job.tasks_created,
        )
    return body


# --- reconciliation --------------------------------------------------------------------------


def reconciliation_runs_for(user: User) -> QuerySet[ReconciliationRun]:
    """The runs of the user's departments, and those that opened tasks for them (to see where a task
    comes from; the run's file and report stay with its own department)."""
    assigned = DataQualityTask.objects.filter(
        permissions.department_scope(user, "assigned_department")
    ).values("run_id")
    return (
        ReconciliationRun.objects.filter(
            Q(permissions.department_scope(user, "source_department")) | Q(pk__in=assigned)
        )
        .select_related("source_department", "created_by")
        .order_by("-created_at", "-pk")
    )


def run_report_for(user: User, *, run_id: int) -> ReconciliationRun:
    """A run whose error report the user may download: one of their own departments' runs only."""
    run = (
        ReconciliationRun.objects.filter(permissions.department_scope(user, "source_department"), pk=run_id)
        .select_related("source_department")
        .first()
    )
    if run is None:
        raise NotFound(_RUN_NOT_FOUND, code="reconciliation_run_not_found")
    return run


def reconciliation_run_for(user: User, *, run_id: int) -> ReconciliationRun:
    run = reconciliation_runs_for(user).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_RUN_NOT_FOUND, code="reconciliation_run_not_found")
    return run


def quality_tasks_for(user: User, *, view: str = "assigned", status: str = "") -> QuerySet[DataQualityTask]:
    """``view`` "assigned": the tasks the user's departments must work; "raised": those their runs opened."""
    field = "run__source_department" if view == "raised" else "assigned_department"
    tasks = DataQualityTask.objects.filter(permissions.department_scope(user, field)).select_related(
        "assigned_department", "run__source_department", "resolved_by"
    )
    if status:
        tasks = tasks.filter(status=status)
    return tasks.order_by("status", "due_on", "pk") if status == QualityTaskStatus.OPEN else tasks


def open_task_count(user: User) -> int:
    return quality_tasks_for(user, status=QualityTaskStatus.OPEN).count()


def quality_task_for(user: User, *, task_id: int) -> DataQualityTask:
    """A task the user's departments must work or raised. Opening it is a sensitive read (audited)."""
    scope = permissions.department_scope(user, "assigned_department") | permissions.department_scope(
        user, "run__source_department"
    )
    task = (
        DataQualityTask.objects.filter(scope, pk=task_id)
        .select_related("assigned_department", "run__source_department", "resolved_by")
        .first()
    )
    if task is None:
        raise NotFound(_TASK_NOT_FOUND, code="quality_task_not_found")
    audit.record(
        action="basedata.task_view", actor=user, subject=task, summary=f"{task.dataset} {task.field}"
    )
    return task


def tasks_of_run(user: User, run: ReconciliationRun) -> QuerySet[DataQualityTask]:
    """All the run's tasks for its own department; for a responsible department, only its own tasks."""
    tasks = run.tasks.select_related("assigned_department").order_by("pk")
    if permissions.acts_for(user, run.source_department):
        return tasks
    return tasks.filter(permissions.department_scope(user, "assigned_department"))


# --- look-up by key --------------------------------------------------------------------------

LOOKUP_DATASETS = (Dataset.POPULATION, Dataset.LEGAL_ENTITY, Dataset.ADDRESS)


@dataclass(frozen=True)
class RecordView:
    """One base record as the look-up page shows it: (label, value) pairs, masked where needed."""

    dataset: str
    key: str
    title: str
    rows: list[tuple[Any, Any]]
    masked: bool
    source_department: Department | None
    updated_at: dt.datetime | None
    open_tasks: int


def _display(model: Any, field: str, value: Any) -> Any:
    if value in (None, ""):
        return "—"
    if field == "ethnicity":
        return f"{value} {codes.ETHNICITY_NAMES.get(value, '')}".strip()
    if field == "division_code":
        name = Division.objects.filter(code=value).values_list("name", flat=True).first()
        return f"{value} {name or ''}".strip()
    choices = dict(model._meta.get_field(field).choices or [])
    return choices.get(value, value)


def _mask_address(value: str) -> str:
    return value[:9] + "*" * max(0, len(value) - 9) if value else ""


def record_lookup(user: User, *, dataset: str, key: str) -> RecordView:
    """One record by its national key. Audited whether found or not; masked unless the user acts for
    the record's source department (personal data only: names, IDs and addresses of people)."""
    permissions.ensure_data_staff(user)
    if dataset not in LOOKUP_DATASETS:
        raise ValidationFailed(_("Unknown dataset."), code="dataset_unknown")
    key = (key or "").strip().upper() if dataset != Dataset.ADDRESS else (key or "").strip()
    if not key or len(key) > 32:
        message = _("Enter the record's key.")
        raise ValidationFailed(message, code="key_required", fields={"key": [message]})
    shown_key = mask_resident_id(key) if dataset == Dataset.POPULATION else key
    models_by_dataset: dict[str, Any] = {
        Dataset.POPULATION: Person,
        Dataset.LEGAL_ENTITY: LegalEntity,
        Dataset.ADDRESS: StandardAddress,
    }
    model = models_by_dataset[dataset]
    record = (
        model.objects.filter(pk=key)
        .select_related(*(["source_department"] if dataset != Dataset.ADDRESS else []))
        .first()
    )
    if record is None:
        audit.record(
            action="basedata.record_view",
            actor=user,
            outcome=AuditOutcome.FAILURE,
            summary=f"{dataset} {shown_key} not found",
            data={"dataset": dataset, "key": shown_key},
        )
        raise NotFound(_("The base has no record with this key."), code="record_not_found")
    source = getattr(record, "source_department", None)
    full = dataset == Dataset.ADDRESS or permissions.acts_for(user, source)
    rows: list[tuple[Any, Any]] = []
    for f in model._meta.concrete_fields:
        if f.name in ("updated_at", "source_department", "source_updated_at") or f.primary_key:
            continue
        value = getattr(record, f.name)
        shown = _display(model, f.name, value)
        if not full and isinstance(value, str) and value:
            if (f.name == "name" and dataset == Dataset.POPULATION) or f.name == "legal_representative_name":
                shown = mask_name(value)
            elif f.name == "legal_representative_id":
                shown = mask_resident_id(value)
            elif f.name == "household_address":
                shown = _mask_address(value)
        rows.append((f.verbose_name, shown))
    if hasattr(record, "source_updated_at"):
        rows.append((_("updated at the source"), record.source_updated_at or "—"))
    open_tasks = DataQualityTask.objects.filter(
        dataset=dataset, record_key=key, status=QualityTaskStatus.OPEN
    ).count()
    audit.record(
        action="basedata.record_view",
        actor=user,
        summary=f"{dataset} {shown_key}" + ("" if full else " (masked)"),
        data={"dataset": dataset, "key": shown_key, "masked": not full},
    )
    title = (
        mask_name(record.name)
        if dataset == Dataset.POPULATION and not full
        else str(getattr(record, "name", key))
    )
    if dataset == Dataset.ADDRESS:
        title = record.full_address
    return RecordView(
        dataset=dataset,
        key=key,
        title=title,
        rows=rows,
        masked=not full,
        source_department=source,
        updated_at=record.updated_at,
        open_tasks=open_tasks,
    )


# --- indicators ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorTable:
    series: IndicatorSeries
    periods: list[str]
    rows: list[tuple[str, str, list[Any]]]  # division code, name, the value of each period (None: none)


def indicator_tables(*, last_periods: int = 8) -> list[IndicatorTable]:
    """Each series with its latest periods as columns and its divisions as rows (a small base: read whole)."""
    tables: list[IndicatorTable] = []
    names = dict(Division.objects.values_list("code", "name"))
    for series in IndicatorSeries.objects.select_related("department").order_by("code"):
        values = list(
            series.values.order_by("period", "division_code").values_list("period", "division_code", "value")
        )
        periods = sorted({p for p, _, _ in values})[-last_periods:]
        grid: dict[str, dict[str, Any]] = {}
        for period, division_code, value in values:
            if period in periods:
                grid.setdefault(division_code, {})[period] = format(value.normalize(), "f")
        rows = [(code, names.get(code, ""), [grid[code].get(p) for p in periods]) for code in sorted(grid)]
        tables.append(IndicatorTable(series=series, periods=periods, rows=rows))
    return tables

"""比对核准: another source's records compared with a base, field by field, and the tasks that follow.

A data officer uploads their department's records of a dataset (e.g. 民政局's marriage records:
公民身份号码 and 婚姻状况) and chooses the fields to compare. The background job reads the file with
the import checks (so 已婚 and 20 are the same value), looks the keys up in the base in chunks and
counts records that agree, differ or are missing from the base. Each differing field becomes a
``DataQualityTask`` for the department responsible for the base record (its source department),
due in ``TONGBAN_DATA_QUALITY_DAYS`` working days; a difference that already has an open task adds
none (a partial unique constraint). A blank cell in the other source is not compared.

Marital status is compared by its GB/T 2261.2 class: 20 已婚 agrees with 21 初婚, 22 再婚, 23 复婚.
Free text (names, addresses) is compared without its spaces.

The responsible department's data officers close each task: "base corrected" writes the other
source's value into the base record (audited), "the other source is wrong" and "dismissed" need a note.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.basedata import permissions, selectors
from tongban.basedata.choices import JobStatus, QualityTaskStatus, TaskOutcome
from tongban.basedata.datasets import RECONCILABLE, ColumnMap, DatasetSpec, RowProblems, map_header, spec_for
from tongban.basedata.files import TableReader, refused, sniff
from tongban.basedata.models import DataQualityTask, ReconciliationRun
from tongban.basedata.reports import ErrorReport, mask_value
from tongban.basedata.services.imports import (
    clean_original_name,
    inspect_upload,
    job_context,
    raw_handle,
    stored_name,
    unless_in_transaction,
)
from tongban.core import audit, jobs
from tongban.core.calendar import deadline_after
from tongban.core.errors import Conflict, NotFound, ValidationFailed
from tongban.core.models import AuditOutcome
from tongban.identity.models import Department, User

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000
Progress = Callable[[int, int | None], None]
_FREE_TEXT = frozenset(
    {"name", "household_address", "address", "registration_authority", "legal_representative_name"}
)


def as_text(value: Any) -> str:
    """A base value in the form the file checks give (dates ISO, decimals without trailing zeros)."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def same(field: str, base: str, other: str) -> bool:
    if field == "marital_status":
        return base[:1] == other[:1]
    if field in _FREE_TEXT:
        return "".join(base.split()) == "".join(other.split())
    return base == other


def due_date(now: dt.datetime | None = None) -> dt.date:
    return deadline_after(now or timezone.now(), int(settings.TONGBAN_DATA_QUALITY_DAYS)).date()


def _clean_fields(spec: DatasetSpec, fields: Sequence[str]) -> list[str]:
    chosen = [f for f in spec.reconcilable if f in set(fields)]
    if not chosen or len(chosen) != len(set(fields)):
        message = _("Choose one or more of the fields this base can compare.")
        raise ValidationFailed(message, code="fields_invalid", fields={"fields": [message]})
    return chosen


@transaction.atomic
def reconciliation_create(
    *,
    dataset: str,
    fields: Sequence[str],
    upload: Any,
    department: Department,
    by: User | None,
    original_name: str = "",
    enqueue: bool = True,
) -> ReconciliationRun:
    """Check and store another source's file for ``department`` and queue its comparison."""
    if by is not None:
        permissions.ensure_acts_for(by, department)
    if dataset not in RECONCILABLE:
        message = _("Only the population and legal-entity bases can be reconciled.")
        raise ValidationFailed(message, code="dataset_not_reconcilable", fields={"dataset": [message]})
    spec = spec_for(dataset)
    chosen = _clean_fields(spec, fields)
    handle = raw_handle(upload)
    size = getattr(upload, "size", None)
    if size is None:
        handle.seek(0, 2)
        size = handle.tell()
    sniffed, _columns, rows = inspect_upload(spec=spec, handle=handle, size=int(size), wanted=chosen)
    name = clean_original_name(original_name or getattr(upload, "name", ""))
    run = ReconciliationRun(
        dataset=spec.dataset,
        fields=chosen,
        source_department=department,
        original_name=name,
        created_by=by,
        total_rows=rows,
        file_format=sniffed.format,
        encoding=sniffed.encoding,
    )
    run.file.save(stored_name(name, sniffed), File(handle), save=False)
    run.save()
    audit.record(
        action="basedata.reconcile_create",
        actor=by,
        subject=run,
        summary=f"{spec.dataset} {','.join(chosen)}",
        data={
            "dataset": spec.dataset,
            "fields": chosen,
            "file": name,
            "rows": rows,
            "department": department.code,
        },
    )
    if enqueue:
        jobs.enqueue("tongban.basedata.tasks.reconciliation_run", run.pk, group="basedata")
    return run


def _fail(run: ReconciliationRun, *, code: str, message: str) -> ReconciliationRun:
    with transaction.atomic():
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), message=message[:2000]
        )
        audit.record(
            action="basedata.reconcile_fail",
            actor=run.created_by,
            subject=run,
            outcome=AuditOutcome.FAILURE,
            summary=code,
        )
    run.refresh_from_db()
    return run


class _Comparison:
    """The counts of one run and the differences it found, chunk by chunk."""

    def __init__(self, run: ReconciliationRun, spec: DatasetSpec) -> None:
        self.run = run
        self.spec = spec
        self.fields = list(run.fields)
        self.matched = self.mismatched = self.missing = 0
        self.differences: list[tuple[str, str, str, str, int]] = []  # key, field, base, other, department
        self._pending: list[tuple[str, dict[str, str]]] = []

    def add(self, key: str, values: dict[str, str]) -> None:
        self._pending.append((key, values))

    def compare_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        model: Any = self.spec.model
        key_field = self.spec.key[0]
        base = {
            row[key_field]: row
            for row in model.objects.filter(pk__in=[k for k, _ in pending]).values(
                key_field, "source_department_id", *self.fields
            )
        }
        for key, values in pending:
            record = base.get(key)
            if record is None:
                self.missing += 1
                continue
            department = record["source_department_id"] or self.run.source_department_id
            differs = False
            for name, other in values.items():
                current = as_text(record[name])
                if not same(name, current, other):
                    differs = True
                    self.differences.append((key, name, current, other, department))
            if differs:
                self.mismatched += 1
            else:
                self.matched += 1


def reconciliation_run(
    *, run_id: int, progress: Progress | None = None, chunk_rows: int = CHUNK_ROWS
) -> ReconciliationRun:
    started = timezone.now()
    claimed = ReconciliationRun.objects.filter(pk=run_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=started, heartbeat_at=started, processed_rows=0
    )
    run = ReconciliationRun.objects.select_related("source_department", "created_by").get(pk=run_id)
    if not claimed:
        return run
    spec = spec_for(run.dataset)
    report: ErrorReport | None = None
    try:
        with unless_in_transaction():
            comparison = _Comparison(run, spec)
            with run.file.open("rb") as stored:
                handle = raw_handle(stored)
                reader = TableReader(handle, sniff(handle))
                try:
                    columns = map_header(spec, reader.header, wanted=run.fields)
                    report = ErrorReport(spec, columns)
                    read = _compare_rows(run, spec, reader, columns, comparison, report, progress, chunk_rows)
                finally:
                    reader.close()
            if report.rows:
                run.error_report.save(f"reconciliation-{run.pk}-errors.csv", report.file(), save=False)
            ReconciliationRun.objects.filter(pk=run.pk).update(
                status=JobStatus.MERGING,
                processed_rows=read,
                total_rows=read,
                error_count=report.rows,
                error_report=run.error_report.name or "",
                heartbeat_at=timezone.now(),
            )
        with transaction.atomic():
            due = due_date()
            DataQualityTask.objects.bulk_create(
                [
                    DataQualityTask(
                        run=run,
                        dataset=run.dataset,
                        record_key=key,
                        field=name,
                        base_value=base[:255],
                        source_value=other[:255],
                        assigned_department_id=department,
                        due_on=due,
                    )
                    for key, name, base, other, department in comparison.differences
                ],
                ignore_conflicts=True,
                batch_size=1000,
            )
            run.refresh_from_db()
            run.status = JobStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.compared = comparison.matched + comparison.mismatched + comparison.missing
            run.matched, run.mismatched, run.missing = (
                comparison.matched,
                comparison.mismatched,
                comparison.missing,
            )
            run.tasks_created = DataQualityTask.objects.filter(run=run).count()
            already = len(comparison.differences) - run.tasks_created
            run.message = (
                str(
                    _("%(count)s differences already had an open task and were not added again.")
                    % {"count": already}
                )
                if already
                else ""
            )
            run.save()
            audit.record(
                action="basedata.reconcile_finish",
                actor=run.created_by,
                subject=run,
                summary=f"{run.dataset}: {run.matched} agree, {run.mismatched} differ, {run.missing} missing",
                data={
                    "compared": run.compared,
                    "matched": run.matched,
                    "mismatched": run.mismatched,
                    "missing": run.missing,
                    "tasks": run.tasks_created,
                    "refused": run.error_count,
                },
            )
        return run
    except ValidationFailed as exc:
        return _fail(run, code=exc.code, message=str(exc.message))
    except BaseException as exc:
        logger.exception("reconciliation run %s failed", run.pk)
        message = _("The comparison stopped because of an internal error (%(error)s).")
        _fail(run, code="reconcile_crashed", message=str(message % {"error": type(exc).__name__}))
        raise
    finally:
        if report is not None:
            report.close()


def _compare_rows(
    run: ReconciliationRun,
    spec: DatasetSpec,
    reader: TableReader,
    columns: ColumnMap,
    comparison: _Comparison,
    report: ErrorReport,
    progress: Progress | None,
    chunk_rows: int,
) -> int:
    ctx = job_context(spec, run.source_department_id)
    clean = spec.build(columns, ctx)
    positions = [(name, columns.index(name), spec.staging.index(name)) for name in run.fields]
    key_field = spec.key[0]
    seen: set[str] = set()
    limit = int(settings.TONGBAN_IMPORT_MAX_ROWS)
    read = 0
    for number, cells in reader.rows():
        read += 1
        if read > limit:
            raise refused(
                "too_many_rows",
                _("The file has more than %(limit)s rows; split it.") % {"limit": f"{limit:,}"},
            )
        try:
            row = clean(cells)
        except RowProblems as problems:
            report.add(number, problems.errors, cells)
            continue
        key = row[0]
        if key in seen:
            report.add(number, [(key_field, "duplicate_key")], cells)
            continue
        seen.add(key)
        values = {name: as_text(row[at]) for name, index, at in positions if cells[index].strip()}
        comparison.add(key, values)
        if read % chunk_rows == 0:
            comparison.compare_pending()
            ReconciliationRun.objects.filter(pk=run.pk).update(
                processed_rows=read, error_count=report.rows, heartbeat_at=timezone.now()
            )
            if progress is not None:
                progress(read, run.total_rows)
    if read == 0:
        raise refused("no_rows", _("The file has a header but no rows."))
    comparison.compare_pending()
    return read


# --- working the tasks -----------------------------------------------------------------------


def _stored_value(field: models.Field, text: str) -> Any:
    if isinstance(field, models.DateField):
        return dt.date.fromisoformat(text) if text else None
    if isinstance(field, models.DecimalField):
        return Decimal(text) if text else None
    return text


def _masked(spec: DatasetSpec, name: str, value: str) -> str:
    sensitive = next((c.sensitive for c in spec.columns if c.field == name), "")
    return mask_value(value, sensitive) if sensitive else value


def _correct_base(task: DataQualityTask, by: User) -> None:
    spec = spec_for(task.dataset)
    model: Any = spec.model
    field = model._meta.get_field(task.field)
    if task.field == "division_code" and task.source_value not in selectors.division_codes():
        message = _("The other source's division code is not in the division table; it cannot be written.")
        raise ValidationFailed(message, code="division_unknown")
    record = model.objects.select_for_update().filter(pk=task.record_key).first()
    if record is None:
        raise NotFound(_("The base has no record with this key any more."), code="record_not_found")
    setattr(record, task.field, _stored_value(field, task.source_value))
    record.updated_at = timezone.now()
    record.save(update_fields=[task.field, "updated_at"])
    audit.record(
        action="basedata.record_correct",
        actor=by,
        subject=record,
        summary=f"{task.dataset} {task.field}",
        data={
            "task": task.pk,
            "field": task.field,
            "from": _masked(spec, task.field, task.base_value),
            "to": _masked(spec, task.field, task.source_value),
        },
    )


@transaction.atomic
def quality_task_resolve(*, task: DataQualityTask, outcome: str, note: str, by: User) -> DataQualityTask:
    """Close an open task: correct the base, say the other source is wrong, or dismiss (with a note)."""
    permissions.ensure_acts_for(by, task.assigned_department, code="not_assigned_department")
    try:
        outcome = TaskOutcome(outcome)
    except ValueError:
        message = _("Choose how the difference was resolved.")
        raise ValidationFailed(message, code="outcome_invalid", fields={"outcome": [message]}) from None
    note = (note or "").strip()
    if len(note) > 2000:
        message = _("The note is longer than 2,000 characters.")
        raise ValidationFailed(message, code="note_too_long", fields={"note": [message]})
    if outcome != TaskOutcome.BASE_CORRECTED and not note:
        message = _("Say why: a note is required unless the base is corrected.")
        raise ValidationFailed(message, code="note_required", fields={"note": [message]})
    locked = DataQualityTask.objects.select_for_update().select_related("assigned_department").get(pk=task.pk)
    if locked.status != QualityTaskStatus.OPEN:
        raise Conflict(_("This task has already been closed."), code="task_not_open")
    if outcome == TaskOutcome.BASE_CORRECTED:
        _correct_base(locked, by)
    locked.status = QualityTaskStatus(outcome.value)
    locked.resolution = note
    locked.resolved_by = by
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])
    audit.record(
        action="basedata.task_resolve",
        actor=by,
        subject=locked,
        summary=f"{locked.dataset} {locked.field}: {outcome.value}",
        data={"outcome": outcome.value, "field": locked.field},
    )
    return locked


def run_report_opened(*, run: ReconciliationRun, by: User) -> None:
    audit.record(action="basedata.report_download", actor=by, subject=run, summary=run.original_name[:200])

"""Import jobs: a file of one dataset loaded into the base, as a background job (docs/adr/0015).

``import_job_create`` checks the upload (size, format, encoding, header, row count), stores it under a
name of its own and queues ``tasks.import_run``; ``import_job_run`` does the work, in two phases:

1. **read and check** every row (``datasets``), write the good ones into the job's staging table
   and each problem into the error report; after every chunk the rows read so far are committed to
   ``ImportJob.processed_rows`` (the progress other connections see), outside any transaction of
   the base;
2. **merge** the staged rows into the base with one upsert inside one transaction, together with the
   job's counts and its audit row: the base changes all at once or not at all.

A job runs at most once: it starts only from "queued". A problem with the file as a whole (missing
columns, wrong encoding, too many rows) fails the job with its reason; problems of single rows
never do: the good rows are imported and the bad ones reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.basedata import divisions, permissions, selectors
from tongban.basedata import validators as v
from tongban.basedata.bulk import Stage
from tongban.basedata.choices import Dataset, FileFormat, JobStatus
from tongban.basedata.datasets import (
    ColumnMap,
    Context,
    DatasetSpec,
    RowProblems,
    SeriesInfo,
    map_header,
    spec_for,
)
from tongban.basedata.files import Sniffed, TableReader, count_rows, refused, sniff
from tongban.basedata.models import ImportJob, IndicatorSeries
from tongban.basedata.reports import ErrorReport
from tongban.core import audit, jobs
from tongban.core.errors import ValidationFailed
from tongban.core.models import AuditOutcome
from tongban.identity.models import Department, User

logger = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
Progress = Callable[[int, int | None], None]


def _max_rows() -> int:
    return int(settings.TONGBAN_IMPORT_MAX_ROWS)


def _max_bytes() -> int:
    return int(settings.TONGBAN_IMPORT_MAX_BYTES)


def raw_handle(upload: Any) -> IO[bytes]:
    """The binary file object behind an upload or a stored file (what the readers take)."""
    inner = getattr(upload, "file", None)
    while inner is not None and hasattr(inner, "file") and not hasattr(inner, "readinto"):
        inner = inner.file
    return inner if inner is not None and hasattr(inner, "read") else upload


@contextlib.contextmanager
def unless_in_transaction() -> Iterator[None]:
    """Inside an outer transaction (tests, the demo loader) a savepoint, so a failed phase can be
    recorded; otherwise nothing: each statement of the staging load commits on its own."""
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
    else:
        yield


def inspect_upload(
    *, spec: DatasetSpec, handle: IO[bytes], size: int, wanted: list[str] | None = None
) -> tuple[Sniffed, ColumnMap, int | None]:
    """Refuse a file the job could not read at all: too large, empty, not CSV or XLSX, undecodable,
    missing a required column, too many rows. Returns its format, its columns and the row estimate."""
    if size <= 0:
        raise refused("file_empty", _("The file is empty."))
    if size > _max_bytes():
        raise refused(
            "file_too_large",
            _("The file is larger than %(limit)s MB.") % {"limit": max(1, _max_bytes() // (1024 * 1024))},
        )
    sniffed = sniff(handle)
    reader = TableReader(handle, sniffed)
    try:
        columns = map_header(spec, reader.header, wanted=wanted)
    finally:
        reader.close()
    rows = count_rows(handle, sniffed)
    if rows is not None and rows > _max_rows():
        raise refused(
            "too_many_rows",
            _("The file has more than %(limit)s rows; split it.") % {"limit": f"{_max_rows():,}"},
        )
    handle.seek(0)
    return sniffed, columns, rows


def sha256_of(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    while chunk := handle.read(1024 * 1024):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def stored_name(original_name: str, sniffed: Sniffed) -> str:
    """A name of our own for the stored file (never the uploader's), keeping only the extension."""
    return f"{uuid.uuid4().hex}.{'xlsx' if sniffed.format == FileFormat.XLSX else 'csv'}"


def clean_original_name(name: str) -> str:
    return PurePath(name or "upload").name[:255] or "upload"


@transaction.atomic
def import_job_create(
    *,
    dataset: str,
    upload: Any,
    department: Department,
    by: User | None,
    original_name: str = "",
    enqueue: bool = True,
) -> ImportJob:
    """Check and store an upload for ``department`` and queue its import. ``by`` None: a system import
    (the command line); otherwise a data officer of the department or an administrator over it."""
    if by is not None:
        permissions.ensure_acts_for(by, department)
    spec = spec_for(dataset)
    handle = raw_handle(upload)
    size = getattr(upload, "size", None)
    if size is None:
        handle.seek(0, 2)
        size = handle.tell()
    sniffed, columns, rows = inspect_upload(spec=spec, handle=handle, size=int(size))
    name = clean_original_name(original_name or getattr(upload, "name", ""))
    job = ImportJob(
        dataset=spec.dataset,
        original_name=name,
        sha256=sha256_of(handle),
        source_department=department,
        created_by=by,
        total_rows=rows,
        file_format=sniffed.format,
        encoding=sniffed.encoding,
        columns=columns.fields,
    )
    job.file.save(stored_name(name, sniffed), File(handle), save=False)
    job.save()
    audit.record(
        action="basedata.import_create",
        actor=by,
        subject=job,
        summary=f"{spec.dataset} {name}",
        data={
            "dataset": spec.dataset,
            "file": name,
            "sha256": job.sha256,
            "rows": rows,
            "department": department.code,
        },
    )
    if enqueue:
        jobs.enqueue("tongban.basedata.tasks.import_run", job.pk, group="basedata")
    return job


def job_context(spec: DatasetSpec, department_id: int | None) -> Context:
    """The code tables one job checks its rows against, read once when it starts."""
    known = selectors.division_codes()
    ctx = Context(
        regions=divisions.region_codes() | frozenset(c for c in known if len(c) == 6),
        divisions=known,
        dates=v.date_table(),
        department_id=department_id,
    )
    if spec.dataset == Dataset.ADDRESS:
        ctx.division_names = selectors.division_full_names()
    if spec.dataset == Dataset.INDICATOR:
        ctx.series = {
            s.code: SeriesInfo(s.pk, s.department_id, s.name, s.unit, s.frequency)
            for s in IndicatorSeries.objects.all()
        }
    return ctx


def _report_progress(job: ImportJob, read: int, errors: int, progress: Progress | None) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        processed_rows=read, error_count=errors, heartbeat_at=timezone.now()
    )
    if progress is not None:
        progress(read, job.total_rows)


def _fail(job: ImportJob, *, code: str, message: str) -> ImportJob:
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), message=message[:2000]
        )
        audit.record(
            action="basedata.import_fail",
            actor=job.created_by,
            subject=job,
            outcome=AuditOutcome.FAILURE,
            summary=code,
            data={"code": code},
        )
    job.refresh_from_db()
    return job


def _create_series(ctx: Context, department: Department) -> None:
    for code, info in ctx.new_series.items():
        IndicatorSeries.objects.get_or_create(
            code=code,
            defaults={
                "name": info.name,
                "unit": info.unit,
                "frequency": info.frequency,
                "department": department,
            },
        )


def import_job_run(
    *, job_id: int, progress: Progress | None = None, chunk_rows: int = CHUNK_ROWS
) -> ImportJob:
    """Run a queued import job to its end (see the module docstring). Returns the job as it ended."""
    started = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=started, heartbeat_at=started, processed_rows=0
    )
    job = ImportJob.objects.select_related("source_department", "created_by").get(pk=job_id)
    if not claimed:
        return job  # already run, running or failed: a job runs once
    spec = spec_for(job.dataset)
    stage = Stage(spec, tag=f"j{job.pk}")
    report: ErrorReport | None = None
    try:
        with unless_in_transaction():
            stage.create()
            ctx = job_context(spec, job.source_department_id)
            with job.file.open("rb") as stored:
                handle = raw_handle(stored)
                reader = TableReader(handle, sniff(handle))
                try:
                    columns = map_header(spec, reader.header)
                    report = ErrorReport(spec, columns)
                    read = _stage_rows(job, spec, reader, columns, ctx, stage, report, progress, chunk_rows)
                except BaseException:
                    stage.abort()  # before the savepoint rolls back: the connection is still in its COPY
                    raise
                finally:
                    reader.close()
            ignored = (
                str(
                    _("Columns not recognised and left out: %(columns)s")
                    % {"columns": "、".join(columns.ignored)}
                )
                if columns.ignored
                else ""
            )
            if report.rows:
                job.error_report.save(f"import-{job.pk}-errors.csv", report.file(), save=False)
            ImportJob.objects.filter(pk=job.pk).update(
                status=JobStatus.MERGING,
                processed_rows=read,
                total_rows=read,
                error_count=report.rows,
                error_report=job.error_report.name or "",
                heartbeat_at=timezone.now(),
            )
        if progress is not None:
            progress(read, read)
        with transaction.atomic():
            if ctx.new_series:
                _create_series(ctx, job.source_department)
            counts = stage.merge(
                department_id=job.source_department_id, now=timezone.now(), absent=spec.absent_fields(columns)
            )
            job.refresh_from_db()
            job.status = JobStatus.SUCCEEDED
            job.finished_at = timezone.now()
            job.inserted, job.updated, job.unchanged = counts.inserted, counts.updated, counts.unchanged
            job.message = ignored
            job.save(update_fields=["status", "finished_at", "inserted", "updated", "unchanged", "message"])
            audit.record(
                action="basedata.import_finish",
                actor=job.created_by,
                subject=job,
                summary=f"{spec.dataset}: {counts.inserted} new, {counts.updated} changed",
                data={
                    "dataset": spec.dataset,
                    "rows": read,
                    "inserted": counts.inserted,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                    "refused": job.error_count,
                },
            )
        return job
    except ValidationFailed as exc:
        _abandon(stage)
        return _fail(job, code=exc.code, message=str(exc.message))
    except BaseException as exc:
        logger.exception("import job %s failed", job.pk)
        _abandon(stage)
        message = _("The import stopped because of an internal error (%(error)s); the base was not changed.")
        _fail(job, code="import_crashed", message=str(message % {"error": type(exc).__name__}))
        raise
    finally:
        _abandon(stage)
        if report is not None:
            report.close()


def _abandon(stage: Stage) -> None:
    """Drop the staging table (ending an open COPY first) so the connection is free again."""
    with contextlib.suppress(Exception):
        stage.drop()


def _stage_rows(
    job: ImportJob,
    spec: DatasetSpec,
    reader: TableReader,
    columns: ColumnMap,
    ctx: Context,
    stage: Stage,
    report: ErrorReport,
    progress: Progress | None,
    chunk_rows: int,
) -> int:
    """Check every row of the file; the good ones go to the stage, the bad ones to the report."""
    clean = spec.build(columns, ctx)
    key_of = spec.key_function()
    key_field = spec.key[0]
    seen: set[Any] = set()
    limit = _max_rows()
    read = 0
    add = stage.add
    for number, cells in reader.rows():
        read += 1
        try:
            row = clean(cells)
        except RowProblems as problems:
            report.add(number, problems.errors, cells)
        else:
            key = key_of(row)
            if key in seen:
                report.add(number, [(key_field, "duplicate_key")], cells)
            else:
                seen.add(key)
                add(row)
        if read % chunk_rows == 0:
            if read > limit:
                raise refused(
                    "too_many_rows",
                    _("The file has more than %(limit)s rows; split it.") % {"limit": f"{limit:,}"},
                )
            stage.flush()
            _report_progress(job, read, report.rows, progress)
    if read > limit:
        raise refused(
            "too_many_rows", _("The file has more than %(limit)s rows; split it.") % {"limit": f"{limit:,}"}
        )
    if read == 0:
        raise refused("no_rows", _("The file has a header but no rows."))
    stage.flush()
    return read


@transaction.atomic
def import_job_abandon(*, job: ImportJob, by: User) -> ImportJob:
    """Mark a job whose worker stopped (no progress for a long time) as failed, so it can be rerun."""
    permissions.ensure_acts_for(by, job.source_department)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if not selectors.is_stalled(job):
        raise ValidationFailed(
            _("Only a job that has stopped making progress can be marked as failed."), code="job_not_stalled"
        )
    job.status = JobStatus.FAILED
    job.finished_at = timezone.now()
    job.message = str(_("Marked as failed: the job stopped making progress. The base was not changed."))
    job.save(update_fields=["status", "finished_at", "message"])
    audit.record(action="basedata.import_abandon", actor=by, subject=job, outcome=AuditOutcome.FAILURE)
    return job


def import_report_opened(*, job: ImportJob, by: User) -> None:
    """Record that a data officer downloaded a job's error report (masked data, but personal all the same)."""
    audit.record(action="basedata.report_download", actor=by, subject=job, summary=job.original_name[:200])

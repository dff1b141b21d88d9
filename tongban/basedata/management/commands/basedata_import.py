"""``manage.py basedata_import FILE --dataset population --department luan-gaj``: import a file.

Runs the same job as an upload on the web page, in the foreground with a progress bar on stderr
(or, with ``--background``, queues it for the workers and prints its number). Exits non-zero when the
job failed; rows that were refused do not fail it (see ``--report``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tongban.basedata import services
from tongban.basedata.choices import Dataset, JobStatus
from tongban.basedata.services.imports import CHUNK_ROWS
from tongban.core.errors import DomainError
from tongban.identity.models import Department, User


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file into a base database (population, legal entities, addresses, indicators)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The .csv or .xlsx file.")
        parser.add_argument(
            "--dataset", required=True, choices=Dataset.values, help="Which base the file is for."
        )
        parser.add_argument(
            "--department",
            required=True,
            help="Code of the source department (e.g. luan-gaj), who owns the job.",
        )
        parser.add_argument(
            "--as", dest="username", help="A data officer or administrator the import is made as."
        )
        parser.add_argument(
            "--background", action="store_true", help="Queue the job for the background workers and return."
        )
        parser.add_argument(
            "--report", type=Path, help="Where to copy the error report when rows were refused."
        )
        parser.add_argument(
            "--chunk-rows", type=int, default=CHUNK_ROWS, help="Rows between progress commits."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        department = Department.objects.filter(code=options["department"]).first()
        if department is None:
            raise CommandError(f"No department has the code {options['department']}.")
        by = None
        if options["username"]:
            by = User.objects.filter(username=options["username"], kind="staff").first()
            if by is None:
                raise CommandError(f"No staff account is named {options['username']}.")
        try:
            with path.open("rb") as handle:
                job = services.import_job_create(
                    dataset=options["dataset"],
                    upload=File(handle, name=path.name),
                    department=department,
                    by=by,
                    original_name=path.name,
                    enqueue=options["background"],
                )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        if options["background"]:
            self.stdout.write(f"import job {job.pk} queued ({job.total_rows or '?'} rows)")
            return
        bar = tqdm(
            total=job.total_rows or None,
            unit=" rows",
            unit_scale=True,
            desc=f"import {job.pk}",
            disable=options["no_progress"],
            file=self.stderr._out,
        )
        done = 0

        def progress(read: int, total: int | None) -> None:
            nonlocal done
            if total and bar.total != total:
                bar.total = total
            bar.update(read - done)
            done = read

        try:
            job = services.import_job_run(job_id=job.pk, progress=progress, chunk_rows=options["chunk_rows"])
        finally:
            bar.close()
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"import job {job.pk} failed: {job.message}")
        self.stdout.write(
            f"import job {job.pk}: {job.total_rows} rows, {job.inserted} added, {job.updated} changed, "
            f"{job.unchanged} unchanged, {job.error_count} refused"
        )
        if job.message:
            self.stdout.write(job.message)
        if job.error_count and job.error_report:
            if options["report"]:
                with job.error_report.open("rb") as source, options["report"].open("wb") as target:
                    shutil.copyfileobj(source, target)
                self.stdout.write(f"error report written to {options['report']}")
            else:
                self.stdout.write(f"error report: {job.error_report.name} (or use --report FILE)")

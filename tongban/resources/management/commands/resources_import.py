"""Read data resources from an Excel workbook (the ``resources_export`` layout), all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import DomainError
from tongban.identity.models import User
from tongban.resources import excel


class Command(BaseCommand):
    help = "Create draft data resources, or update existing ones, from an .xlsx workbook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The .xlsx file to read.")
        parser.add_argument(
            "--as",
            dest="username",
            required=True,
            help="The data officer the changes are made as (new drafts belong to their department).",
        )
        parser.add_argument("--report", type=Path, help="Where to write the error report if rows are bad.")

    def _progress(self, done: int, total: int) -> None:
        self.stdout.write(f"\r{done}/{total} resources", ending="")
        if done == total:
            self.stdout.write("")

    def handle(self, *args: Any, path: Path, username: str, report: Path | None, **options: Any) -> None:
        by = User.objects.filter(username=username, kind="staff").first()
        if by is None:
            raise CommandError(f"No staff account is named {username}.")
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            with path.open("rb") as upload:
                result = excel.import_workbook(
                    upload=upload, by=by, name=path.name, size=path.stat().st_size, progress=self._progress
                )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"row {error.row} {error.column}: {error.message}")
            if report is not None:
                report.write_bytes(excel.error_report(result.errors))
                self.stderr.write(f"Wrote the error report to {report}.")
            raise CommandError(f"{len(result.errors)} problems; nothing was imported.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.created)} drafts created, {len(result.updated)} drafts updated, "
                f"{len(result.corrected)} corrections proposed, {len(result.unchanged)} unchanged."
            )
        )

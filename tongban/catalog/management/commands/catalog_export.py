"""Write the service catalogue to an Excel workbook in the layout ``catalog_import`` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.catalog import excel
from tongban.core.errors import DomainError
from tongban.identity.models import User


class Command(BaseCommand):
    help = "Export the service items (the newest version of each) to an .xlsx workbook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="Where to write the .xlsx file.")
        parser.add_argument(
            "--as",
            dest="username",
            help="Export only the items this administrator may edit (default: every item).",
        )

    def handle(self, *args: Any, path: Path, username: str | None, **options: Any) -> None:
        by = None
        if username:
            by = User.objects.filter(username=username, kind="staff").first()
            if by is None:
                raise CommandError(f"No staff account is named {username}.")
        try:
            data = excel.export_workbook(by=by)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        path.write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}."))

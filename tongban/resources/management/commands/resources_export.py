"""Write the data resource catalogue to an Excel workbook in the layout ``resources_import`` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import DomainError
from tongban.identity.models import User
from tongban.resources import excel


class Command(BaseCommand):
    help = "Export the data resources (one row per data item) to an .xlsx workbook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="Where to write the .xlsx file.")
        parser.add_argument(
            "--as",
            dest="username",
            help="Export only what this data officer or administrator may see (default: everything).",
        )
        parser.add_argument(
            "--template", action="store_true", help="Write the empty layout with its guide sheet."
        )

    def handle(self, *args: Any, path: Path, username: str | None, template: bool, **options: Any) -> None:
        by = None
        if username:
            by = User.objects.filter(username=username, kind="staff").first()
            if by is None:
                raise CommandError(f"No staff account is named {username}.")
        try:
            data = excel.export_workbook(by=by, template=template)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        path.write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}."))

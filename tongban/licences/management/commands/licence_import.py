"""Import existing licences (存量证照) from a CSV or XLSX file, as the staff page does.

    manage.py licence_import TYPE_CODE FILE --as USERNAME

The import runs as USERNAME (staff of the issuing department, or an administrator over it), checks
every row, signs and inserts the good ones, and prints the counts and the first refused rows (the
whole report is on the import's page).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import DomainError
from tongban.identity.choices import AccountKind
from tongban.identity.models import User
from tongban.licences import imports, selectors


class Command(BaseCommand):
    help = "Import existing licences of one type from a CSV (UTF-8) or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("type_code", help="the licence type's code (GB/T 36902, 21 characters)")
        parser.add_argument("file", help="a .csv (UTF-8) or .xlsx file in the layout of the type's template")
        parser.add_argument(
            "--as", dest="username", required=True, help="the staff account the import runs as"
        )
        parser.add_argument("--show", type=int, default=20, help="refused rows to print (default 20)")

    def handle(self, *args: Any, **options: Any) -> None:
        type_ = selectors.type_by_code(options["type_code"].strip().upper())
        if type_ is None:
            raise CommandError(f"no active licence type has the code {options['type_code']}")
        user = User.objects.filter(
            username=options["username"], kind=AccountKind.STAFF, is_active=True
        ).first()
        if user is None:
            raise CommandError(f"no active staff account is called {options['username']}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        started = time.perf_counter()
        try:
            with path.open("rb") as handle:
                batch = imports.licences_import(type_=type_, file=File(handle, name=path.name), by=user)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        elapsed = time.perf_counter() - started
        refused = imports.refused_count(batch)
        self.stdout.write(
            f"import {batch.pk} ({batch.get_status_display()}): {batch.rows} rows, "
            f"{batch.imported} imported, {refused} refused in {elapsed:.2f} s "
            f"({batch.rows / elapsed if elapsed else 0:.0f} rows/s)"
        )
        for error in batch.errors[: max(0, options["show"])]:
            self.stdout.write(
                f"  row {error['row']} [{error.get('column') or '-'}] {error['code']}: {error['message']}"
            )
        if refused > options["show"] > 0:
            self.stdout.write(f"  ... {refused - min(refused, options['show'])} more refused rows")

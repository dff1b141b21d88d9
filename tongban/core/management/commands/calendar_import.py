"""Load working-day overrides from a CSV file, e.g. next year's schedule once the State Council publishes it.

The file has a header row ``date,is_workday,name,note`` (UTF-8, a spreadsheet's BOM is fine):

    date,is_workday,name,note
    2027-02-05,0,春节,国办发明电〔2026〕…
    2027-02-20,1,春节调休,

``is_workday`` takes 1/0, true/false, yes/no, workday/holiday, 班/休. Every row is checked first;
if any row is wrong, each error is reported with its line number and nothing is written.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import DomainError
from tongban.core.services import NAME_MAX, NOTE_MAX, OverrideEntry, working_day_overrides_import

COLUMNS = ("date", "is_workday", "name", "note")
_TRUE = {"1", "true", "yes", "y", "workday", "班"}
_FALSE = {"0", "false", "no", "n", "holiday", "rest", "休"}


def parse_rows(lines: list[str]) -> tuple[list[OverrideEntry], list[tuple[int, str]]]:
    """Parse the CSV text; returns the entries and a list of (line number, error)."""
    reader = csv.DictReader(lines)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS[:2] if c not in header]
    if missing:
        return [], [
            (1, f"the header must have the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}")
        ]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        return [], [(1, f"unknown column(s): {', '.join(unknown)}")]
    entries: list[OverrideEntry] = []
    errors: list[tuple[int, str]] = []
    seen: dict[date, int] = {}
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            errors.append((line, "too many fields"))
            continue
        if not any(values.values()):
            continue  # blank line
        problems: list[str] = []
        day: date | None = None
        try:
            day = date.fromisoformat(values.get("date", ""))
        except ValueError:
            problems.append(f"date {values.get('date', '')!r} is not a date (YYYY-MM-DD)")
        flag = values.get("is_workday", "").lower()
        if flag not in _TRUE | _FALSE:
            problems.append(
                f"is_workday {values.get('is_workday', '')!r} must be 1 (working day) or 0 (rest day)"
            )
        name, note = values.get("name", ""), values.get("note", "")
        if len(name) > NAME_MAX:
            problems.append(f"name is longer than {NAME_MAX} characters")
        if len(note) > NOTE_MAX:
            problems.append(f"note is longer than {NOTE_MAX} characters")
        if day is not None and day in seen:
            problems.append(f"{day.isoformat()} already appears on line {seen[day]}")
        if problems or day is None:
            errors.extend((line, p) for p in problems)
            continue
        seen[day] = line
        entries.append(OverrideEntry(date=day, is_workday=flag in _TRUE, name=name, note=note))
    return entries, errors


class Command(BaseCommand):
    help = "Load working-day overrides (date,is_workday,name,note) from a CSV file; all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file, or - for standard input")
        parser.add_argument("--by", metavar="USERNAME", help="the administrator recorded as the author")
        parser.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        lines = self._read(options["path"])
        by = None
        if options["by"]:
            by = get_user_model().objects.filter(username=options["by"], is_active=True).first()
            if by is None:
                raise CommandError(f"no active account with username {options['by']!r}")
        entries, errors = parse_rows(lines)
        if errors:
            self._report_errors(errors, as_json=options["json"])
            raise CommandError(f"{len(errors)} error(s); nothing was imported", returncode=1)
        if not options["dry_run"]:
            try:
                working_day_overrides_import(entries=entries, by=by)
            except DomainError as exc:
                raise CommandError(str(exc.message), returncode=1) from None
        years = sorted({e.date.year for e in entries})
        if options["json"]:
            out = {"ok": True, "imported": 0 if options["dry_run"] else len(entries), "checked": len(entries)}
            self.stdout.write(json.dumps({**out, "years": years, "dry_run": options["dry_run"]}))
        elif options["dry_run"]:
            self.stdout.write(f"OK: {len(entries)} row(s) checked, nothing written (dry run)")
        else:
            self.stdout.write(
                f"OK: {len(entries)} override(s) imported for {', '.join(map(str, years)) or '-'}"
            )

    def _read(self, path: str) -> list[str]:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        return text.lstrip("\ufeff").splitlines()

    def _report_errors(self, errors: list[tuple[int, str]], *, as_json: bool) -> None:
        if as_json:
            payload = {"ok": False, "errors": [{"line": line, "error": msg} for line, msg in errors]}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        for line, msg in errors:
            self.stderr.write(f"line {line}: {msg}")

"""The per-row error report of an import or reconciliation: a CSV that opens in Excel.

One line per problem: the row number as the spreadsheet shows it, the column as the file names it,
the stable reason code, the explanation in the site's language (Chinese by default) and the value,
masked: resident IDs keep their region and last four digits, names their family name, addresses
their first characters. Values that a spreadsheet would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from typing import IO

from django.conf import settings
from django.core.files import File
from django.utils import translation

from tongban.basedata.datasets import ColumnMap, DatasetSpec
from tongban.basedata.validators import REASONS
from tongban.core.masking import mask_name, mask_resident_id

HEADER = ("行号", "列", "原因代码", "说明", "值（已脱敏）")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def mask_value(value: str, sensitive: str) -> str:
    if not value:
        return ""
    if sensitive == "id":
        return mask_resident_id(value)
    if sensitive == "name":
        return mask_name(value)
    if sensitive == "text":
        return value[:6] + ("…" if len(value) > 6 else "")
    shown = value if len(value) <= 60 else value[:60] + "…"
    return "'" + shown if shown.startswith(_FORMULA_START) else shown


def message_for(code: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(REASONS.get(code, code))


class ErrorReport:
    """Written row by row to a temporary file while a job reads its input; ``file()`` at the end."""

    def __init__(self, spec: DatasetSpec, columns: ColumnMap) -> None:
        self._spec = spec
        self._columns = columns
        self._sensitive = {c.field: c.sensitive for c in spec.columns}
        self._headers = {c.field: columns.headers.get(c.field, c.header) for c in spec.columns}
        self._messages: dict[str, str] = {}
        self._raw: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._writer.writerow(HEADER)
        self.rows = 0  # rows with at least one problem
        self.problems = 0

    def _message(self, code: str) -> str:
        message = self._messages.get(code)
        if message is None:
            message = self._messages[code] = message_for(code)
        return message

    def add(self, row: int, errors: Sequence[tuple[str, str]], cells: Sequence[str]) -> None:
        self.rows += 1
        for name, code in errors:
            index = self._columns.index(name)
            value = cells[index].strip() if 0 <= index < len(cells) else ""
            self._writer.writerow(
                (
                    row,
                    self._headers.get(name, name),
                    code,
                    self._message(code),
                    mask_value(value, self._sensitive.get(name, "")),
                )
            )
            self.problems += 1

    def file(self) -> File:
        """The report so far, rewound, for ``FieldFile.save``."""
        self._text.flush()
        self._raw.seek(0)
        return File(self._raw)

    def close(self) -> None:
        self._text.close()


def read_preview(handle: IO[bytes], limit: int = 50) -> list[list[str]]:
    """The first ``limit`` problems of a saved report (for the job page)."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        next(reader, None)
        return [row for _, row in zip(range(limit), reader, strict=False)]
    finally:
        text.detach()

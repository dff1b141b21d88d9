"""Reading import files (CSV in UTF-8 or GB18030, XLSX) and writing the blank templates.

A file is recognised by its first bytes, not its name: an XLSX workbook is a ZIP archive; anything
else must be text. Text files are UTF-8 (with or without the byte-order mark Excel writes), UTF-16
with its mark (Excel's "Unicode text") or GB18030 (the Chinese superset of GBK and GB2312 that older
department systems export): the first 256 KB are decoded strictly as UTF-8 and, if that fails, as
GB18030; a file that is neither is refused. Commas separate columns, or tabs when the header has
tabs and no comma.

Rows come out as lists of cell texts (not yet stripped) at least as long as the header, numbered as
a spreadsheet shows them (the header is row 1); rows whose cells are all empty are skipped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from tongban.basedata import codes
from tongban.basedata.choices import FileFormat
from tongban.basedata.datasets import DatasetSpec
from tongban.core.errors import ValidationFailed

SNIFF_BYTES = 256 * 1024
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
_ZIP_MAGIC = b"PK\x03\x04"
csv.field_size_limit(1024 * 1024)


def refused(code: str, message: Any) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={"file": [message]})


@dataclass(frozen=True)
class Sniffed:
    format: str
    encoding: str = ""
    delimiter: str = ","


def sniff(handle: IO[bytes]) -> Sniffed:
    """Recognise a file's format and text encoding from its first bytes; the handle is rewound."""
    handle.seek(0)
    head = handle.read(SNIFF_BYTES)
    handle.seek(0)
    if not head.strip():
        raise refused("file_empty", _("The file is empty."))
    if head.startswith(_ZIP_MAGIC):
        return Sniffed(FileFormat.XLSX)
    if head.startswith(codecs.BOM_UTF8):
        encoding, text = "utf-8-sig", head[3:].decode("utf-8", errors="ignore")
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, text = "utf-16", head.decode("utf-16", errors="ignore")
    else:
        encoding, text = "", ""
        for candidate in ("utf-8", "gb18030"):
            decoder = codecs.getincrementaldecoder(candidate)(errors="strict")
            try:
                text = decoder.decode(head, final=len(head) < SNIFF_BYTES)
            except UnicodeDecodeError:
                continue
            encoding = candidate
            break
        if not encoding:
            raise refused(
                "file_encoding",
                _("The file is neither an Excel workbook nor UTF-8 or GB18030 text: save it as CSV UTF-8."),
            )
        if "\x00" in text:
            raise refused("file_format", _("This is not a CSV or XLSX file."))
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    return Sniffed(FileFormat.CSV, encoding, delimiter)


def count_rows(handle: IO[bytes], sniffed: Sniffed) -> int | None:
    """The number of data rows, from line breaks (CSV) or the sheet's dimension (XLSX); None if unknown.

    An estimate for the progress bar and the row limit: a CSV cell may hold a line break.
    """
    handle.seek(0)
    try:
        if sniffed.format == FileFormat.XLSX:
            workbook = load_workbook(handle, read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                return max(0, (sheet.max_row or 1) - 1) if sheet.max_row else None
            finally:
                workbook.close()
        if sniffed.encoding == "utf-16":
            return None
        newline = b"\n"
        lines = 0
        last = b""
        while chunk := handle.read(1024 * 1024):
            lines += chunk.count(newline)
            last = chunk
        if last and not last.endswith(newline):
            lines += 1
        return max(0, lines - 1)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise refused("file_unreadable", _("The workbook cannot be read; save it again as .xlsx.")) from None
    finally:
        handle.seek(0)


class TableReader:
    """The header and the rows of a CSV or XLSX file. Iterate ``rows()`` once; ``close()`` at the end."""

    def __init__(self, handle: IO[bytes], sniffed: Sniffed) -> None:
        self.sniffed = sniffed
        self._handle = handle
        self._workbook: Any = None
        handle.seek(0)
        if sniffed.format == FileFormat.XLSX:
            try:
                self._workbook = load_workbook(handle, read_only=True, data_only=True)
                sheet = self._workbook.worksheets[0]
            except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError):
                raise refused(
                    "file_unreadable", _("The workbook cannot be read; save it again as .xlsx.")
                ) from None
            self._rows: Iterator[list[str]] = (
                [_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)
            )
        else:
            self._text = io.TextIOWrapper(
                handle, encoding=sniffed.encoding or "utf-8", errors="strict", newline=""
            )
            self._rows = csv.reader(self._text, delimiter=sniffed.delimiter)
        try:
            header = next(self._rows, None)
        except (UnicodeDecodeError, csv.Error):
            raise refused("file_encoding", _("The first line of the file cannot be read as text.")) from None
        if header is None or not any(cell.strip() for cell in header):
            raise refused("file_empty", _("The file has no header row."))
        self.header = [cell.strip() for cell in header]
        self.width = len(self.header)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) of every row that is not entirely blank."""
        number = 1
        width = self.width
        try:
            for cells in self._rows:
                number += 1
                if not any(cells):
                    continue
                if len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                yield number, cells
        except UnicodeDecodeError:
            raise refused(
                "file_encoding",
                _("Row %(row)s cannot be read in the file's text encoding (%(encoding)s).")
                % {"row": number + 1, "encoding": self.sniffed.encoding},
            ) from None
        except csv.Error as exc:
            raise refused(
                "file_format",
                _("Row %(row)s is not valid CSV: %(error)s") % {"row": number + 1, "error": exc},
            ) from None

    def close(self) -> None:
        if self._workbook is not None:
            self._workbook.close()
        elif hasattr(self, "_text"):
            self._text.detach()


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV would hold. Large numbers keep Excel's exponent, so an ID typed
    as a number (whose last digits Excel dropped) is recognised instead of failing its check digit."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**15 else f"{float(value):E}"
    if isinstance(value, float):
        if abs(value) >= 1e15:
            return f"{value:E}"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- templates -------------------------------------------------------------------------------


def template_csv(spec: DatasetSpec) -> bytes:
    """The header row of the dataset's template, in UTF-8 with the mark Excel needs to read Chinese."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([c.header for c in spec.columns])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _value_lists(spec: DatasetSpec) -> list[tuple[str, list[tuple[str, str]]]]:
    tables = {
        "gender": [(code, label) for code, label in codes.GENDER_LABELS.items()],
        "ethnicity": list(codes.ETHNICITIES),
        "marital_status": list(codes.MARITAL_LABELS.items()),
        "life_status": list(codes.LIFE_LABELS.items()),
        "entity_type": [(label, label) for label in codes.ENTITY_TYPE_LABELS.values()],
        "status": [(label, label) for label in codes.ENTITY_STATUS_LABELS.values()],
        "frequency": [(label, label) for label in codes.FREQUENCY_LABELS.values()],
    }
    return [(c.header, tables[c.field]) for c in spec.columns if c.field in tables]


def template_xlsx(spec: DatasetSpec, *, title: str) -> bytes:
    """A workbook with the header row (required columns in red, each with its note as a comment, every
    column formatted as text so Excel keeps IDs and codes whole), a sheet explaining the columns and
    one listing the accepted codes."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "数据"
    red = Font(bold=True, color="C00000")
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F2F2F2")
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = red if column.required or column.field in spec.key else bold
        cell.fill = fill
        if column.note:
            cell.comment = Comment(column.note, "通办")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.header) * 2 + 4))
        sheet.column_dimensions[letter].number_format = "@"
        for row in range(2, 202):
            sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    notes.append([title])
    notes["A1"].font = bold
    notes.append(["列名", "是否必填", "说明", "也可使用的列名"])
    for cell in notes[2]:
        cell.font = bold
    for column in spec.columns:
        required = "必填" if column.required or column.field in spec.key else "可选"
        notes.append([column.header, required, column.note, "、".join((*column.aliases, column.field))])
    notes.append([])
    notes.append(["一行一条记录；第一行为列名。可选列不在文件中时，已有记录的该项保持不变。"])
    notes.append(["同一文件可重复导入：已有且相同的记录计为“无变化”，不会重复。"])
    for letter, width in (("A", 22), ("B", 10), ("C", 60), ("D", 50)):
        notes.column_dimensions[letter].width = width
    lists = _value_lists(spec)
    if lists:
        values = workbook.create_sheet("代码表")
        at = 1
        for header, entries in lists:
            values.cell(row=1, column=at, value=header).font = bold
            for row, (code, label) in enumerate(entries, start=2):
                values.cell(row=row, column=at, value=code)
                if code != label:
                    values.cell(row=row, column=at + 1, value=label)
            at += 3
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

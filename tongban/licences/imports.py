"""Bulk import of existing licences (存量证照) from a CSV or XLSX file, with its error report.

A file has a header row and one licence a row. The columns are ``holder_id``, ``holder_name``,
``number``, ``issued_on``, ``valid_until`` and then one column per data field of the type; a header
cell may give a column's key or its label (Chinese or English for the first five, the type's label
for a field). ``holder_id``, ``holder_name`` and ``issued_on`` are required columns, and so is every
required field the licence cannot take from the holder (a field whose source is ``holder.name``,
``holder.id`` or ``fixed:…`` is filled from there when its cell is empty).

Each row is checked as issuance checks a licence (``services.prepare``); a row is refused, with its
row number (the header is row 1, as a spreadsheet shows it), its column and the reason, when its
holder ID fails the resident-ID / credit-code check, a required value is missing, a date is not a
date or lies in the future, or it repeats a row above it or an existing licence of the type (same
holder and licence number; without a number, same holder and date of issue). The good rows are then
signed and inserted in one transaction; the import and its refused rows are kept
(``LicenceImport``) and audited once. A file that cannot be read at all (wrong type, too large, not
UTF-8, wrong columns) is refused as a whole and nothing is written, as is an import for a department
without a signing key.

Reading and checking run outside the transaction; only the writes hold it (the type's row is locked
so two imports of the same type cannot both insert the same licence).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from tongban.core import audit
from tongban.core.errors import Conflict, ValidationFailed
from tongban.core.workbooks import file_error, open_workbook
from tongban.identity.models import User
from tongban.licences import permissions, services
from tongban.licences.choices import ImportStatus, LicenceOrigin, Validity
from tongban.licences.models import Licence, LicenceImport, LicenceType

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_REPORTED = 10_000  # refused rows kept on the import (the counts are always complete)
CHUNK = 5_000  # licences signed and inserted at a time (bounds the memory of a large import)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EXCEL_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]00:00(:00)?$")
_ZIP_MAGIC = b"PK\x03\x04"
csv.field_size_limit(1024 * 1024)


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    required: bool = False
    aliases: tuple[str, ...] = ()  # other header texts read as this column (data, not UI text)
    data: bool = False  # a data field of the type (its key may repeat a fixed column's: "holder_id")

    @property
    def slot(self) -> str:
        return f"data:{self.key}" if self.data else self.key


# The columns every type has, before its data fields. The aliases are the Chinese headers of the
# template, so a file made from it reads whatever language the page was in when it was downloaded.
FIXED: tuple[Column, ...] = (
    Column("holder_id", gettext_lazy("Holder ID number or credit code"), True, ("持证人证件号码",)),
    Column("holder_name", gettext_lazy("Holder name"), True, ("持证人姓名或名称",)),
    Column("number", gettext_lazy("Licence number"), False, ("证照编号",)),
    Column("issued_on", gettext_lazy("Date of issue"), True, ("发证日期",)),
    Column("valid_until", gettext_lazy("Valid until"), False, ("有效期至",)),
)
FIXED_KEYS = frozenset(c.key for c in FIXED)


def _derived(spec: Mapping[str, Any]) -> bool:
    source = str(spec.get("from", ""))
    return source in ("holder.name", "holder.id") or source.startswith("fixed:")


def columns_of(type_: LicenceType) -> list[Column]:
    """The columns of the type's import file, in the order of its template."""
    fields = [
        Column(
            str(f["key"]),
            str(f.get("label") or f["key"]),
            bool(f.get("required", True)) and not _derived(f),
            data=True,
        )
        for f in type_.fields
    ]
    return [*FIXED, *fields]


def fill_derived(
    type_: LicenceType, data: dict[str, str], *, holder_id: str, holder_name: str
) -> dict[str, str]:
    """Fill the empty fields whose source is the holder or a fixed text (as issuance by a case does)."""
    filled = dict(data)
    for spec in type_.fields:
        key = str(spec["key"])
        if str(filled.get(key, "") or "").strip():
            continue
        source = str(spec.get("from", ""))
        if source == "holder.name":
            filled[key] = holder_name
        elif source == "holder.id":
            filled[key] = holder_id
        elif source.startswith("fixed:"):
            filled[key] = source[6:]
    return {k: v for k, v in filled.items() if str(v or "").strip()}


# --- reading the file ---------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read(file: IO[bytes], name: str, size: int | None) -> tuple[bytes, Iterator[Sequence[Any]]]:
    """The file's bytes (for its hash) and its rows, header first."""
    if size is not None and size > MAX_FILE_BYTES:
        raise _too_large()
    data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large()
    if not data.strip():
        raise file_error(gettext_lazy("The file is empty."), "import_empty")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "xlsx" or (not suffix and data.startswith(_ZIP_MAGIC)):
        workbook = open_workbook(io.BytesIO(data), name=None, size=len(data), max_bytes=MAX_FILE_BYTES)
        return data, _xlsx_rows(workbook)
    if suffix not in ("", "csv", "txt"):
        raise file_error(
            gettext_lazy("Upload a CSV file (UTF-8) or an Excel workbook (.xlsx)."), "import_wrong_file_type"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error(
            gettext_lazy("The file is not UTF-8 text: save it as “CSV UTF-8” or as an Excel workbook."),
            "import_not_utf8",
        ) from None
    if "\x00" in text:
        raise file_error(gettext_lazy("The file is not a CSV file."), "import_not_csv")
    return data, csv.reader(io.StringIO(text, newline=""))


def _xlsx_rows(workbook: Any) -> Iterator[Sequence[Any]]:
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _too_large() -> ValidationFailed:
    return file_error(
        gettext_lazy("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)},
        "import_file_too_large",
    )


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", str(text or "")).lower()


def _aliases(column: Column) -> set[str]:
    names = {_norm(column.key), _norm(str(column.label)), *(_norm(a) for a in column.aliases)}
    if not column.data:
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names.add(_norm(str(column.label)))
    return names


@dataclass
class Header:
    """Where each column is in the file, and what its header cell says."""

    index: dict[str, int]
    titles: dict[str, str]


def _header(type_: LicenceType, cells: Sequence[Any]) -> Header:
    columns = columns_of(type_)
    fixed = [c for c in columns if not c.data]
    fields = [c for c in columns if c.data]
    lookup: dict[str, str] = {}
    # The five fixed columns first: a field whose key repeats one is reached by its label.
    for column in fixed:
        for alias in _aliases(column):
            lookup.setdefault(alias, column.key)
    for column in fields:
        for alias in (_norm(str(column.label)), _norm(column.key)):
            lookup.setdefault(alias, column.slot)
    index: dict[str, int] = {}
    titles: dict[str, str] = {}
    unknown: list[str] = []
    for position, raw in enumerate(cells):
        title = _cell(raw)
        if not title:
            continue
        key = lookup.get(_norm(title))
        if key is None:
            unknown.append(title)
            continue
        if key in index:
            raise file_error(
                gettext_lazy("The column “%(column)s” appears twice.") % {"column": title},
                "import_column_repeated",
            )
        index[key] = position
        titles[key] = title
    if unknown:
        raise file_error(
            gettext_lazy("The file has columns this licence type does not have: %(columns)s.")
            % {"columns": "、".join(unknown[:10])},
            "import_column_unknown",
        )
    missing = [str(c.label) for c in columns if c.required and c.slot not in index]
    if type_.validity == Validity.GIVEN and "valid_until" not in index:
        missing.append(str(FIXED[4].label))
    if missing:
        raise file_error(
            gettext_lazy("The file lacks these columns: %(columns)s. Download the template of the type.")
            % {"columns": "、".join(missing)},
            "import_columns_missing",
        )
    return Header(index, titles)


# --- checking the rows --------------------------------------------------------------------------


@dataclass
class Refusal:
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class Checked:
    rows: int = 0
    good: list[tuple[int, services.NewLicence]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def _date(text: str) -> dt.date | None:
    midnight = _EXCEL_MIDNIGHT.match(text)
    if midnight:
        text = midnight.group(1)
    if not _ISO_DATE.match(text):
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def _dup_key(new: services.NewLicence) -> tuple[str, str]:
    return (new.holder_id, f"number:{new.number}" if new.number else f"issued:{new.issued_on.isoformat()}")


def _check_rows(type_: LicenceType, header: Header, rows: Iterable[Sequence[Any]]) -> Checked:
    checked = Checked()
    index, titles = header.index, header.titles
    labels = {c.slot: str(c.label) for c in columns_of(type_)}

    def title_of(key: str, *, data_field: bool = False) -> str:
        slot = f"data:{key}" if data_field or key not in FIXED_KEYS else key
        return titles.get(slot, labels.get(slot, key))

    field_positions = [(k[5:], i) for k, i in index.items() if k.startswith("data:")]
    fixed_positions = {k: i for k, i in index.items() if k in FIXED_KEYS}
    width = max(index.values()) + 1
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(rows, start=2):
        cells = [_cell(v) for v in raw]
        if not any(cells):
            continue
        checked.rows += 1
        if checked.rows > MAX_ROWS:
            raise file_error(
                gettext_lazy("The file has more than %(max)d rows: split it.") % {"max": MAX_ROWS},
                "import_too_many_rows",
            )
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        fixed = {k: cells[i] for k, i in fixed_positions.items()}
        dates: dict[str, dt.date | None] = {"issued_on": None, "valid_until": None}
        bad_dates = False
        for key in dates:
            text = fixed.get(key, "")
            if not text:
                continue
            try:
                dates[key] = _date(text)
            except ValueError:
                bad_dates = True
                message = _("“%(value)s” is not a date: write it as YYYY-MM-DD.") % {"value": text[:40]}
                checked.refused.append(Refusal(number, title_of(key), "date_invalid", message))
        if bad_dates:
            continue
        if dates["issued_on"] is None:
            checked.refused.append(
                Refusal(number, title_of("issued_on"), "issued_on_required", _("Give the date of issue."))
            )
            continue
        holder_id, holder_name = fixed.get("holder_id", ""), fixed.get("holder_name", "")
        data = fill_derived(
            type_,
            {key: cells[position] for key, position in field_positions},
            holder_id=holder_id.strip().upper(),
            holder_name=holder_name.strip(),
        )
        try:
            new = services.prepare(
                type_=type_,
                holder_id=holder_id,
                holder_name=holder_name,
                data=data,
                issued_on=dates["issued_on"],
                valid_until=dates["valid_until"],
                number=fixed.get("number", ""),
            )
        except ValidationFailed as exc:
            key = next(iter(exc.fields), "")
            column = title_of(key, data_field=exc.code.startswith("licence_field_")) if key else ""
            checked.refused.append(Refusal(number, column, exc.code, str(exc.message)))
            continue
        dup = _dup_key(new)
        first = seen.get(dup)
        if first is not None:
            column = "number" if new.number else "issued_on"
            checked.refused.append(
                Refusal(
                    number,
                    title_of(column),
                    "import_duplicate_row",
                    _("The same licence as row %(row)d above.") % {"row": first},
                )
            )
            continue
        seen[dup] = number
        checked.good.append((number, new))
    return checked


def _existing_keys(type_: LicenceType, holders: set[str]) -> set[tuple[str, str]]:
    """The duplicate keys of the type's licences already held by these holders."""
    found: set[tuple[str, str]] = set()
    ordered = sorted(holders)
    for start in range(0, len(ordered), 500):
        rows = Licence.objects.filter(type=type_, holder_id__in=ordered[start : start + 500]).values_list(
            "holder_id", "number", "issued_on"
        )
        for holder, number, issued in rows:
            found.add((holder, f"number:{number}"))
            found.add((holder, f"issued:{issued.isoformat()}"))
    return found


def _without_existing(type_: LicenceType, checked: Checked, titles: dict[str, str]) -> None:
    existing = _existing_keys(type_, {new.holder_id for _row, new in checked.good})
    if not existing:
        return
    kept: list[tuple[int, services.NewLicence]] = []
    for row, new in checked.good:
        if _dup_key(new) in existing:
            column = "number" if new.number else "issued_on"
            checked.refused.append(
                Refusal(
                    row,
                    titles.get(column, str(next(c.label for c in FIXED if c.key == column))),
                    "licence_exists",
                    _("This holder already has this licence (same licence number or date of issue)."),
                )
            )
        else:
            kept.append((row, new))
    checked.good = kept


# --- the service --------------------------------------------------------------------------------


def licences_import(
    *, type_: LicenceType, file: IO[bytes], by: User, name: str | None = None
) -> LicenceImport:
    """Import the file's licences of ``type_``: the good rows signed and inserted, the bad reported.

    ``file`` is an upload (or any binary file; its ``name`` and ``size`` are used when it has them).
    Raises ``PermissionDenied`` (``not_issuing_department``), ``Conflict`` (``signing_key_missing``,
    ``licence_type_inactive``) or ``ValidationFailed`` on the ``file`` field for a file that cannot be
    read; nothing is written then."""
    permissions.ensure_acts_for(by, type_.issuing_department)
    if not type_.is_active:
        raise Conflict(_("This licence type is no longer issued."), code="licence_type_inactive")
    services.issuance_check(type_=type_)
    file_name = (name or getattr(file, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
    data, rows = _read(file, file_name, getattr(file, "size", None))
    try:
        header_cells = next(rows)
    except StopIteration:
        raise file_error(gettext_lazy("The file is empty."), "import_empty") from None
    except csv.Error:
        raise file_error(gettext_lazy("The file is not a CSV file."), "import_not_csv") from None
    header = _header(type_, header_cells)
    try:
        checked = _check_rows(type_, header, rows)
    except csv.Error:
        raise file_error(gettext_lazy("The file is not a CSV file."), "import_not_csv") from None
    if checked.rows == 0:
        raise file_error(gettext_lazy("The file has a header but no licences."), "import_no_rows")
    return _store(type_=type_, checked=checked, header=header, file_name=file_name, data=data, by=by)


@transaction.atomic
def _store(
    *, type_: LicenceType, checked: Checked, header: Header, file_name: str, data: bytes, by: User
) -> LicenceImport:
    LicenceType.objects.select_for_update().filter(pk=type_.pk).first()  # one import of a type at a time
    services.issuance_check(type_=type_)
    _without_existing(type_, checked, header.titles)
    imported = len(checked.good)
    status = (
        ImportStatus.FAILED
        if imported == 0
        else (ImportStatus.DONE if imported == checked.rows else ImportStatus.PARTIAL)
    )
    refused = sorted(checked.refused, key=lambda r: r.row)
    batch = LicenceImport.objects.create(
        department=type_.issuing_department,
        type=type_,
        file_name=file_name or "upload",
        sha256=hashlib.sha256(data).hexdigest(),
        status=status,
        rows=checked.rows,
        imported=imported,
        errors=[r.as_dict() for r in refused[:MAX_REPORTED]],
        by=by,
    )
    good = [new for _row, new in checked.good]
    for start in range(0, len(good), CHUNK):
        services.issue_prepared_batch(
            good[start : start + CHUNK], type_=type_, batch=batch, origin=LicenceOrigin.IMPORTED
        )
    audit.record(
        action="licence.imported",
        actor=by,
        subject=batch,
        summary=f"imported {imported} of {checked.rows} {type_.code} licences from {batch.file_name}",
        data={
            "type": type_.code,
            "file": batch.file_name,
            "sha256": batch.sha256,
            "rows": checked.rows,
            "imported": imported,
            "refused": checked.rows - imported,
            "status": status,
        },
    )
    return batch


def refused_count(batch: LicenceImport) -> int:
    return batch.rows - batch.imported


# --- files for the staff: the template and the report -------------------------------------------

_HEAD_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FDE9D9")


def template_xlsx(type_: LicenceType) -> bytes:
    """An empty import file of the type: the header row (labels, each key in a note) and a sheet
    that explains the columns."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Licences")[:31]
    columns = columns_of(type_)
    for position, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=position, value=str(column.label))
        cell.font = _HEAD_FONT
        if column.required:
            cell.fill = _REQUIRED_FILL
        cell.comment = Comment(column.key, "Tongban")
        sheet.column_dimensions[get_column_letter(position)].width = max(14, len(str(column.label)) * 2 + 2)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet(_("Columns")[:31])
    notes.append([_("Column"), _("Key"), _("Required"), _("What to write")])
    for cell in notes[1]:
        cell.font = _HEAD_FONT
    for column in columns:
        notes.append(
            [
                str(column.label),
                column.key,
                _("yes") if column.required else _("no"),
                str(_hint(type_, column)),
            ]
        )
    for letter, width in zip("ABCD", (24, 20, 8, 60), strict=True):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _hint(type_: LicenceType, column: Column) -> str | Promise:
    if column.key == "holder_id":
        return _("18-character resident ID number (person) or unified social credit code (enterprise).")
    if column.key == "number":
        return _("The number printed on the licence; left empty, the serial of its identifier is used.")
    if column.key == "issued_on":
        return _("YYYY-MM-DD, not in the future.")
    if column.key == "valid_until":
        if type_.validity == Validity.GIVEN:
            return _("YYYY-MM-DD: required for this type.")
        return _("Not used for this type: its validity follows the type's rule.")
    spec: dict[str, Any] = next((f for f in type_.fields if str(f["key"]) == column.key), {})
    source = str(spec.get("from", ""))
    if source == "holder.name":
        return _("Left empty: the holder's name.")
    if source == "holder.id":
        return _("Left empty: the holder's ID number.")
    if source.startswith("fixed:"):
        return _("Left empty: “%(text)s”.") % {"text": source[6:]}
    return ""


def report_xlsx(batch: LicenceImport) -> bytes:
    """The refused rows of an import, for correcting the file."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Refused rows")[:31])
    sheet.append([_("Row"), _("Column"), _("Reason"), _("Error code")])
    for error in batch.errors:
        sheet.append(
            [error.get("row"), error.get("column", ""), error.get("message", ""), error.get("code", "")]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

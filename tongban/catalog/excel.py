"""The catalogue as an Excel workbook: export of the items an administrator sees, and import back.

The layout is a file format shared with people who edit it in Excel or WPS, so its sheet names and
column headers are fixed Simplified Chinese whatever the interface language (import also accepts the
English field names as headers). Sheet "事项" has one row per item, sheet "材料" one row per
material, tied to its item by the implementation code. Choice columns are written as Chinese labels
and read as labels or codes; the application form and the process are JSON cells.

Import is all or nothing: every row goes through the catalogue's own services inside one
transaction, every problem is collected with its sheet, row and column, and if there is any the
transaction is rolled back and the problems are returned (``ImportResult.errors``, downloadable with
``error_report``). Existing items get a new draft (or their open draft is updated); published
versions are never touched, because the services refuse to change anything but a draft.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from tongban.catalog import selectors, services
from tongban.catalog.choices import (
    Channel,
    ItemLevel,
    ItemType,
    MaterialForm,
    MaterialSource,
    OnlineDepth,
    ResultType,
    ServiceObject,
    VersionStatus,
    Visits,
)
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion, Theme
from tongban.core import audit
from tongban.core.errors import DomainError, PermissionDenied
from tongban.core.models import AuditOutcome
from tongban.core.workbooks import file_error, open_workbook
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import Role
from tongban.identity.models import Department, User

MAX_FILE_SIZE = 5 * 1024 * 1024
MAX_ROWS = 5000
ITEMS_SHEET = "事项"
MATERIALS_SHEET = "材料"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_LIST_SEPARATORS = ("、", "，", ",", ";", "；", "\n")
_YES = {"是", "true", "yes", "y", "1", "✓"}
_NO = {"否", "false", "no", "n", "0", ""}

# (field, header) of every column, in sheet order. The headers are the file format, not UI text.
ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("implementation_code", "实施编码"),
    ("basic_code", "基本编码"),
    ("department", "实施部门编码"),
    ("name", "事项名称"),
    ("item_type", "事项类型"),
    ("level", "行使层级"),
    ("legal_basis", "设定依据"),
    ("conditions", "受理条件"),
    ("statutory_days", "法定办结时限（工作日）"),
    ("promised_days", "承诺办结时限（工作日）"),
    ("fee_charged", "是否收费"),
    ("fee_amount", "收费标准"),
    ("fee_basis", "收费依据"),
    ("visits", "到办事现场次数"),
    ("online_depth", "网上办理深度"),
    ("channels", "办理渠道"),
    ("window_address", "办理地点"),
    ("window_hours", "办理时间"),
    ("consultation_phone", "咨询电话"),
    ("complaint_phone", "监督投诉电话"),
    ("result_type", "办理结果类型"),
    ("result_name", "办理结果名称"),
    ("service_object", "服务对象"),
    ("themes", "主题分类"),
    ("form_schema", "申请表单（JSON）"),
    ("process", "办理流程（JSON）"),
)
MATERIAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("implementation_code", "实施编码"),
    ("name", "材料名称"),
    ("required", "是否必需"),
    ("form", "材料形式"),
    ("copies", "份数"),
    ("acceptance_standard", "受理标准"),
    ("source", "材料来源"),
    ("source_code", "来源编码"),
    ("may_follow_later", "容缺受理"),
    ("sort_order", "排序"),
)
ERROR_COLUMNS = ("工作表", "行号", "列", "问题")

_ITEM_CHOICES: dict[str, Any] = {
    "item_type": ItemType,
    "level": ItemLevel,
    "visits": Visits,
    "online_depth": OnlineDepth,
    "result_type": ResultType,
    "service_object": ServiceObject,
}
_MATERIAL_CHOICES: dict[str, Any] = {"form": MaterialForm, "source": MaterialSource}
_ITEM_HEADERS = dict(ITEM_COLUMNS)
_MATERIAL_HEADERS = dict(MATERIAL_COLUMNS)
# Where an error a service reports on one of its own field names belongs in the sheet.
_SERVICE_FIELD_COLUMNS = {"item_digits": "implementation_code"}


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int  # the row number as Excel shows it; 0 for a problem with the whole sheet
    column: str  # the column header, "" when the problem is with the whole row
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)  # implementation codes of new items
    drafted: list[str] = field(default_factory=list)  # existing items given a new or updated draft
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _ItemRow:
    row: int
    values: dict[str, Any]
    materials: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class _RowInvalid(Exception):
    def __init__(self, column: str, message: str | Promise) -> None:
        super().__init__(str(message))
        self.column = column
        self.message = message


class _Rollback(Exception):
    """Raised inside the import's transaction when any row failed, to undo every row."""


# --- export ----------------------------------------------------------------------------------


def _ensure_administrator(by: User) -> None:
    if not identity_selectors.has_role(by, Role.ADMINISTRATOR):
        raise PermissionDenied(
            _("Only administrators may edit the service catalogue."), code="catalog_admin_required"
        )


def _label(choices: Any, value: Any) -> str:
    return str(choices(value).label)


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def _json_cell(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ""


def _item_row(item: ServiceItem, version: ServiceItemVersion) -> list[Any]:
    values: dict[str, Any] = {
        "implementation_code": item.implementation_code,
        "basic_code": item.basic_code,
        "department": item.department.code,
        "fee_charged": _yes_no(version.fee_charged),
        "channels": "、".join(_label(Channel, c) for c in version.channels),
        "themes": "、".join(t.code for t in version.themes.all()),
        "form_schema": _json_cell(version.form_schema),
        "process": _json_cell(version.process),
    }
    for name, choices in _ITEM_CHOICES.items():
        values[name] = _label(choices, getattr(version, name))
    for name, _header in ITEM_COLUMNS:
        if name not in values:
            values[name] = getattr(version, name)
    return [values[name] for name, _header in ITEM_COLUMNS]


def _material_row(item: ServiceItem, material: Material) -> list[Any]:
    values: dict[str, Any] = {
        "implementation_code": item.implementation_code,
        "name": material.name,
        "required": _yes_no(material.required),
        "form": _label(MaterialForm, material.form),
        "copies": material.copies,
        "acceptance_standard": material.acceptance_standard,
        "source": _label(MaterialSource, material.source),
        "source_code": material.source_code,
        "may_follow_later": _yes_no(material.may_follow_later),
        "sort_order": material.sort_order,
    }
    return [values[name] for name, _header in MATERIAL_COLUMNS]


def _newest_versions(items: QuerySet[ServiceItem]) -> Iterable[tuple[ServiceItem, ServiceItemVersion]]:
    """Each item with its newest version: the open draft if there is one, else the published one."""
    versions = (
        ServiceItemVersion.objects.filter(item__in=items)
        .prefetch_related("themes", "materials")
        .order_by("item_id", "-number")
    )
    newest: dict[int, ServiceItemVersion] = {}
    for version in versions:
        newest.setdefault(version.item_id, version)
    for item in items:
        if item.pk in newest:
            yield item, newest[item.pk]


def export_workbook(*, by: User | None) -> bytes:
    """The items ``by`` may edit (every item when run by the system, ``by=None``) as .xlsx bytes."""
    if by is None:
        items = ServiceItem.objects.select_related("department").order_by("implementation_code")
    else:
        _ensure_administrator(by)
        items = selectors.items_for_staff(by)
    workbook = Workbook()
    item_sheet = workbook.active
    item_sheet.title = ITEMS_SHEET
    item_sheet.append([header for _name, header in ITEM_COLUMNS])
    material_sheet = workbook.create_sheet(MATERIALS_SHEET)
    material_sheet.append([header for _name, header in MATERIAL_COLUMNS])
    count = 0
    with translation.override("zh-hans"):
        for item, version in _newest_versions(items):
            item_sheet.append(_item_row(item, version))
            for material in sorted(version.materials.all(), key=lambda m: (m.sort_order, m.pk)):
                material_sheet.append(_material_row(item, material))
            count += 1
    for sheet in (item_sheet, material_sheet):
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit.record(action="catalog.export", actor=by, summary=f"{count} items", data={"items": count})
    return buffer.getvalue()


# --- reading a workbook ----------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_sheet(
    workbook: Any, sheet_name: str, columns: tuple[tuple[str, str], ...]
) -> list[tuple[int, dict[str, str]]]:
    if sheet_name not in workbook.sheetnames:
        raise file_error(
            _("The workbook has no sheet named %(sheet)s.") % {"sheet": sheet_name}, "import_sheet_missing"
        )
    rows = workbook[sheet_name].iter_rows(values_only=True)
    header = [_cell_text(value) for value in next(rows, ())]
    positions: dict[str, int] = {}
    for name, title in columns:
        for alias in (title, name):
            if alias in header:
                positions[name] = header.index(alias)
                break
    missing = [title for name, title in columns if name not in positions]
    if missing:
        raise file_error(
            _("The first row of sheet %(sheet)s lacks the columns %(columns)s.")
            % {"sheet": sheet_name, "columns": "、".join(missing)},
            "import_header_missing",
        )
    result: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(rows, start=2):
        values = {name: _cell_text(row[i]) if i < len(row) else "" for name, i in positions.items()}
        if not any(values.values()):
            continue
        if len(result) >= MAX_ROWS:
            raise file_error(
                _("A sheet may have at most %(n)s rows.") % {"n": MAX_ROWS}, "import_too_many_rows"
            )
        result.append((number, values))
    return result


# --- parsing cells ---------------------------------------------------------------------------


def _choice_lookup(choices: Any) -> dict[str, Any]:
    """Every way a value may be written: its code, its English label and its Chinese label."""
    lookup: dict[str, Any] = {}
    for member in choices:
        lookup[str(member.value).lower()] = member.value
        with translation.override("en"):
            lookup[str(member.label).lower()] = member.value
        with translation.override("zh-hans"):
            lookup[str(member.label).lower()] = member.value
    return lookup


def _parse_choice(column: str, text: str, choices: Any) -> Any:
    value = _choice_lookup(choices).get(text.lower())
    if value is None:
        raise _RowInvalid(column, _("Choose one of the listed values."))
    return value


def _parse_bool(column: str, text: str) -> bool:
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise _RowInvalid(column, _("Write 是 or 否."))


def _split(text: str) -> list[str]:
    parts = [text]
    for separator in _LIST_SEPARATORS:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [part.strip() for part in parts if part.strip()]


def _parse_json(column: str, text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise _RowInvalid(column, _("This cell must hold JSON.")) from None


def _parse_themes(text: str) -> list[str]:
    codes: list[str] = []
    for entry in _split(text):
        found = list(Theme.objects.filter(code=entry).values_list("code", flat=True)) or list(
            Theme.objects.filter(name=entry).values_list("code", flat=True)
        )
        if len(found) != 1:
            raise _RowInvalid(
                "themes", _("No single theme has the code or name %(theme)s.") % {"theme": entry}
            )
        codes.append(found[0])
    return codes


def _parse_item(values: dict[str, str]) -> dict[str, Any]:
    """The version fields of an item row, ready for the services (which check them again)."""
    fields: dict[str, Any] = {}
    for name, _header in ITEM_COLUMNS:
        text = values[name]
        if name in ("implementation_code", "basic_code", "department", "form_schema", "process"):
            continue
        if name in _ITEM_CHOICES:
            fields[name] = _parse_choice(name, text, _ITEM_CHOICES[name])
        elif name == "fee_charged":
            fields[name] = _parse_bool(name, text)
        elif name == "channels":
            fields[name] = [_parse_choice(name, entry, Channel) for entry in _split(text)]
        elif name == "themes":
            fields[name] = _parse_themes(text)
        elif name in ("statutory_days", "promised_days"):
            fields[name] = text or None
        else:
            fields[name] = text
    return fields


def _parse_material(values: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, _header in MATERIAL_COLUMNS:
        text = values[name]
        if name == "implementation_code":
            continue
        if name in _MATERIAL_CHOICES:
            fields[name] = _parse_choice(name, text, _MATERIAL_CHOICES[name])
        elif name in ("required", "may_follow_later"):
            fields[name] = _parse_bool(name, text)
        elif name in ("copies", "sort_order"):
            if text and not (text.isdigit() and int(text) <= 99):
                raise _RowInvalid(name, _("Enter a number from 0 to 99."))
            if text:
                fields[name] = int(text)
        else:
            fields[name] = text
    return fields


# --- import ----------------------------------------------------------------------------------


class _Importer:
    def __init__(self, by: User) -> None:
        self.by = by
        self.result = ImportResult()
        self.departments = {d.code: d for d in identity_selectors.departments_in_jurisdiction(by)}

    def error(self, sheet: str, row: int, column: str, message: str | Promise) -> None:
        headers = _ITEM_HEADERS if sheet == ITEMS_SHEET else _MATERIAL_HEADERS
        column = _SERVICE_FIELD_COLUMNS.get(column, column)
        self.result.errors.append(RowError(sheet, row, headers.get(column, ""), str(message)))

    def domain_error(self, sheet: str, row: int, exc: DomainError) -> None:
        if not exc.fields:
            self.error(sheet, row, "", exc.message)
        for name, messages in exc.fields.items():
            for message in messages:
                self.error(sheet, row, name, message)

    def group(
        self, items: list[tuple[int, dict[str, str]]], materials: list[tuple[int, dict[str, str]]]
    ) -> list[_ItemRow]:
        rows: dict[str, _ItemRow] = {}
        for number, values in items:
            code = values["implementation_code"]
            if not code:
                self.error(ITEMS_SHEET, number, "implementation_code", _("Enter the implementation code."))
            elif code in rows:
                self.error(
                    ITEMS_SHEET,
                    number,
                    "implementation_code",
                    _("The implementation code is already on row %(row)s.") % {"row": rows[code].row},
                )
            else:
                rows[code] = _ItemRow(row=number, values=values)
        for number, values in materials:
            owner = rows.get(values["implementation_code"])
            if owner is None:
                self.error(
                    MATERIALS_SHEET,
                    number,
                    "implementation_code",
                    _("No row of sheet 事项 has this implementation code."),
                )
            else:
                owner.materials.append((number, values))
        return list(rows.values())

    def draft_for(self, row: _ItemRow, department: Department) -> tuple[ServiceItemVersion, bool] | None:
        """The draft to write the row into, and whether the item is new; None after an error."""
        code = row.values["implementation_code"]
        item = ServiceItem.objects.filter(implementation_code=code).select_related("department").first()
        if item is None:
            credit_code = department.credit_code or ""
            if not credit_code or not code.startswith(credit_code):
                self.error(
                    ITEMS_SHEET,
                    row.row,
                    "implementation_code",
                    _("A new item's implementation code starts with its department's credit code."),
                )
                return None
            fields = _parse_item(row.values)
            item = services.item_create(
                by=self.by,
                department=department,
                basic_code=row.values["basic_code"],
                item_digits=code[len(credit_code) :],
                **fields,
            )
            return item.versions.get(), True
        if not identity_selectors.department_is_visible(self.by, item.department):
            self.error(
                ITEMS_SHEET, row.row, "implementation_code", _("This item is outside your jurisdiction.")
            )
            return None
        if item.department_id != department.pk or item.basic_code != row.values["basic_code"].upper():
            self.error(
                ITEMS_SHEET,
                row.row,
                "basic_code",
                _("An existing item's basic code and department cannot be changed by import."),
            )
            return None
        draft = item.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is None:
            draft = services.item_version_draft(item=item, by=self.by)
        services.item_version_update(version=draft, by=self.by, **_parse_item(row.values))
        return draft, False

    def write_materials(self, row: _ItemRow, draft: ServiceItemVersion) -> None:
        """Make the draft's materials those of the sheet, keeping uploaded files of same-named ones."""
        existing = {m.name: m for m in draft.materials.all()}
        kept: set[int] = set()
        for index, (number, values) in enumerate(row.materials):
            try:
                fields = _parse_material(values)
                fields.setdefault("sort_order", min(index, 99))
                material = existing.get(fields["name"])
                if material is not None and material.pk not in kept:
                    services.material_update(material=material, by=self.by, **fields)
                    kept.add(material.pk)
                else:
                    name = fields.pop("name")
                    services.material_add(version=draft, by=self.by, name=name, **fields)
            except _RowInvalid as exc:
                self.error(MATERIALS_SHEET, number, exc.column, exc.message)
            except DomainError as exc:
                self.domain_error(MATERIALS_SHEET, number, exc)
        for material in existing.values():
            if material.pk not in kept:
                services.material_remove(material=material, by=self.by)

    def check_materials(self, row: _ItemRow) -> None:
        """Report what can be found wrong in the materials of an item row that failed."""
        for number, values in row.materials:
            try:
                _parse_material(values)
            except _RowInvalid as exc:
                self.error(MATERIALS_SHEET, number, exc.column, exc.message)

    def write(self, row: _ItemRow) -> None:
        errors = len(self.result.errors)
        self.write_item(row)
        if len(self.result.errors) > errors:
            self.check_materials(row)

    def write_item(self, row: _ItemRow) -> None:
        values = row.values
        department = self.departments.get(values["department"])
        if department is None:
            self.error(
                ITEMS_SHEET, row.row, "department", _("No department in your jurisdiction has this code.")
            )
            return
        try:
            schema = _parse_json("form_schema", values["form_schema"])
            process = _parse_json("process", values["process"])
            found = self.draft_for(row, department)
            if found is None:
                return
            draft, created = found
            if schema is not None:
                services.form_schema_set(version=draft, schema=schema, by=self.by)
            if process is not None:
                services.process_set(version=draft, stages=process, by=self.by)
        except _RowInvalid as exc:
            self.error(ITEMS_SHEET, row.row, exc.column, exc.message)
            return
        except DomainError as exc:
            self.domain_error(ITEMS_SHEET, row.row, exc)
            return
        errors = len(self.result.errors)
        self.write_materials(row, draft)
        if len(self.result.errors) > errors:
            return
        (self.result.created if created else self.result.drafted).append(values["implementation_code"])


def import_workbook(
    *,
    upload: IO[bytes],
    by: User,
    name: str | None = None,
    size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Create items and drafts from a workbook in the export's layout, all or nothing.

    A file that is not a readable .xlsx in the layout raises ``ValidationFailed``; rows with
    problems come back in ``ImportResult.errors`` and nothing is changed.
    """
    _ensure_administrator(by)
    workbook = open_workbook(upload, name=name, size=size, max_bytes=MAX_FILE_SIZE)
    try:
        item_rows = _read_sheet(workbook, ITEMS_SHEET, ITEM_COLUMNS)
        material_rows = _read_sheet(workbook, MATERIALS_SHEET, MATERIAL_COLUMNS)
    finally:
        workbook.close()
    importer = _Importer(by)
    rows = importer.group(item_rows, material_rows)
    try:
        with transaction.atomic():
            for done, row in enumerate(rows, start=1):
                importer.write(row)
                if progress is not None:
                    progress(done, len(rows))
            result = importer.result
            if result.errors:
                raise _Rollback
            audit.record(
                action="catalog.import",
                actor=by,
                summary=f"{len(result.created)} created, {len(result.drafted)} drafted",
                data={"created": result.created, "drafted": result.drafted},
            )
    except _Rollback:
        result = ImportResult(
            errors=sorted(importer.result.errors, key=lambda e: (e.sheet != ITEMS_SHEET, e.row))
        )
        audit.record(
            action="catalog.import",
            actor=by,
            outcome=AuditOutcome.FAILURE,
            summary=f"{len(result.errors)} problems",
            data={"errors": len(result.errors), "rows": sorted({e.row for e in result.errors})[:100]},
        )
    return result


def error_report(errors: Iterable[RowError | dict[str, Any]]) -> bytes:
    """The problems of a failed import as a one-sheet .xlsx, for fixing the file row by row."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "错误"
    sheet.append(list(ERROR_COLUMNS))
    for error in errors:
        entry = error.as_dict() if isinstance(error, RowError) else error
        sheet.append([entry["sheet"], entry["row"] or "", entry["column"], entry["message"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

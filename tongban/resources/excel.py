"""The catalogue as an Excel workbook (政务信息资源目录表): export of what a user may see, and import.

Layout: one sheet, 信息资源目录, with one row per data item (信息项) and the resource's columns on
each of its rows, the way the catalogue templates of the national cataloguing guide and of the
provincial platforms are laid out (they merge the resource's cells over its item rows; a row whose
resource columns are empty, as merged cells read, continues the resource above). A second sheet,
填写说明, lists the columns and the values each accepts. Headers and values are the file format, in
Simplified Chinese whatever the interface language; import also reads the codes (``conditional``)
and the interface's labels, and the usual synonyms of the templates (字符型/C, 接口服务, 每天 …).

Import is all or nothing: every resource in the file goes through the catalogue's services in one
transaction, every problem is collected with its row and column, and if there is any the
transaction is rolled back and the problems come back (``ImportResult.errors``; ``error_report``
makes them a workbook). A row without a resource code makes a new draft of its provider (the
importer's department; the catalogue office may import for any department). A row with the code
of an existing resource updates it: a draft is edited, a published resource gets a correction for
review, and a resource whose values in the file are what it already holds is left alone, so an
exported file imported back changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from tongban.core import audit
from tongban.core.errors import DomainError
from tongban.core.models import AuditOutcome
from tongban.core.workbooks import file_error, open_workbook
from tongban.identity.models import Department, User
from tongban.resources import permissions, selectors, services
from tongban.resources.choices import (
    DataType,
    OpenType,
    ResourceFormat,
    ResourceStatus,
    SharingMode,
    SharingType,
    UpdateCycle,
)
from tongban.resources.metadata import clean_resource, normalised, values_of
from tongban.resources.models import DataItem, DataResource

MAX_FILE_SIZE = 10 * 1024 * 1024
MAX_ROWS = 20_000
SHEET = "信息资源目录"
GUIDE_SHEET = "填写说明"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_REASON = "Excel 导入更正"
ERROR_COLUMNS = ("行号", "列", "问题")
_LIST_SPLIT = re.compile(r"[、，,;；\n]+")
_CLASSIFICATION_SPLIT = re.compile(r"[\s\-./_]+")
_YES = {"是", "y", "yes", "true", "1", "✓", "√"}
_NO = {"否", "n", "no", "false", "0", ""}

# (field, header, required) of every column, in sheet order. The headers are the file format.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("classification", "信息资源分类", True),
    ("name", "信息资源名称", True),
    ("code", "信息资源代码", False),
    ("provider_name", "信息资源提供方", False),
    ("provider_code", "信息资源提供方代码", True),
    ("summary", "信息资源摘要", True),
    ("format", "信息资源格式", True),
    ("item_name", "信息项名称", True),
    ("item_key", "信息项标识", True),
    ("data_type", "数据类型", True),
    ("length", "数据长度", False),
    ("sensitive", "是否敏感", False),
    ("is_key", "是否主键", True),
    ("item_description", "信息项说明", False),
    ("sharing_type", "共享类型", True),
    ("sharing_conditions", "共享条件", False),
    ("not_shared_basis", "不予共享依据", False),
    ("sharing_modes", "共享方式", False),
    ("open_type", "开放类型", True),
    ("open_conditions", "开放条件", False),
    ("update_cycle", "更新周期", True),
    ("published_on", "发布日期", False),
    ("related_codes", "关联资源代码", False),
    ("status", "状态", False),
)
HEADERS = {name: header for name, header, _required in COLUMNS}
RESOURCE_FIELDS = (
    "classification",
    "name",
    "code",
    "provider_name",
    "provider_code",
    "summary",
    "format",
    "sharing_type",
    "sharing_conditions",
    "not_shared_basis",
    "sharing_modes",
    "open_type",
    "open_conditions",
    "update_cycle",
    "related_codes",
)
ITEM_COLUMNS = ("item_name", "item_key", "data_type", "length", "sensitive", "is_key", "item_description")

# How each choice is written in the file, and the synonyms the usual templates use.
FILE_LABELS: dict[str, dict[str, str]] = {
    "format": {
        ResourceFormat.DATABASE: "数据库",
        ResourceFormat.SPREADSHEET: "电子表格",
        ResourceFormat.DOCUMENT: "电子文件",
        ResourceFormat.IMAGE: "图形图像",
        ResourceFormat.MEDIA: "流媒体",
        ResourceFormat.SELF_DESCRIBING: "自描述格式",
        ResourceFormat.OTHER: "其他",
    },
    "data_type": {
        DataType.STRING: "字符型",
        DataType.INTEGER: "整数型",
        DataType.DECIMAL: "数值型",
        DataType.DATE: "日期型",
        DataType.DATETIME: "日期时间型",
        DataType.BOOLEAN: "布尔型",
        DataType.CODE: "代码型",
        DataType.BINARY: "二进制型",
    },
    "sharing_type": {
        SharingType.UNCONDITIONAL: "无条件共享",
        SharingType.CONDITIONAL: "有条件共享",
        SharingType.NOT_SHARED: "不予共享",
    },
    "sharing_modes": {
        SharingMode.INTERFACE: "接口",
        SharingMode.FILE: "文件下载",
        SharingMode.QUERY: "页面查询",
    },
    "open_type": {
        OpenType.UNCONDITIONAL: "无条件开放",
        OpenType.CONDITIONAL: "有条件开放",
        OpenType.NOT_OPEN: "不予开放",
    },
    "update_cycle": {
        UpdateCycle.REAL_TIME: "实时",
        UpdateCycle.DAILY: "每日",
        UpdateCycle.WEEKLY: "每周",
        UpdateCycle.MONTHLY: "每月",
        UpdateCycle.QUARTERLY: "每季度",
        UpdateCycle.YEARLY: "每年",
        UpdateCycle.IRREGULAR: "不定期",
    },
    "status": {
        ResourceStatus.DRAFT: "草稿",
        ResourceStatus.IN_REVIEW: "审核中",
        ResourceStatus.PUBLISHED: "已发布",
        ResourceStatus.RETIRED: "已废止",
    },
}
SYNONYMS: dict[str, dict[str, str]] = {
    "format": {
        "库表": "database",
        "数据库表": "database",
        "表格": "spreadsheet",
        "excel": "spreadsheet",
        "文档": "document",
        "文件": "document",
        "图片": "image",
        "图像": "image",
        "视频": "media",
        "xml": "self_describing",
        "json": "self_describing",
    },
    "data_type": {
        "c": "string",
        "字符": "string",
        "字符串": "string",
        "文本": "string",
        "文本型": "string",
        "备注型": "string",
        "m": "string",
        "i": "integer",
        "整型": "integer",
        "整数": "integer",
        "n": "decimal",
        "数值": "decimal",
        "数字型": "decimal",
        "浮点型": "decimal",
        "f": "decimal",
        "双精度型": "decimal",
        "货币型": "decimal",
        "y": "decimal",
        "小数": "decimal",
        "d": "date",
        "日期": "date",
        "t": "datetime",
        "日期时间": "datetime",
        "l": "boolean",
        "逻辑型": "boolean",
        "布尔": "boolean",
        "代码": "code",
        "编码": "code",
        "g": "binary",
        "通用型": "binary",
        "二进制": "binary",
    },
    "sharing_type": {"无条件": "unconditional", "有条件": "conditional", "不共享": "not_shared"},
    "sharing_modes": {
        "接口服务": "interface",
        "服务接口": "interface",
        "api": "interface",
        "数据接口": "interface",
        "文件": "file",
        "批量下载": "file",
        "文件传输": "file",
        "查询": "query",
        "在线查询": "query",
        "网页查询": "query",
    },
    "open_type": {
        "无条件": "unconditional",
        "有条件": "conditional",
        "不开放": "not_open",
        "不予公开": "not_open",
    },
    "update_cycle": {
        "每天": "daily",
        "日": "daily",
        "周": "weekly",
        "月": "monthly",
        "季度": "quarterly",
        "每季": "quarterly",
        "年": "yearly",
        "每年度": "yearly",
        "按需": "irregular",
        "不定时": "irregular",
        "实时更新": "real_time",
    },
}
_CHOICES: dict[str, Any] = {
    "format": ResourceFormat,
    "data_type": DataType,
    "sharing_type": SharingType,
    "sharing_modes": SharingMode,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
}
# Where an error a service reports on one of its fields belongs in the sheet.
_SERVICE_COLUMNS = {
    "category": "classification",
    "item_code": "classification",
    "heading_code": "classification",
    "subheading_code": "classification",
    "provider": "provider_code",
    "reason": "",
}
_ITEM_FIELD_COLUMNS = {
    "key": "item_key",
    "name": "item_name",
    "data_type": "data_type",
    "length": "length",
    "sensitive": "sensitive",
    "is_key": "is_key",
    "description": "item_description",
}
# Errors about the list of items as a whole, and the column they are shown in.
_ITEMS_ERROR_COLUMNS = {
    "items_required": "item_name",
    "items_too_many": "item_name",
    "key_item_required": "is_key",
    "key_item_multiple": "is_key",
    "item_remove_forbidden": "item_key",
}


@dataclass(frozen=True)
class RowError:
    row: int  # the row number as Excel shows it; 0 for a problem with the whole file
    column: str  # the column header, "" when the problem is with the whole row
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)  # codes of new drafts
    updated: list[str] = field(default_factory=list)  # drafts whose values changed
    corrected: list[str] = field(default_factory=list)  # published resources given a correction
    unchanged: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Rollback(Exception):
    """Raised inside the import's transaction when any resource failed, to undo every one."""


class _CellInvalid(Exception):
    def __init__(self, column: str, message: str | Promise) -> None:
        super().__init__(str(message))
        self.column = column
        self.message = message


# --- export ----------------------------------------------------------------------------------


def _file_label(name: str, value: str) -> str:
    return FILE_LABELS[name].get(value, value)


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def _resource_cells(resource: DataResource) -> dict[str, Any]:
    return {
        "classification": resource.classification,
        "name": resource.name,
        "code": resource.code,
        "provider_name": resource.provider.name,
        "provider_code": resource.provider_code,
        "summary": resource.summary,
        "format": _file_label("format", resource.format),
        "sharing_type": _file_label("sharing_type", resource.sharing_type),
        "sharing_conditions": resource.sharing_conditions,
        "not_shared_basis": resource.not_shared_basis,
        "sharing_modes": "、".join(_file_label("sharing_modes", m) for m in resource.sharing_modes or []),
        "open_type": _file_label("open_type", resource.open_type),
        "open_conditions": resource.open_conditions,
        "update_cycle": _file_label("update_cycle", resource.update_cycle),
        "published_on": resource.published_on,
        "related_codes": "、".join(sorted(r.code for r in resource.related.all())),
        "status": _file_label("status", resource.status),
    }


def _item_cells(item: DataItem | None) -> dict[str, Any]:
    if item is None:
        return dict.fromkeys(ITEM_COLUMNS, "")
    return {
        "item_name": item.name,
        "item_key": item.key,
        "data_type": _file_label("data_type", item.data_type),
        "length": item.length if item.length is not None else "",
        "sensitive": _yes_no(item.sensitive),
        "is_key": _yes_no(item.is_key),
        "item_description": item.description,
    }


def _style_sheet(sheet: Any, rows: int) -> None:
    header_font = Font(bold=True)
    fill = PatternFill("solid", fgColor="F2DCDB")
    for index, (name, _header, required) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = header_font
        if required:
            cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        width = 40 if name in ("summary", "sharing_conditions", "not_shared_basis") else 18
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C2"
    last = max(rows + 200, 500)
    for name in ("format", "data_type", "sharing_type", "open_type", "update_cycle", "sensitive", "is_key"):
        values = ["是", "否"] if name in ("sensitive", "is_key") else list(FILE_LABELS[name].values())
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        letter = get_column_letter([c[0] for c in COLUMNS].index(name) + 1)
        validation.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(validation)


_GUIDE_ROWS: tuple[tuple[str, str], ...] = (
    ("信息资源分类", "类(1位：1 基础、2 主题、3 部门)+项(2位)+目(3位)+细目(0-3位)，如 101001 或 1-01-001。"),
    ("信息资源名称", "同一提供方的在用资源名称不得重复。"),
    (
        "信息资源代码",
        "新资源留空，由系统按分类分配（前段码/后段码，如 101001/000001）；填写已有代码则更新该资源。",
    ),
    ("信息资源提供方代码", "提供方的统一社会信用代码。"),
    ("信息项标识", "小写字母、数字和下划线，字母开头，如 resident_id；交换接口以此命名字段。"),
    ("数据类型", "、".join(FILE_LABELS["data_type"].values()) + "；字符型和代码型须填数据长度。"),
    ("是否主键", "每个资源恰有一个信息项为“是”（按其查询）。"),
    (
        "共享类型",
        "、".join(FILE_LABELS["sharing_type"].values()) + "；有条件共享须填共享条件，不予共享须填依据。",
    ),
    (
        "共享方式",
        "、".join(FILE_LABELS["sharing_modes"].values()) + "，可填多个，用“、”分隔；不予共享的资源不填。",
    ),
    ("开放类型", "、".join(FILE_LABELS["open_type"].values()) + "；不予共享的资源只能不予开放。"),
    ("更新周期", "、".join(FILE_LABELS["update_cycle"].values())),
    ("发布日期、状态", "导出时填写，导入时不读取。"),
    ("合并单元格", "一行一个信息项；资源各列可在其信息项行上合并，留空的资源列视为上一资源的续行。"),
)


def _guide_sheet(workbook: Workbook) -> None:
    sheet = workbook.create_sheet(GUIDE_SHEET)
    sheet.append(["列", "填写要求"])
    for row in _GUIDE_ROWS:
        sheet.append(list(row))
    sheet.column_dimensions["A"].width = 20
    sheet.column_dimensions["B"].width = 100
    sheet["A1"].font = sheet["B1"].font = Font(bold=True)


def _exported(by: User | None) -> QuerySet[DataResource]:
    qs = DataResource.objects.all() if by is None else selectors.resources_visible_to(by)
    return (
        qs.select_related("provider")
        .prefetch_related(
            Prefetch("items", queryset=DataItem.objects.order_by("sort_order", "pk")),
            Prefetch("related", queryset=DataResource.objects.only("pk", "code")),
        )
        .order_by("code")
    )


def export_workbook(*, by: User | None, template: bool = False) -> bytes:
    """What ``by`` may see (everything when the system exports, ``by=None``) as .xlsx bytes.

    ``template`` gives the empty layout with its guide, for filling in.
    """
    if by is not None:
        permissions.ensure_uses_catalogue(by)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append([header for _name, header, _required in COLUMNS])
    resources = 0
    rows = 0
    if not template:
        for resource in _exported(by).iterator(chunk_size=500):
            cells = _resource_cells(resource)
            items: Iterable[DataItem | None] = list(resource.items.all()) or [None]
            for item in items:
                values = {**cells, **_item_cells(item)}
                sheet.append([values[name] for name, _header, _required in COLUMNS])
                rows += 1
                published = sheet.cell(row=rows + 1, column=[c[0] for c in COLUMNS].index("published_on") + 1)
                published.number_format = "yyyy-mm-dd"
            resources += 1
    _style_sheet(sheet, rows)
    _guide_sheet(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if not template:
        audit.record(
            action="resource.export",
            actor=by,
            summary=f"{resources} data resources",
            data={"resources": resources, "rows": rows},
        )
    return buffer.getvalue()


# --- reading -------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(value).strip()


def _read_rows(workbook: Any) -> list[tuple[int, dict[str, str]]]:
    sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [_cell_text(value) for value in next(rows, ())]
    positions: dict[str, int] = {}
    for name, title, _required in COLUMNS:
        for alias in (title, name):
            if alias in header:
                positions[name] = header.index(alias)
                break
    missing = [title for name, title, required in COLUMNS if required and name not in positions]
    if missing:
        raise file_error(
            _("The first row lacks the columns %(columns)s.") % {"columns": "、".join(missing)},
            "import_header_missing",
        )
    result: list[tuple[int, dict[str, str]]] = []
    for number, row in enumerate(rows, start=2):
        values = {
            name: (
                _cell_text(row[positions[name]]) if name in positions and positions[name] < len(row) else ""
            )
            for name, _title, _required in COLUMNS
        }
        if not any(values.values()):
            continue
        if len(result) >= MAX_ROWS:
            raise file_error(
                _("A sheet may have at most %(n)s rows.") % {"n": MAX_ROWS}, "import_too_many_rows"
            )
        result.append((number, values))
    return result


# --- parsing cells ---------------------------------------------------------------------------


def _lookup(name: str) -> dict[str, str]:
    """Every way a value of a choice column may be written: code, file label, UI labels, synonyms."""
    lookup: dict[str, str] = {}
    for member in _CHOICES[name]:
        lookup[str(member.value).lower()] = member.value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup[str(member.label).lower()] = member.value
    for value, label in FILE_LABELS[name].items():
        lookup[label.lower()] = value
    lookup.update(SYNONYMS.get(name, {}))
    return lookup


def _choice(column: str, text: str) -> str:
    if not text:
        return ""
    value = _lookup(column).get(text.strip().lower())
    if value is None:
        raise _CellInvalid(
            column,
            _("Write one of: %(values)s.") % {"values": "、".join(FILE_LABELS[column].values())},
        )
    return value


def _flag(column: str, text: str) -> bool:
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise _CellInvalid(column, _("Write 是 or 否."))


def _split(text: str) -> list[str]:
    return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]


def _classification(text: str) -> dict[str, str]:
    """``101001``, ``1-01-001-002`` or ``1 01 001`` as 类/项/目/细目; the services check each part."""
    parts = [part for part in _CLASSIFICATION_SPLIT.split(text.strip()) if part]
    if len(parts) == 1:
        digits = parts[0]
        parts = [digits[:1], digits[1:3], digits[3:6], digits[6:]]
    if not 3 <= len(parts) <= 4:
        raise _CellInvalid(
            "classification",
            _("Write the classification as 类项目细目 digits, e.g. 101001 or 1-01-001-001."),
        )
    parts = [*parts, ""][:4]
    return dict(zip(("category", "item_code", "heading_code", "subheading_code"), parts, strict=True))


# --- import ----------------------------------------------------------------------------------


@dataclass
class _Group:
    """The rows of one resource in the file: its values from its first row, one item per row."""

    first: int
    values: dict[str, str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


class _Importer:
    def __init__(self, by: User) -> None:
        self.by = by
        self.result = ImportResult()

    def error(self, row: int, column: str, message: str | Promise) -> None:
        self.result.errors.append(RowError(row, HEADERS.get(column, ""), str(message)))

    # grouping

    def group(self, rows: list[tuple[int, dict[str, str]]]) -> list[_Group]:
        groups: dict[tuple[str, ...], _Group] = {}
        current: _Group | None = None
        for number, values in rows:
            if values["code"]:
                key: tuple[str, ...] | None = ("code", values["code"])
            elif values["name"]:
                key = ("name", values["provider_code"], values["name"])
            else:
                key = None
            if key is None:
                if current is None:
                    self.error(number, "name", _("Enter the resource's name (or its code) on its first row."))
                    continue
                group = current
            else:
                group = groups.get(key) or groups.setdefault(key, _Group(first=number, values=dict(values)))
                current = group
            for name in RESOURCE_FIELDS:
                mine, theirs = values[name], group.values[name]
                if mine and theirs and mine != theirs:
                    self.error(
                        number,
                        name,
                        _("Differs from row %(row)s of the same resource; its rows must agree.")
                        % {"row": group.first},
                    )
                elif mine and not theirs:
                    group.values[name] = mine
            group.rows.append((number, values))
        return list(groups.values())

    # parsing

    def provider(self, group: _Group) -> Department | None:
        code = group.values["provider_code"]
        if not code:
            self.error(group.first, "provider_code", _("Enter the provider's unified social credit code."))
            return None
        department = Department.objects.filter(credit_code=code.upper()).first()
        if department is None:
            self.error(group.first, "provider_code", _("No department has this unified social credit code."))
            return None
        if not permissions.acts_for(self.by, department):
            self.error(
                group.first,
                "provider_code",
                _("You may import only your own department's resources."),
            )
            return None
        named = group.values["provider_name"]
        if named and named not in (department.name, department.short_name):
            self.error(
                group.first,
                "provider_name",
                _("The provider's name does not match its code (%(name)s).") % {"name": department.name},
            )
            return None
        return department

    def parse(self, group: _Group) -> dict[str, Any] | None:
        values = group.values
        errors = len(self.result.errors)
        parsed: dict[str, Any] = {}
        for name in ("name", "summary", "sharing_conditions", "not_shared_basis", "open_conditions"):
            parsed[name] = values[name]
        try:
            parsed.update(_classification(values["classification"]))
        except _CellInvalid as exc:
            self.error(group.first, exc.column, exc.message)
        for name in ("format", "sharing_type", "open_type", "update_cycle"):
            try:
                parsed[name] = _choice(name, values[name])
            except _CellInvalid as exc:
                self.error(group.first, exc.column, exc.message)
        try:
            parsed["sharing_modes"] = [_choice("sharing_modes", m) for m in _split(values["sharing_modes"])]
        except _CellInvalid as exc:
            self.error(group.first, exc.column, exc.message)
        parsed["related_codes"] = _split(values["related_codes"])
        items: list[dict[str, Any]] = []
        for number, row in group.rows:
            if not any(row[name] for name in ITEM_COLUMNS):
                continue
            item: dict[str, Any] = {
                "key": row["item_key"],
                "name": row["item_name"],
                "length": row["length"],
                "description": row["item_description"],
            }
            for name in ("sensitive", "is_key"):
                try:
                    item[name] = _flag(name, row[name])
                except _CellInvalid as exc:
                    self.error(number, exc.column, exc.message)
            try:
                item["data_type"] = _choice("data_type", row["data_type"])
            except _CellInvalid as exc:
                self.error(number, exc.column, exc.message)
            item["_row"] = number
            items.append(item)
        parsed["items"] = items
        return parsed if len(self.result.errors) == errors else None

    def domain_error(self, group: _Group, items: list[dict[str, Any]], exc: DomainError) -> None:
        problems = exc.extra.get("problems") or [
            {"field": name, "code": exc.code, "message": str(message)}
            for name, messages in exc.fields.items()
            for message in messages
        ]
        if not problems:
            self.error(group.first, "", exc.message)
        for problem in problems:
            name = problem["field"]
            if name.startswith("items."):
                _prefix, position, item_field = name.split(".", 2)
                index = int(position)
                row = items[index]["_row"] if index < len(items) else group.first
                self.error(row, _ITEM_FIELD_COLUMNS.get(item_field, ""), problem["message"])
            elif name == "items":
                self.error(
                    group.first, _ITEMS_ERROR_COLUMNS.get(problem["code"], "item_name"), problem["message"]
                )
            else:
                self.error(group.first, _SERVICE_COLUMNS.get(name, name), problem["message"])

    # writing

    def write(self, group: _Group) -> None:
        provider = self.provider(group)
        parsed = self.parse(group)
        if provider is None or parsed is None:
            return
        items = parsed["items"]
        service_values = {**parsed, "items": [{k: v for k, v in i.items() if k != "_row"} for i in items]}
        try:
            spec = clean_resource(service_values)
        except DomainError as exc:
            self.domain_error(group, items, exc)
            return
        code = group.values["code"]
        try:
            if not code:
                resource = services.resource_create(by=self.by, provider=provider, **service_values)
                self.result.created.append(resource.code)
                return
            self.update(group, provider, code, spec.as_values(), service_values)
        except DomainError as exc:
            self.domain_error(group, items, exc)

    def update(
        self,
        group: _Group,
        provider: Department,
        code: str,
        wanted: dict[str, Any],
        service_values: dict[str, Any],
    ) -> None:
        resource = DataResource.objects.filter(code=code).select_related("provider").first()
        if resource is None or not selectors.resources_visible_to(self.by).filter(pk=resource.pk).exists():
            self.error(
                group.first,
                "code",
                _("No resource you can see has this code; leave it empty for a new resource."),
            )
            return
        if resource.provider_id != provider.pk:
            self.error(group.first, "provider_code", _("An existing resource keeps its provider."))
            return
        current = normalised(values_of(resource))
        correction = selectors.open_correction(resource)
        proposed = None
        if correction is not None:
            proposed = normalised({**values_of(resource), **correction.data, "items": correction.items})
        if wanted in (current, proposed):
            self.result.unchanged.append(code)
            return
        if not permissions.acts_for(self.by, resource.provider):
            self.error(group.first, "code", _("You may import only your own department's resources."))
        elif resource.status == ResourceStatus.DRAFT:
            services.resource_update(resource=resource, by=self.by, **service_values)
            self.result.updated.append(code)
        elif resource.status == ResourceStatus.PUBLISHED:
            services.correction_save(resource=resource, by=self.by, reason=IMPORT_REASON, **service_values)
            self.result.corrected.append(code)
        elif resource.status == ResourceStatus.IN_REVIEW:
            self.error(group.first, "code", _("The resource is in review; withdraw it before changing it."))
        else:
            self.error(group.first, "code", _("The resource is retired and can no longer change."))


def import_workbook(
    *,
    upload: IO[bytes],
    by: User,
    name: str | None = None,
    size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Create and update resources from a workbook in the export's layout, all or nothing.

    A file that is not a readable .xlsx in the layout raises ``ValidationFailed``; rows with
    problems come back in ``ImportResult.errors`` and nothing is changed.
    """
    permissions.ensure_uses_catalogue(by)
    workbook = open_workbook(upload, name=name, size=size, max_bytes=MAX_FILE_SIZE)
    try:
        rows = _read_rows(workbook)
    finally:
        workbook.close()
    importer = _Importer(by)
    groups = importer.group(rows)
    try:
        with transaction.atomic():
            for done, group in enumerate(groups, start=1):
                importer.write(group)
                if progress is not None:
                    progress(done, len(groups))
            result = importer.result
            if result.errors:
                raise _Rollback
            audit.record(
                action="resource.import",
                actor=by,
                summary=f"{len(result.created)} created, {len(result.updated)} updated, "
                f"{len(result.corrected)} corrected",
                data={
                    "created": result.created,
                    "updated": result.updated,
                    "corrected": result.corrected,
                    "unchanged": len(result.unchanged),
                },
            )
    except _Rollback:
        result = ImportResult(errors=sorted(importer.result.errors, key=lambda e: (e.row, e.column)))
        audit.record(
            action="resource.import",
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
        sheet.append([entry["row"] or "", entry["column"], entry["message"]])
    sheet.column_dimensions["B"].width = 20
    sheet.column_dimensions["C"].width = 80
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

"""What each importable dataset looks like in a file, and how one row of it is checked.

A ``DatasetSpec`` lists the columns of the usual template (the Chinese header first, then the
other spellings department systems export, then the English field name), which of them a file must
have, and builds the row cleaner for one file: a function from the row's cells to the tuple the
staging table takes, in ``spec.staging`` order. The cleaner checks every cell and raises
``RowProblems`` with *all* the row's problems, so the error report lists each of them at once.

Column rules: a required column must be in the header; an optional column that is absent leaves
existing records' values as they are and gives new records its default (marital status 90 未说明,
alive, the entity type read from the credit code…); a blank cell in a present column means what the
field's check says (blank gender or date of birth: taken from the resident ID).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.basedata import codes
from tongban.basedata import validators as v
from tongban.basedata.choices import Dataset, EntityStatus, LifeStatus
from tongban.basedata.models import IndicatorValue, LegalEntity, Person, StandardAddress
from tongban.core.errors import ValidationFailed

Row = tuple[Any, ...]
Cleaner = Callable[[Sequence[str]], Row]


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # the template's header (a file format: Chinese whatever the interface language)
    aliases: tuple[str, ...] = ()
    required: bool = False  # the column must be in the file
    default: Any = ""  # the value of new records when the column is absent
    sensitive: str = ""  # "id", "name" or "text": how its values are masked in the error report
    note: str = ""  # the template's explanation of the column (Chinese, like the header)

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.header, *self.aliases, self.field)


@dataclass
class SeriesInfo:
    pk: int | None
    department_id: int | None
    name: str
    unit: str
    frequency: str


@dataclass
class Context:
    """What the checks of one job look codes up in, loaded once when the job starts."""

    regions: frozenset[str]  # every GB/T 2260 code ever valid (the first six digits of IDs)
    divisions: frozenset[str]  # the base's division table
    dates: dict[str, str]
    department_id: int | None = None
    division_names: dict[str, str] = field(default_factory=dict)  # code -> full name (province to township)
    series: dict[str, SeriesInfo] = field(default_factory=dict)  # indicator series by code
    new_series: dict[str, SeriesInfo] = field(default_factory=dict)  # created by this file's rows


class RowProblems(Exception):
    """A row is refused: ``errors`` lists (field, reason code) for every problem found."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class ColumnMap:
    """Where each recognised field is in the file's rows, and what the file calls it."""

    positions: dict[str, int]
    headers: dict[str, str]
    ignored: tuple[str, ...] = ()

    def index(self, name: str) -> int:
        return self.positions.get(name, -1)

    @property
    def fields(self) -> list[str]:
        return sorted(self.positions, key=self.positions.__getitem__)


@dataclass(frozen=True)
class DatasetSpec:
    dataset: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    staging: tuple[str, ...]  # the cleaned row's fields, in order
    key: tuple[str, ...]  # staging fields that identify a record
    build: Callable[[ColumnMap, Context], Cleaner]
    reconcilable: tuple[str, ...] = ()  # fields a reconciliation may compare
    derived: tuple[str, ...] = ()  # fields worked out from others when their column is absent

    def absent_fields(self, columns: ColumnMap) -> list[str]:
        """Fields the file has no column for and that cannot be worked out: existing records keep them."""
        return [
            c.field for c in self.columns if c.field not in columns.positions and c.field not in self.derived
        ]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.field == name)

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    def key_function(self) -> Callable[[Row], Any]:
        """What identifies a cleaned row (duplicates in a file are found by it)."""
        if self.dataset == Dataset.POPULATION:
            # 17 digits decide an 18-character ID: an int takes half the memory of the string.
            return lambda row: int(row[0][:17])
        if len(self.key) == 1:
            return operator.itemgetter(0)
        return operator.itemgetter(*(self.staging.index(name) for name in self.key))


def normalise_header(text: str) -> str:
    """``身份号码*`` -> ``身份号码``, ``资本（万元）`` -> ``资本(万元)``, `` Name `` -> ``name``."""
    cleaned = (text or "").replace("\ufeff", "").replace("＊", "").replace("*", "")
    cleaned = cleaned.replace("（", "(").replace("）", ")").replace(" ", "").replace("\u3000", "")
    return cleaned.strip().lower()


def map_header(spec: DatasetSpec, header: Sequence[str], *, wanted: Sequence[str] | None = None) -> ColumnMap:
    """Recognise the file's columns; refuse a file that lacks a required one or repeats one.

    ``wanted`` (a reconciliation) asks for the key and those fields only, all of them required.
    """
    by_spelling: dict[str, Column] = {}
    for column in spec.columns:
        for spelling in column.spellings:
            by_spelling.setdefault(normalise_header(spelling), column)
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    repeated: list[str] = []
    for index, raw in enumerate(header):
        found = by_spelling.get(normalise_header(str(raw or "")))
        if found is None or (
            wanted is not None and found.field not in wanted and found.field not in spec.key
        ):
            if str(raw or "").strip():
                ignored.append(str(raw).strip())
            continue
        if found.field in positions:
            repeated.append(str(raw).strip())
            continue
        positions[found.field] = index
        headers[found.field] = str(raw).strip()
    if repeated:
        message = _("These columns appear twice: %(columns)s") % {"columns": "、".join(repeated)}
        raise ValidationFailed(message, code="duplicate_columns", fields={"file": [message]})
    needed = [
        c
        for c in spec.columns
        if c.field in spec.key or (c.required if wanted is None else c.field in wanted)
    ]
    missing = [c.header for c in needed if c.field not in positions]
    if missing:
        message = _("The file lacks these columns: %(columns)s") % {"columns": "、".join(missing)}
        raise ValidationFailed(message, code="missing_columns", fields={"file": [message]})
    return ColumnMap(positions=positions, headers=headers, ignored=tuple(ignored))


Check = Callable[[str], Any]


def _plan(columns: ColumnMap, checks: Sequence[tuple[Column, Check]]) -> list[tuple[int, str, Check, Any]]:
    return [(columns.index(c.field), c.field, check, c.default) for c, check in checks]


def _run(
    plan: list[tuple[int, str, Check, Any]], cells: Sequence[str]
) -> tuple[list[Any], list[tuple[str, str]]]:
    """Check each planned cell; absent columns give their default. Returns the values and the problems."""
    values: list[Any] = []
    errors: list[tuple[str, str]] = []
    for index, name, check, default in plan:
        if index < 0:
            values.append(default)
            continue
        try:
            values.append(check(cells[index].strip()))
        except v.FieldError as exc:
            errors.append((name, exc.code))
            values.append(None)
    return values, errors


# --- population ------------------------------------------------------------------------------

POPULATION_COLUMNS = (
    Column(
        "resident_id",
        "公民身份号码",
        ("身份证号", "身份证号码", "居民身份证号码", "身份证件号码", "证件号码", "id_number"),
        required=True,
        sensitive="id",
        note="18位居民身份证号码（GB 11643），末位可为X；请将本列设为文本格式",
    ),
    Column("name", "姓名", ("名字",), required=True, sensitive="name", note="不超过100字"),
    Column("gender", "性别", ("性别代码", "sex"), note="1或男、2或女（GB/T 2261.1）；留空按身份证号码推定"),
    Column(
        "birth_date",
        "出生日期",
        ("出生年月日", "date_of_birth"),
        note="如 1986-03-12；须与身份证号码一致，留空按身份证号码推定",
    ),
    Column(
        "ethnicity", "民族", ("民族代码", "nation"), required=True, note="GB/T 3304 代码（01汉族…）或民族名称"
    ),
    Column(
        "household_address",
        "户籍地址",
        ("户籍地详址", "户籍详址", "户籍所在地", "住址", "address"),
        required=True,
        sensitive="text",
        note="不超过255字",
    ),
    Column(
        "division_code",
        "行政区划代码",
        ("户籍地行政区划代码", "户籍地区划代码", "区划代码"),
        required=True,
        note="户籍地的GB/T 2260代码（6位）或乡镇街道代码（9位）",
    ),
    Column(
        "marital_status",
        "婚姻状况",
        ("婚姻状况代码",),
        default="90",
        note="GB/T 2261.2：10未婚 20已婚 21初婚 22再婚 23复婚 30丧偶 40离婚 90未说明；留空为90",
    ),
    Column(
        "life_status",
        "生存状态",
        ("人员状态", "存活状态"),
        default=LifeStatus.ALIVE,
        note="正常 或 死亡",
    ),
    Column(
        "source_updated_at",
        "来源更新时间",
        ("更新时间", "数据更新时间", "updated_at"),
        default=None,
        note="来源系统中该记录的更新时间，如 2025-03-01 10:00:00",
    ),
)
POPULATION_STAGING = (
    "resident_id",
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "household_address",
    "division_code",
    "marital_status",
    "life_status",
    "source_updated_at",
)


def _population_cleaner(columns: ColumnMap, ctx: Context) -> Cleaner:
    regions, divisions, dates = ctx.regions, ctx.divisions, ctx.dates
    col = {c.field: c for c in POPULATION_COLUMNS}
    plan = _plan(
        columns,
        (
            (col["resident_id"], v.resident_id_check(regions, dates)),
            (col["name"], v.text(100)),
            (col["gender"], v.gender),
            (col["birth_date"], v.date_check(dates, required=False)),
            (col["ethnicity"], v.ethnicity),
            (col["household_address"], v.text(255)),
            (col["division_code"], v.division_check(divisions)),
            (col["marital_status"], v.marital_status),
            (col["life_status"], v.life_status),
            (col["source_updated_at"], v.moment),
        ),
    )

    checks = [check for _index, _name, check, _default in plan]
    indices = [index for index, _name, _check, _default in plan]
    defaults = [default for _index, _name, _check, default in plan]
    (i_rid, i_name, i_sex, i_born, i_eth, i_addr, i_div, i_mar, i_life, i_upd) = indices
    (c_rid, c_name, c_sex, c_born, c_eth, c_addr, c_div, c_mar, c_life, c_upd) = checks
    d_mar, d_life, d_upd = defaults[7], defaults[8], defaults[9]

    def finish(values: list[Any], errors: list[tuple[str, str]]) -> Row:
        """The checks across fields: gender and date of birth agree with the ID (or come from it)."""
        rid = values[0]
        if rid is not None:
            sex = "1" if rid[16] in "13579" else "2"
            if not values[2]:
                values[2] = sex
            elif values[2] != sex:
                errors.append(("gender", "gender_mismatch"))
            born = dates[rid[6:14]]
            if not values[3]:
                values[3] = born
            elif values[3] != born:
                errors.append(("birth_date", "birth_date_mismatch"))
        if errors:
            raise RowProblems(errors)
        return tuple(values)

    def clean_slowly(cells: Sequence[str]) -> Row:
        values, errors = _run(plan, cells)
        return finish(values, errors)

    if min(i_rid, i_name, i_eth, i_addr, i_div) < 0:
        return clean_slowly  # a reconciliation file: only some columns

    def clean(cells: Sequence[str]) -> Row:
        # The plan's checks written out in order (the common case: a good row); the first problem
        # sends the row through the general loop, which runs the same checks and collects them all.
        try:
            values = [
                c_rid(cells[i_rid].strip()),
                c_name(cells[i_name].strip()),
                c_sex(cells[i_sex].strip()) if i_sex >= 0 else "",
                c_born(cells[i_born].strip()) if i_born >= 0 else "",
                c_eth(cells[i_eth].strip()),
                c_addr(cells[i_addr].strip()),
                c_div(cells[i_div].strip()),
                c_mar(cells[i_mar].strip()) if i_mar >= 0 else d_mar,
                c_life(cells[i_life].strip()) if i_life >= 0 else d_life,
                c_upd(cells[i_upd].strip()) if i_upd >= 0 else d_upd,
            ]
        except v.FieldError:
            return clean_slowly(cells)
        return finish(values, [])

    return clean


# --- legal entities --------------------------------------------------------------------------

LEGAL_ENTITY_COLUMNS = (
    Column("credit_code", "统一社会信用代码", ("信用代码", "uscc"), required=True, note="18位（GB 32100）"),
    Column(
        "name", "名称", ("单位名称", "企业名称", "主体名称", "机构名称"), required=True, note="不超过200字"
    ),
    Column(
        "entity_type",
        "主体类型",
        ("类型", "单位类型", "企业类型", "市场主体类型", "type"),
        note="公司、个体工商户、农民专业合作社、事业单位、机关、社会组织、其他；留空按信用代码推定",
    ),
    Column(
        "legal_representative_name",
        "法定代表人",
        ("法定代表人姓名", "负责人", "经营者", "legal_representative"),
        required=True,
        sensitive="name",
    ),
    Column(
        "legal_representative_id",
        "法定代表人身份证号码",
        ("法定代表人公民身份号码", "法定代表人证件号码"),
        sensitive="id",
        note="可留空；填写时校验",
    ),
    Column(
        "registered_capital",
        "注册资本(万元)",
        ("注册资本", "注册资金(万元)", "注册资金", "出资额(万元)"),
        default=None,
        note="单位万元，可留空",
    ),
    Column("address", "住所", ("地址", "注册地址", "经营场所", "住所(经营场所)"), required=True),
    Column("division_code", "行政区划代码", ("区划代码",), required=True, note="住所的GB/T 2260代码"),
    Column("established_on", "成立日期", ("注册日期", "登记日期"), required=True, note="如 2015-06-30"),
    Column(
        "status",
        "登记状态",
        ("经营状态", "状态", "企业状态"),
        default=EntityStatus.ACTIVE,
        note="存续、注销、吊销",
    ),
    Column("business_scope", "经营范围", ("业务范围",)),
    Column("registration_authority", "登记机关", ("发证机关", "登记管理机关"), note="不超过200字"),
    Column("source_updated_at", "来源更新时间", ("更新时间", "数据更新时间", "updated_at"), default=None),
)
LEGAL_ENTITY_STAGING = tuple(c.field for c in LEGAL_ENTITY_COLUMNS)


def _legal_entity_cleaner(columns: ColumnMap, ctx: Context) -> Cleaner:
    regions, divisions, dates = ctx.regions, ctx.divisions, ctx.dates
    col = {c.field: c for c in LEGAL_ENTITY_COLUMNS}
    plan = _plan(
        columns,
        (
            (col["credit_code"], lambda value: v.credit_code(value, regions)),
            (col["name"], v.text(200)),
            (col["entity_type"], v.entity_type_label),
            (col["legal_representative_name"], v.text(100)),
            (col["legal_representative_id"], v.optional_resident_id(regions, dates)),
            (col["registered_capital"], v.decimal(max_digits=16, places=4, minimum=Decimal(0))),
            (col["address"], v.text(255)),
            (col["division_code"], v.division_check(divisions)),
            (col["established_on"], v.date_check(dates)),
            (col["status"], v.entity_status),
            (col["business_scope"], v.long_text),
            (col["registration_authority"], v.text(200, required=False)),
            (col["source_updated_at"], v.moment),
        ),
    )

    def clean(cells: Sequence[str]) -> Row:
        values, errors = _run(plan, cells)
        if errors:
            raise RowProblems(errors)
        if not values[2]:
            values[2] = codes.entity_type_of_credit_code(values[0])
        if values[5] == "":
            values[5] = None
        return tuple(values)

    return clean


# --- standard addresses ----------------------------------------------------------------------

ADDRESS_COLUMNS = (
    Column(
        "code",
        "地址编码",
        ("标准地址编码", "地址代码"),
        required=True,
        note="字母、数字、连字符和下划线，不超过32位",
    ),
    Column("division_code", "行政区划代码", ("区划代码", "所属区划代码"), required=True, note="6位或9位"),
    Column("road", "街路巷", ("道路名称", "街路巷名", "街路巷名称"), required=True),
    Column("house_number", "门牌号", ("门(楼)牌号", "门牌号码", "门楼牌号"), required=True),
    Column("building", "楼栋单元户室", ("楼栋单元房号", "楼栋号"), note="可留空"),
    Column(
        "full_address",
        "标准地址",
        ("完整地址", "地址全称"),
        note="留空时由区划名称、街路巷、门牌号和楼栋组成",
    ),
    Column("postcode", "邮政编码", ("邮编",), note="6位，可留空"),
    Column("longitude", "经度", ("lng",), default=None, note="十进制度数（CGCS2000），可留空"),
    Column("latitude", "纬度", ("lat",), default=None, note="十进制度数（CGCS2000），可留空"),
)
ADDRESS_STAGING = tuple(c.field for c in ADDRESS_COLUMNS)


def _address_cleaner(columns: ColumnMap, ctx: Context) -> Cleaner:
    divisions, names = ctx.divisions, ctx.division_names
    col = {c.field: c for c in ADDRESS_COLUMNS}
    longitude = v.decimal(max_digits=10, places=6, minimum=Decimal(73), maximum=Decimal(136))
    latitude = v.decimal(max_digits=10, places=6, minimum=Decimal(3), maximum=Decimal(54))

    def coordinate(check: Check) -> Check:
        def wrapped(value: str) -> Any:
            try:
                return check(value) or None
            except v.FieldError as exc:
                raise v.FieldError(
                    "coordinate_out_of_range" if exc.code == "number_out_of_range" else exc.code
                ) from None

        return wrapped

    plan = _plan(
        columns,
        (
            (col["code"], v.code_text(32)),
            (col["division_code"], v.division_check(divisions)),
            (col["road"], v.text(100)),
            (col["house_number"], v.text(50)),
            (col["building"], v.text(100, required=False)),
            (col["full_address"], v.text(255, required=False)),
            (col["postcode"], v.postcode),
            (col["longitude"], coordinate(longitude)),
            (col["latitude"], coordinate(latitude)),
        ),
    )

    def clean(cells: Sequence[str]) -> Row:
        values, errors = _run(plan, cells)
        if errors:
            raise RowProblems(errors)
        if not values[5]:
            composed = f"{names.get(values[1], '')}{values[2]}{values[3]}{values[4]}"
            if len(composed) > 255:
                raise RowProblems([("full_address", "too_long")])
            values[5] = composed
        return tuple(values)

    return clean


# --- macro-economic indicators ---------------------------------------------------------------

INDICATOR_COLUMNS = (
    Column(
        "series_code",
        "指标代码",
        ("指标编码", "indicator_code"),
        required=True,
        note="字母、数字、连字符和下划线",
    ),
    Column("series_name", "指标名称", ("indicator",), note="新指标必填"),
    Column("unit", "计量单位", ("单位",), note="新指标必填，如 亿元、万人、%"),
    Column("frequency", "频度", ("统计频度", "周期"), note="年度、季度、月度；新指标必填"),
    Column("period", "统计期", ("时期", "报告期", "统计时间"), required=True, note="2024、2024Q1 或 2024-03"),
    Column("division_code", "行政区划代码", ("区划代码", "地区代码"), required=True),
    Column("value", "数值", ("指标值", "值"), required=True),
)
INDICATOR_STAGING = ("series_code", "period", "division_code", "value")


def _indicator_cleaner(columns: ColumnMap, ctx: Context) -> Cleaner:
    divisions = ctx.divisions
    col = {c.field: c for c in INDICATOR_COLUMNS}
    number = v.decimal(max_digits=20, places=4)

    def figure(value: str) -> str:
        if not value:
            raise v.FieldError("required")
        return number(value)

    plan = _plan(
        columns,
        (
            (col["series_code"], v.code_text(32)),
            (col["series_name"], v.text(100, required=False)),
            (col["unit"], v.text(32, required=False)),
            (col["frequency"], v.frequency),
            (col["division_code"], v.division_check(divisions)),
            (col["value"], figure),
        ),
    )
    period_index = columns.index("period")

    def clean(cells: Sequence[str]) -> Row:
        values, errors = _run(plan, cells)
        code, name, unit, frequency, division_code, value = values
        series = ctx.series.get(code) if code else None
        new = None
        if code and series is None:
            series = ctx.new_series.get(code)
            if series is None and name and unit and frequency:
                new = SeriesInfo(None, ctx.department_id, name, unit, frequency)
                series = new
        if code and series is None:
            errors.append(("series_code", "series_unknown"))
        elif series is not None and series.pk is not None and series.department_id != ctx.department_id:
            errors.append(("series_code", "series_other_department"))
        period = None
        if series is not None:
            try:
                period = v.period(cells[period_index].strip(), series.frequency)
            except v.FieldError as exc:
                errors.append(("period", exc.code))
        if errors:
            raise RowProblems(errors)
        if new is not None:
            ctx.new_series[code] = new
        return (code, period, division_code, value)

    return clean


SPECS: dict[str, DatasetSpec] = {
    Dataset.POPULATION: DatasetSpec(
        dataset=Dataset.POPULATION,
        model=Person,
        columns=POPULATION_COLUMNS,
        staging=POPULATION_STAGING,
        key=("resident_id",),
        build=_population_cleaner,
        derived=("gender", "birth_date"),
        reconcilable=(
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "household_address",
            "division_code",
            "marital_status",
            "life_status",
        ),
    ),
    Dataset.LEGAL_ENTITY: DatasetSpec(
        dataset=Dataset.LEGAL_ENTITY,
        model=LegalEntity,
        columns=LEGAL_ENTITY_COLUMNS,
        staging=LEGAL_ENTITY_STAGING,
        key=("credit_code",),
        build=_legal_entity_cleaner,
        derived=("entity_type",),
        reconcilable=(
            "name",
            "entity_type",
            "legal_representative_name",
            "legal_representative_id",
            "registered_capital",
            "address",
            "division_code",
            "established_on",
            "status",
            "registration_authority",
        ),
    ),
    Dataset.ADDRESS: DatasetSpec(
        dataset=Dataset.ADDRESS,
        model=StandardAddress,
        columns=ADDRESS_COLUMNS,
        staging=ADDRESS_STAGING,
        key=("code",),
        build=_address_cleaner,
        derived=("full_address",),
    ),
    Dataset.INDICATOR: DatasetSpec(
        dataset=Dataset.INDICATOR,
        model=IndicatorValue,
        columns=INDICATOR_COLUMNS,
        staging=INDICATOR_STAGING,
        key=("series_code", "period", "division_code"),
        build=_indicator_cleaner,
    ),
}
RECONCILABLE = (Dataset.POPULATION, Dataset.LEGAL_ENTITY)


def spec_for(dataset: str) -> DatasetSpec:
    try:
        return SPECS[dataset]
    except KeyError:
        raise ValidationFailed(
            _("Unknown dataset."), code="dataset_unknown", fields={"dataset": [_("Unknown dataset.")]}
        ) from None

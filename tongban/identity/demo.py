"""The demo city: 六安市 (Lu'an, Anhui), its districts, townships, departments and demo accounts.

Everything is built through the identity services (``department_create``, ``staff_create``,
``citizen_register``, ``enterprise_register``, ``enterprise_agent_add``), so the demo leaves the
same audit trail as real use. Division names and codes are the National Bureau of Statistics'
统计用区划代码, shipped in ``data/luan_divisions.csv`` (its first line says where they come from);
no code is invented. Credit codes and resident IDs are generated with valid check digits from a
fixed seed per object, so every run and every machine gets the same numbers, and a list extended
by a later issue does not change the numbers of what was there before.

``seed_demo`` is idempotent: each object is looked up by its natural key (department code, username,
resident ID, credit code) and created only when missing; existing objects are left as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from stdnum.cn import ric, uscc

from tongban.identity import services
from tongban.identity.choices import AccountKind, DepartmentLevel, Role
from tongban.identity.models import Department, EnterpriseAgent, User

DIVISIONS_CSV = Path(__file__).resolve().parent / "data" / "luan_divisions.csv"
CITY_CODE = "341500"
SEED = "tongban-demo-luan"

# Credit-code registration categories (GB 32100 first two characters).
ORGAN = "11"  # 机关 (government organs)
INSTITUTION = "12"  # 事业单位 (public institutions, e.g. the housing fund centre)
COMPANY = "91"  # 企业 (companies)


# --- divisions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Division:
    name: str
    code: str
    parent_code: str
    level: str


@cache
def divisions() -> tuple[Division, ...]:
    """The rows of ``data/luan_divisions.csv`` (city, its 7 districts/counties and their townships)."""
    with DIVISIONS_CSV.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return tuple(
        Division(name=row["name"], code=row["code"], parent_code=row["parent_code"], level=row["level"])
        for row in csv.DictReader(lines)
    )


@cache
def division_by_code() -> dict[str, Division]:
    return {d.code: d for d in divisions()}


def counties() -> list[Division]:
    return [d for d in divisions() if d.level == DepartmentLevel.COUNTY]


def townships_of(county_code: str) -> list[Division]:
    return [d for d in divisions() if d.level == DepartmentLevel.TOWNSHIP and d.parent_code == county_code]


# --- generated identifiers -------------------------------------------------------------------


def _rng(key: str) -> random.Random:
    """A random generator seeded by the object's key, so its numbers never depend on list order."""
    return random.Random(f"{SEED}:{key}")  # noqa: S311 - demo data, not secrets


def organisation_code(key: str) -> str:
    """A 9-character organisation code (GB 11714: 8 digits and a MOD 11 check character)."""
    rng = _rng(f"org:{key}")
    body = "".join(rng.choice("0123456789") for _ in range(8))
    remainder = 11 - sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(remainder, str(remainder))


def credit_code(*, category: str, division_code: str, key: str) -> str:
    """A unified social credit code (GB 32100): category, county code, organisation code, check."""
    body = category + division_code[:6] + organisation_code(key)
    return body + uscc.calc_check_digit(body)


def resident_id(*, region: str, birth: dt.date, male: bool, key: str) -> str:
    """An 18-digit resident ID (GB 11643) whose sequence number's parity gives the sex."""
    sequence = _rng(f"rid:{key}").randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


# --- the department tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentSpec:
    key: str  # the department's stable code
    name: str
    short_name: str
    level: str
    division_code: str
    category: str = ORGAN
    parent_key: str | None = None


CITY_KEY = "luan"

# (code suffix, name, short name, credit-code category): the city's departments.
CITY_DEPARTMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("sjj", "六安市数据资源管理局（六安市政务服务管理局）", "市数据资源局", ORGAN),
    ("gaj", "六安市公安局", "市公安局", ORGAN),
    ("mzj", "六安市民政局", "市民政局", ORGAN),
    ("rsj", "六安市人力资源和社会保障局", "市人社局", ORGAN),
    ("scjgj", "六安市市场监督管理局", "市市场监管局", ORGAN),
    ("zrzyj", "六安市自然资源和规划局", "市自然资源和规划局", ORGAN),
    ("zjj", "六安市住房和城乡建设局", "市住建局", ORGAN),
    ("wjw", "六安市卫生健康委员会", "市卫健委", ORGAN),
    ("ybj", "六安市医疗保障局", "市医保局", ORGAN),
    ("swj", "国家税务总局六安市税务局", "市税务局", ORGAN),
    ("jyj", "六安市教育局", "市教育局", ORGAN),
    ("jtj", "六安市交通运输局", "市交通运输局", ORGAN),
    ("sthjj", "六安市生态环境局", "市生态环境局", ORGAN),
    ("gjj", "六安市住房公积金管理中心", "市公积金中心", INSTITUTION),
    ("bdc", "六安市不动产登记中心", "市不动产登记中心", INSTITUTION),
    ("fgw", "六安市发展和改革委员会", "市发改委", ORGAN),
    ("czj", "六安市财政局", "市财政局", ORGAN),
    ("sfj", "六安市司法局", "市司法局", ORGAN),
    ("nyj", "六安市农业农村局", "市农业农村局", ORGAN),
    ("swuj", "六安市商务局", "市商务局", ORGAN),
    ("wlj", "六安市文化和旅游局", "市文旅局", ORGAN),
)

# Department codes of the districts and counties (pinyin of their names).
COUNTY_KEYS: dict[str, str] = {
    "341502": "jinan",
    "341503": "yuan",
    "341504": "yeji",
    "341522": "huoqiu",
    "341523": "shucheng",
    "341524": "jinzhai",
    "341525": "huoshan",
}

# (code suffix, name suffix): the departments every district and county gets.
COUNTY_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("sjj", "数据资源管理局"),
    ("gaj", "公安局"),
    ("scjgj", "市场监督管理局"),
    ("rsj", "人力资源和社会保障局"),
    ("mzj", "民政局"),
)

# Districts whose township and street offices the demo builds (the three urban districts).
TOWNSHIP_COUNTIES: tuple[str, ...] = ("341502", "341503", "341504")


def _county_department_name(county: Division, suffix: str) -> str:
    if suffix == "公安局" and county.name.endswith("区"):
        return f"六安市公安局{county.name[:-1]}分局"  # a district's police is a branch of the city's
    return county.name + suffix


def _township_office_name(county: Division, township: Division) -> str:
    if township.name.endswith("街道"):
        return f"{county.name}{township.name}办事处"
    if township.name.endswith(("镇", "乡")):
        return f"{county.name}{township.name}人民政府"
    return f"{township.name}管理委员会"  # development zones


def department_specs() -> list[DepartmentSpec]:
    """Every department of the demo city, parents before children."""
    city = division_by_code()[CITY_CODE]
    specs = [
        DepartmentSpec(
            key=CITY_KEY,
            name=f"{city.name}人民政府",
            short_name="市政府",
            level=DepartmentLevel.CITY,
            division_code=CITY_CODE,
        )
    ]
    for suffix, name, short_name, category in CITY_DEPARTMENTS:
        specs.append(
            DepartmentSpec(
                key=f"{CITY_KEY}-{suffix}",
                name=name,
                short_name=short_name,
                level=DepartmentLevel.CITY,
                division_code=CITY_CODE,
                category=category,
                parent_key=CITY_KEY,
            )
        )
    for county in counties():
        county_key = COUNTY_KEYS[county.code]
        prefix = "六安市" if county.name.endswith("区") else ""
        specs.append(
            DepartmentSpec(
                key=county_key,
                name=f"{prefix}{county.name}人民政府",
                short_name=f"{county.name}政府",
                level=DepartmentLevel.COUNTY,
                division_code=county.code,
                parent_key=CITY_KEY,
            )
        )
        for suffix, name_suffix in COUNTY_DEPARTMENTS:
            name = _county_department_name(county, name_suffix)
            specs.append(
                DepartmentSpec(
                    key=f"{county_key}-{suffix}",
                    name=name,
                    short_name=name.removeprefix("六安市"),
                    level=DepartmentLevel.COUNTY,
                    division_code=county.code,
                    parent_key=county_key,
                )
            )
        if county.code in TOWNSHIP_COUNTIES:
            for township in townships_of(county.code):
                specs.append(
                    DepartmentSpec(
                        key=f"{county_key}-{township.code}",
                        name=_township_office_name(county, township),
                        short_name=township.name,
                        level=DepartmentLevel.TOWNSHIP,
                        division_code=township.code,
                        parent_key=county_key,
                    )
                )
    return specs


# --- accounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffSpec:
    username: str
    name: str
    department_key: str
    role: str


STAFF: tuple[StaffSpec, ...] = (
    StaffSpec("admin", "陈志强", "luan-sjj", Role.ADMINISTRATOR),
    StaffSpec("supervisor", "周敏", "luan-sjj", Role.SUPERVISOR),
    StaffSpec("clerk", "刘晓燕", "luan-sjj", Role.WINDOW_CLERK),
    StaffSpec("approver.gaj", "杨帆", "luan-gaj", Role.APPROVER),
    StaffSpec("approver.scjgj", "吴静", "luan-scjgj", Role.APPROVER),
    # One approver for each department in the demo bundles, so each can act on its branch.
    StaffSpec("approver.wjw", "林芳", "luan-wjw", Role.APPROVER),
    StaffSpec("approver.ybj", "许强", "luan-ybj", Role.APPROVER),
    StaffSpec("approver.rsj", "高敏", "luan-rsj", Role.APPROVER),
    StaffSpec("approver.mzj", "胡军", "luan-mzj", Role.APPROVER),
    StaffSpec("approver.zjj", "朱红", "luan-zjj", Role.APPROVER),
    StaffSpec("approver.gjj", "梁斌", "luan-gjj", Role.APPROVER),
    StaffSpec("data.gaj", "黄磊", "luan-gaj", Role.DATA_OFFICER),
    # Data officers of the catalogue office and of the departments whose data the exchange serves.
    StaffSpec("data.sjj", "钱进", "luan-sjj", Role.DATA_OFFICER),
    StaffSpec("data.mzj", "郑丽", "luan-mzj", Role.DATA_OFFICER),
    StaffSpec("data.scjgj", "冯涛", "luan-scjgj", Role.DATA_OFFICER),
    StaffSpec("data.rsj", "何平", "luan-rsj", Role.DATA_OFFICER),
    StaffSpec("jinan.admin", "赵刚", "jinan-sjj", Role.ADMINISTRATOR),
    StaffSpec("jinan.supervisor", "孙丽", "jinan-sjj", Role.SUPERVISOR),
    StaffSpec("jinan.clerk", "马超", "jinan-sjj", Role.WINDOW_CLERK),
)


@dataclass(frozen=True)
class CitizenSpec:
    key: str
    name: str
    region: str
    birth: dt.date
    male: bool
    phone: str

    @property
    def resident_id(self) -> str:
        return resident_id(region=self.region, birth=self.birth, male=self.male, key=self.key)


CITIZENS: tuple[CitizenSpec, ...] = (
    CitizenSpec("zhangwei", "张伟", "341502", dt.date(1986, 3, 12), True, "13905640101"),
    CitizenSpec("lina", "李娜", "341503", dt.date(1992, 7, 8), False, "13905640102"),
    CitizenSpec("wangjianguo", "王建国", "341522", dt.date(1968, 11, 23), True, "13905640103"),
)


@dataclass(frozen=True)
class EnterpriseSpec:
    key: str
    name: str
    division_code: str
    legal_rep_key: str  # a citizen's key
    agent_keys: tuple[str, ...]
    phone: str

    @property
    def credit_code(self) -> str:
        return credit_code(category=COMPANY, division_code=self.division_code, key=self.key)


ENTERPRISES: tuple[EnterpriseSpec, ...] = (
    EnterpriseSpec(
        "yunwushan-tea", "六安市云雾山茶业有限公司", "341502", "wangjianguo", ("lina",), "13905640201"
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    """One line of ``seed_demo --json``: what to type on the login page."""

    kind: str
    role: str  # the staff role, or the kind for citizens and enterprises
    username: str  # the login identifier: username, resident ID or credit code
    password: str
    name: str
    department: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SeedResult:
    accounts: list[DemoAccount] = field(default_factory=list)
    departments_created: int = 0
    accounts_created: int = 0
    agents_created: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.departments_created or self.accounts_created or self.agents_created)


# --- seeding ---------------------------------------------------------------------------------


def _ensure_departments(result: SeedResult) -> dict[str, Department]:
    specs = department_specs()
    existing = {d.code: d for d in Department.objects.filter(code__in=[s.key for s in specs])}
    for index, spec in enumerate(specs):
        if spec.key in existing:
            continue
        existing[spec.key] = services.department_create(
            name=spec.name,
            short_name=spec.short_name,
            code=spec.key,
            level=spec.level,
            division_code=spec.division_code,
            parent=existing[spec.parent_key] if spec.parent_key else None,
            credit_code=credit_code(category=spec.category, division_code=spec.division_code, key=spec.key),
            sort_order=index,
            by=None,
        )
        result.departments_created += 1
    return existing


def _ensure_staff(result: SeedResult, departments: dict[str, Department], password: str) -> None:
    for spec in STAFF:
        department = departments[spec.department_key]
        if not User.objects.filter(username=spec.username).exists():
            services.staff_create(
                username=spec.username,
                name=spec.name,
                department=department,
                roles=[spec.role],
                password=password,
                by=None,
            )
            result.accounts_created += 1
        result.accounts.append(
            DemoAccount(
                kind=AccountKind.STAFF,
                role=spec.role,
                username=spec.username,
                password=password,
                name=spec.name,
                department=department.name,
            )
        )


def _ensure_citizens(result: SeedResult, password: str) -> dict[str, User]:
    citizens: dict[str, User] = {}
    for spec in CITIZENS:
        rid = spec.resident_id
        user = User.objects.filter(resident_id=rid).first()
        if user is None:
            user = services.citizen_register(
                resident_id=rid, name=spec.name, phone=spec.phone, password=password
            )
            result.accounts_created += 1
        citizens[spec.key] = user
        result.accounts.append(
            DemoAccount(
                kind=AccountKind.CITIZEN,
                role=AccountKind.CITIZEN,
                username=rid,
                password=password,
                name=spec.name,
                department=None,
            )
        )
    return citizens


def _ensure_enterprises(result: SeedResult, citizens: dict[str, User], password: str) -> None:
    for spec in ENTERPRISES:
        code = spec.credit_code
        enterprise = User.objects.filter(credit_code=code).first()
        if enterprise is None:
            legal_rep = citizens[spec.legal_rep_key]
            enterprise = services.enterprise_register(
                credit_code=code,
                name=spec.name,
                legal_rep_name=legal_rep.name,
                legal_rep_resident_id=legal_rep.resident_id or "",
                phone=spec.phone,
                password=password,
            )
            result.accounts_created += 1
        for agent_key in spec.agent_keys:
            agent = citizens[agent_key]
            active = EnterpriseAgent.objects.filter(
                enterprise=enterprise, agent=agent, revoked_at__isnull=True
            )
            if not active.exists():
                services.enterprise_agent_add(
                    enterprise=enterprise, agent_resident_id=agent.resident_id or "", by=enterprise
                )
                result.agents_created += 1
        result.accounts.append(
            DemoAccount(
                kind=AccountKind.ENTERPRISE,
                role=AccountKind.ENTERPRISE,
                username=code,
                password=password,
                name=spec.name,
                department=None,
            )
        )


@transaction.atomic
def seed_demo(*, password: str | None = None) -> SeedResult:
    """Build the demo city and its accounts; create only what is missing. All or nothing."""
    password = password or settings.TONGBAN_DEMO_PASSWORD
    result = SeedResult()
    departments = _ensure_departments(result)
    _ensure_staff(result, departments, password)
    citizens = _ensure_citizens(result, password)
    _ensure_enterprises(result, citizens, password)
    return result

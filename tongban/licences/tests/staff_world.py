"""Test data for the licence tests (core, staff pages, imports): departments with credit codes and
signing keys, licence types, staff of each role, and licences issued through the services."""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.test import Client
from stdnum.cn import uscc

from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory, make_resident_id
from tongban.licences import services
from tongban.licences.choices import HolderKind, Validity
from tongban.licences.models import Licence, LicenceType

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

PERSON_FIELDS: list[dict[str, Any]] = [
    {"key": "name", "label": "姓名", "required": True, "from": "holder.name"},
    {"key": "id_number", "label": "公民身份号码", "required": True, "from": "holder.id"},
    {"key": "spouse_name", "label": "配偶姓名", "required": True, "from": "form:spouse_name"},
    {"key": "registered_on", "label": "登记日期", "required": False, "from": ""},
    {"key": "registry", "label": "登记机关", "required": True, "from": "fixed:六安市民政局婚姻登记处"},
]
ENTERPRISE_FIELDS: list[dict[str, Any]] = [
    {"key": "name", "label": "经营者名称", "required": True, "from": "holder.name"},
    {"key": "credit_code", "label": "社会信用代码", "required": True, "from": "holder.id"},
    {"key": "address", "label": "经营场所", "required": False, "from": ""},
]


def credit_code(kind: str = "11", region: str = "341500") -> str:
    body = kind + region + "".join(random.choice(ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def department(
    code: str, name: str, *, division: str = "341500", level: str = "city", **kw: Any
) -> Department:
    dept: Any = DepartmentFactory(
        code=code, name=name, division_code=division, level=level, credit_code=credit_code(), **kw
    )
    return dept


def licence_type(
    issuer: Department,
    *,
    name: str = "结婚证",
    holder: str = HolderKind.PERSON,
    fields: list[dict[str, Any]] | None = None,
    validity: str = Validity.LONG_TERM,
    years: int | None = None,
    serial: int = 1,
) -> LicenceType:
    type_: LicenceType = LicenceType.objects.create(
        code=f"{issuer.credit_code}{serial:03d}",
        name=name,
        defining_agency="民政部",
        issuing_department=issuer,
        holder_kind=holder,
        fields=fields if fields is not None else PERSON_FIELDS,
        validity=validity,
        validity_years=years,
        template={"title": name, "colour": "#c0392b"},
    )
    return type_


def staff(dept: Department, *roles: str, name: str = "") -> User:
    user: Any = StaffFactory(department=dept, roles=list(roles), **({"name": name} if name else {}))
    return user


def person_data(holder_name: str, holder_id: str, **extra: str) -> dict[str, str]:
    return {
        "name": holder_name,
        "id_number": holder_id,
        "spouse_name": "李四",
        "registry": "六安市民政局",
        **extra,
    }


def issue(
    type_: LicenceType, by: User, *, holder_id: str | None = None, name: str = "张三", **kw: Any
) -> Licence:
    holder_id = holder_id or make_resident_id()
    data = kw.pop("data", None) or person_data(name, holder_id)
    return services.licence_issue(type_=type_, holder_id=holder_id, holder_name=name, data=data, by=by, **kw)


def fake_case(department: Department, *, pk: int = 4242, number: str = "SL2026000042") -> Any:
    """What ``authorisation_for_case`` needs of a case (licences does not import the cases app)."""
    return SimpleNamespace(pk=pk, number=number, department=department)


@dataclass
class World:
    city: Department  # the city government: the administrators' department
    mzj: Department  # issues the marriage certificates
    scj: Department  # issues the food licences
    county: Department  # another jurisdiction
    marriage: LicenceType
    food: LicenceType
    approver: User  # of mzj
    officer: User  # data officer of mzj
    clerk: User  # window clerk of mzj: no licence role
    other: User  # approver of scj
    admin: User  # administrator over the city
    county_admin: User


def make_world() -> World:
    city = department("lt-city", "六安市数据资源管理局")
    mzj = department("lt-mzj", "六安市民政局")
    scj = department("lt-scj", "六安市市场监督管理局")
    county = department("lt-county", "金安区民政局", division="341502", level="county")
    admin = staff(city, Role.ADMINISTRATOR, name="市管理员")
    marriage = licence_type(mzj)
    food = licence_type(
        scj,
        name="食品经营许可证",
        holder=HolderKind.ENTERPRISE,
        fields=ENTERPRISE_FIELDS,
        validity=Validity.GIVEN,
    )
    services.signing_key_rotate(department=mzj, by=admin, reason="初始密钥")
    services.signing_key_rotate(department=scj, by=admin, reason="初始密钥")
    return World(
        city=city,
        mzj=mzj,
        scj=scj,
        county=county,
        marriage=marriage,
        food=food,
        approver=staff(mzj, Role.APPROVER, name="民政审批"),
        officer=staff(mzj, Role.DATA_OFFICER, name="民政数据"),
        clerk=staff(mzj, Role.WINDOW_CLERK, name="窗口"),
        other=staff(scj, Role.APPROVER, name="市场审批"),
        admin=admin,
        county_admin=staff(county, Role.ADMINISTRATOR, name="区管理员"),
    )


def client_for(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client

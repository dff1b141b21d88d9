from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tongban.core import audit
from tongban.core.idnumbers import validate_credit_code, validate_resident_id
from tongban.core.models import AuditEvent
from tongban.identity import demo, selectors
from tongban.identity.choices import AccountKind, DepartmentLevel, Role
from tongban.identity.models import Department, EnterpriseAgent, RoleAssignment, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> demo.SeedResult:
    return demo.seed_demo()


def _counts() -> dict[str, int]:
    return {
        "departments": Department.objects.count(),
        "users": User.objects.count(),
        "roles": RoleAssignment.objects.count(),
        "agents": EnterpriseAgent.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def test_divisions_csv_is_lu_an_with_consistent_codes() -> None:
    rows = demo.divisions()
    by_code = demo.division_by_code()
    assert len(by_code) == len(rows), "duplicate codes in the CSV"
    assert by_code["341500"].name == "六安市"
    assert {d.code: d.name for d in demo.counties()} == {
        "341502": "金安区",
        "341503": "裕安区",
        "341504": "叶集区",
        "341522": "霍邱县",
        "341523": "舒城县",
        "341524": "金寨县",
        "341525": "霍山县",
    }
    townships = [d for d in rows if d.level == "township"]
    assert len(townships) > 100
    for township in townships:
        assert len(township.code) == 9
        assert township.code.isdigit()
        assert township.code.startswith(township.parent_code)
        assert by_code[township.parent_code].level == "county"
    assert by_code["341502001"].name == "中市街道"
    assert demo.DIVISIONS_CSV.read_text(encoding="utf-8").startswith("# ")  # the provenance line


def test_seed_builds_the_city_departments_and_offices(seeded: demo.SeedResult) -> None:
    city = Department.objects.get(code=demo.CITY_KEY)
    assert city.name == "六安市人民政府"
    assert (city.level, city.division_code, city.parent) == (DepartmentLevel.CITY, "341500", None)
    city_departments = Department.objects.filter(parent=city, level=DepartmentLevel.CITY)
    assert city_departments.count() >= 15
    names = set(city_departments.values_list("name", flat=True))
    for required in (
        "六安市公安局",
        "六安市市场监督管理局",
        "国家税务总局六安市税务局",
        "六安市住房公积金管理中心",
    ):
        assert required in names
    counties = Department.objects.filter(parent=city, level=DepartmentLevel.COUNTY)
    assert sorted(counties.values_list("division_code", flat=True)) == sorted(demo.COUNTY_KEYS)
    for county in counties:
        assert county.children.filter(level=DepartmentLevel.COUNTY).count() >= 3
    for county_code in demo.TOWNSHIP_COUNTIES:
        offices = Department.objects.filter(
            level=DepartmentLevel.TOWNSHIP, division_code__startswith=county_code
        )
        assert offices.count() == len(demo.townships_of(county_code))
    assert Department.objects.get(division_code="341502001").name == "金安区中市街道办事处"
    assert seeded.departments_created == Department.objects.count()


def test_every_division_code_is_well_formed_and_from_the_csv(seeded: demo.SeedResult) -> None:
    known = demo.division_by_code()
    for department in Department.objects.select_related("parent"):
        code = department.division_code
        assert code.isdigit(), department.name
        assert len(code) in (6, 9), department.name
        assert code in known, f"{department.name}: {code} is not in {demo.DIVISIONS_CSV.name}"
        assert department.level == known[code].level, department.name
        if department.parent is not None:  # a department lies in its parent's territory
            assert code.startswith(selectors.jurisdiction_prefix(department.parent)), department.name


def test_credit_codes_are_valid_and_organs_are_registered_as_organs(seeded: demo.SeedResult) -> None:
    codes = list(Department.objects.values_list("credit_code", "division_code"))
    assert len({c for c, _ in codes}) == len(codes)
    for code, division in codes:
        assert code is not None
        assert validate_credit_code(code) == code
        assert code[:2] in (demo.ORGAN, demo.INSTITUTION)
        assert code[2:8] == division[:6]
    assert Department.objects.get(code="luan-gaj").credit_code.startswith("11341500")  # type: ignore[union-attr]
    assert Department.objects.get(code="luan-gjj").credit_code.startswith("12341500")  # type: ignore[union-attr]
    enterprise = User.objects.get(kind=AccountKind.ENTERPRISE)
    assert enterprise.credit_code is not None
    assert validate_credit_code(enterprise.credit_code).startswith("91341502")


def test_identifiers_are_deterministic() -> None:
    # Pinned: a change here changes every demo login printed in the README and scripts/run.
    assert demo.CITIZENS[0].resident_id == "341502198603122150"
    assert demo.ENTERPRISES[0].credit_code == "91341502066129878D"
    assert demo.credit_code(category="11", division_code="341500", key="luan-gaj") == "11341500271884565K"


def test_every_role_and_kind_has_a_demo_account(seeded: demo.SeedResult) -> None:
    kinds = {a.kind for a in seeded.accounts}
    assert kinds == set(AccountKind.values)
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == set(Role.values)
    assert {a.role for a in seeded.accounts if a.kind == AccountKind.STAFF} == set(Role.values)
    admin = User.objects.get(username="admin")
    assert admin.department is not None
    assert admin.department.code == "luan-sjj"
    county_roles = set(
        RoleAssignment.objects.filter(user__department__code="jinan-sjj").values_list("role", flat=True)
    )
    assert {Role.ADMINISTRATOR, Role.SUPERVISOR} <= county_roles
    approver_departments = set(
        User.objects.filter(role_assignments__role=Role.APPROVER).values_list("department__code", flat=True)
    )
    assert {"luan-gaj", "luan-scjgj"} <= approver_departments


def test_citizens_have_valid_lu_an_resident_ids_and_one_is_the_enterprise_agent(
    seeded: demo.SeedResult,
) -> None:
    citizens = User.objects.filter(kind=AccountKind.CITIZEN)
    assert 2 <= citizens.count() <= 3
    for citizen in citizens:
        assert citizen.resident_id is not None
        assert validate_resident_id(citizen.resident_id) == citizen.resident_id
        assert citizen.resident_id[:6] in demo.division_by_code()
        assert citizen.real_name_level == 1
    enterprise = User.objects.get(kind=AccountKind.ENTERPRISE)
    agents = list(selectors.enterprise_agents(enterprise).values_list("agent__name", flat=True))
    assert agents == ["李娜"]
    assert enterprise.legal_rep_name == "王建国"
    assert enterprise.legal_rep_resident_id == User.objects.get(name="王建国").resident_id


def test_county_administrator_sees_only_the_county(seeded: demo.SeedResult) -> None:
    county_admin = User.objects.get(username="jinan.admin")
    visible = selectors.departments_in_jurisdiction(county_admin)
    assert visible.filter(division_code="341502001").exists()
    assert not visible.filter(division_code__startswith="341503").exists()
    assert not visible.filter(code="luan-gaj").exists()
    city_admin = User.objects.get(username="admin")
    assert selectors.departments_in_jurisdiction(city_admin).count() == Department.objects.count()


def test_second_run_changes_nothing(seeded: demo.SeedResult) -> None:
    before = _counts()
    again = demo.seed_demo()
    assert _counts() == before
    assert not again.changed
    assert again.accounts == seeded.accounts
    assert audit.verify().ok


def test_every_demo_account_can_log_in(seeded: demo.SeedResult, settings: Any) -> None:
    settings.STAFF_2FA = "optional"  # the demo's policy (scripts/run); "required" is tested in test_otp
    for account in seeded.accounts:
        client = Client()
        response = client.post(
            "/api/v1/auth/login",
            {"identifier": account.username, "password": account.password},
            content_type="application/json",
        )
        assert response.status_code == 200, (account.username, response.content)
        me = client.get("/api/v1/me").json()
        assert me["kind"] == account.kind
        assert me["name"] == account.name
        if account.kind == AccountKind.STAFF:
            assert me["roles"] == [account.role]
            assert me["department"]["name"] == account.department


def test_command_prints_json_then_a_table_from_it(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    accounts = json.loads(out.getvalue())
    assert {a["kind"] for a in accounts} == {*AccountKind.values, "system"}  # + the exchange's demo systems
    assert all(set(a) >= {"role", "kind", "username", "password", "name", "department"} for a in accounts)
    saved = tmp_path / "accounts.json"
    saved.write_text(out.getvalue(), encoding="utf-8")
    before = _counts()
    table = io.StringIO()
    call_command("seed_demo", "--print-accounts", "--from-json", str(saved), stdout=table)
    assert _counts() == before
    for account in accounts:
        assert account["username"] in table.getvalue()
    with pytest.raises(CommandError):
        call_command("seed_demo", "--from-json", str(saved), stdout=io.StringIO())
    saved.write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("seed_demo", "--print-accounts", "--from-json", str(saved), stdout=io.StringIO())

"""Fixtures of the base-database tests: Lu'an's divisions, two departments with their data officers,
and helpers that write import files (CSV in several encodings, XLSX)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from django.core.files.base import ContentFile
from openpyxl import Workbook
from stdnum.cn import ric

from tongban.basedata import divisions as division_table
from tongban.basedata.models import Division
from tongban.identity.models import Department
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

POPULATION_HEADER = [
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "民族",
    "户籍地址",
    "行政区划代码",
    "婚姻状况",
    "生存状态",
    "来源更新时间",
]


def resident_id(region: str = "341502", birth: dt.date = dt.date(1986, 3, 12), seq: int = 1) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def person_row(
    seq: int,
    *,
    region: str = "341502",
    birth: dt.date = dt.date(1986, 3, 12),
    name: str = "张伟",
    division: str = "341502001",
    marital: str = "已婚",
    address: str | None = None,
) -> list[str]:
    rid = resident_id(region, birth, seq)
    return [
        rid,
        name,
        "男" if seq % 2 else "女",
        birth.isoformat(),
        "汉族",
        address or f"安徽省六安市金安区中市街道皖西大道{seq}号",
        division,
        marital,
        "正常",
        "2025-03-01 10:00:00",
    ]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]], *, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "people.csv") -> ContentFile:
    return ContentFile(content, name=name)


@pytest.fixture
def divisions(db: None) -> None:
    """Anhui's part of the division table (the province, its prefectures and counties, Lu'an's townships)."""
    rows = [r for r in division_table.current_divisions() if r.code.startswith("34")]
    Division.objects.bulk_create(
        [Division(code=r.code, name=r.name, level=r.level, parent_id=r.parent_code) for r in rows],
        ignore_conflicts=True,
    )


@pytest.fixture
def police(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市公安局", code="luan-gaj", level="city", division_code="341500", parent=city
    )


@pytest.fixture
def civil_affairs(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市民政局", code="luan-mzj", level="city", division_code="341500", parent=city
    )


@pytest.fixture
def county_police(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市公安局金安分局", code="jinan-gaj", level="county", division_code="341502", parent=city
    )


@pytest.fixture
def officer(police: Department) -> Any:
    return StaffFactory(department=police, roles=["data_officer"])


@pytest.fixture
def civil_officer(civil_affairs: Department) -> Any:
    return StaffFactory(department=civil_affairs, roles=["data_officer"])


@pytest.fixture
def county_officer(county_police: Department) -> Any:
    return StaffFactory(department=county_police, roles=["data_officer"])


@pytest.fixture
def city_admin(city: Department) -> Any:
    return StaffFactory(department=city, roles=["administrator"])


@pytest.fixture
def county_admin(county_police: Department) -> Any:
    return StaffFactory(department=county_police, roles=["administrator"])


@pytest.fixture
def approver(police: Department) -> Any:
    return StaffFactory(department=police, roles=["approver"])


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    """Uploaded files and reports of a test live in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"

"""Fixtures for the catalogue tests: two counties of one city and their administrators."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.catalog import services
from tongban.catalog.models import ServiceItem
from tongban.catalog.tests.factories import DEFAULT_FORM, default_process
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory, make_credit_code


@pytest.fixture
def county_bureau(city: Department) -> Any:
    return DepartmentFactory(
        name="金安区公安分局",
        code="jinan-psb",
        level="county",
        division_code="341502",
        parent=city,
        credit_code=make_credit_code("341502"),
    )


@pytest.fixture
def other_county_bureau(city: Department) -> Any:
    return DepartmentFactory(
        name="裕安区市场监督管理局",
        code="yuan-amr",
        level="county",
        division_code="341503",
        parent=city,
        credit_code=make_credit_code("341503"),
    )


@pytest.fixture
def county_admin(county_bureau: Department) -> Any:
    return StaffFactory(department=county_bureau, roles=["administrator"])


@pytest.fixture
def other_county_admin(other_county_bureau: Department) -> Any:
    return StaffFactory(department=other_county_bureau, roles=["administrator"])


@pytest.fixture
def city_admin(city: Department) -> Any:
    return StaffFactory(department=city, roles=["administrator"])


_counter = iter(range(1000, 100000))


def make_item(
    by: User,
    department: Department,
    *,
    name: str = "居民身份证换领",
    publish: bool = True,
    materials: tuple[str, ...] = ("居民户口簿",),
    **fields: Any,
) -> ServiceItem:
    """Create (and by default publish) an item through the services, as an administrator would.

    The draft gets the default form and a one-stage process of ``department`` before publishing.
    """
    n = next(_counter)
    defaults: dict[str, Any] = {
        "item_type": "public_service",
        "level": "county",
        "statutory_days": 20,
        "promised_days": 10,
    }
    item = services.item_create(
        by=by,
        department=department,
        basic_code=f"00010{n:07d}",
        item_digits=f"{n:06d}",
        name=name,
        **{**defaults, **fields},
    )
    draft = item.versions.get()
    for material in materials:
        services.material_add(version=draft, by=by, name=material)
    services.form_schema_set(version=draft, schema=DEFAULT_FORM, by=by)
    promised = draft.promised_days or 10
    services.process_set(version=draft, stages=default_process(department, days=min(5, promised)), by=by)
    if publish:
        services.item_version_publish(version=draft, by=by)
        item.refresh_from_db()
    return item


@pytest.fixture
def item(county_admin: User, county_bureau: Department) -> ServiceItem:
    return make_item(
        county_admin,
        county_bureau,
        conditions="本辖区户籍居民，居民身份证有效期满或损坏的。",
        service_object="person",
        themes=["employment"],
    )

"""Fixtures of the bundle tests: two items of two departments sharing questions and materials."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tongban.bundles import services
from tongban.bundles.models import Bundle
from tongban.cases.tests.factories import published_item
from tongban.catalog.models import ServiceItem
from tongban.catalog.tests.factories import DEFAULT_FORM
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

CHILD_NAME: dict[str, Any] = {
    "key": "child_name",
    "label": "新生儿姓名",
    "type": "text",
    "required": True,
    "help_text": "",
    "options": [],
    "validation": {"max_length": 20},
}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def with_form(item: ServiceItem, schema: list[dict[str, Any]]) -> ServiceItem:
    """Give the published version another form (tests only: a real change drafts a new version)."""
    version = item.current_version
    assert version is not None
    version.form_schema = schema
    version.save(update_fields=["form_schema"])
    return item


@pytest.fixture
def health(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市卫生健康委员会", code="city-wjw", division_code="341500", parent=city
    )


@pytest.fixture
def first_item(health: Department) -> ServiceItem:
    """居民身份证 + 申请表 (required) + 户口簿 (e-licence); the default form plus 新生儿姓名."""
    item = published_item(health, name="出生医学证明签发")
    return with_form(item, [*copy.deepcopy(DEFAULT_FORM), CHILD_NAME])


@pytest.fixture
def second_item(department: Department) -> ServiceItem:
    """The same materials and the default form (applicant name, phone, remarks)."""
    return published_item(department, name="出生登记")


@pytest.fixture
def administrator(city: Department) -> Any:
    return StaffFactory(department=city, roles=["administrator"])


@pytest.fixture
def bundle(first_item: ServiceItem, second_item: ServiceItem, administrator: User) -> Bundle:
    draft = services.bundle_create(
        by=administrator,
        code="newborn",
        name="新生儿出生一件事",
        description="出生医学证明、出生登记一次办。",
        items=[first_item, second_item],
    )
    return services.bundle_publish(bundle=draft, by=administrator)

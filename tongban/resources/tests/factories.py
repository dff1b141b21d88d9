"""Departments, officers and resource values for the catalogue's tests."""

from __future__ import annotations

import itertools
from typing import Any, cast

from stdnum.cn import uscc

from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory
from tongban.resources import services
from tongban.resources.models import DataResource

_serial = itertools.count(1)


def credit_code() -> str:
    body = f"11341500{next(_serial):09d}"
    return body + uscc.calc_check_digit(body)


def department(code: str, name: str | None = None, **kwargs: Any) -> Department:
    return cast(
        Department,
        DepartmentFactory(code=code, name=name or f"测试{code}", credit_code=credit_code(), **kwargs),
    )


def officer(dept: Department, *, username: str | None = None, role: str = "data_officer") -> User:
    extra = {"username": username} if username else {}
    return cast(User, StaffFactory(department=dept, roles=[role], **extra))


def items(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "key": "resident_id",
            "name": "公民身份号码",
            "data_type": "string",
            "length": 18,
            "sensitive": True,
            "is_key": True,
        },
        {"key": "name", "name": "姓名", "data_type": "string", "length": 100, "sensitive": True},
        {"key": "birth_date", "name": "出生日期", "data_type": "date"},
        *extra,
    ]


def values(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "category": "3",
        "item_code": "02",
        "heading_code": "001",
        "subheading_code": "",
        "name": "测试信息资源",
        "summary": "用于测试的信息资源。",
        "format": "database",
        "sharing_type": "conditional",
        "sharing_conditions": "仅用于政务服务事项办理。",
        "not_shared_basis": "",
        "sharing_modes": ["interface"],
        "open_type": "not_open",
        "open_conditions": "",
        "update_cycle": "daily",
        "related_codes": [],
        "items": items(),
    }
    base.update(overrides)
    return base


def draft(by: User, provider: Department | None = None, **overrides: Any) -> DataResource:
    return services.resource_create(by=by, provider=provider or by.department, **values(**overrides))  # type: ignore[arg-type]


def published(
    by: User, office_user: User, provider: Department | None = None, **overrides: Any
) -> DataResource:
    resource = draft(by, provider, **overrides)
    services.resource_submit(resource=resource, by=by)
    return services.resource_publish(resource=resource, by=office_user)

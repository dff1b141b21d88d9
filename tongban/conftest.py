"""Fixtures shared by every app's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import translation

from tongban.identity.models import Department
from tongban.identity.tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    EnterpriseFactory,
    StaffFactory,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; tests that are not about hashing use a fast hasher."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Cached rows (e.g. the calendar's overrides) must not outlive the test that rolled them back."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a request in English leaves English active in the
    thread (LocaleMiddleware activates, nothing deactivates), which would leak into the next test."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def city(db: None) -> Any:
    return DepartmentFactory(name="六安市人民政府", code="city-gov", level="city", division_code="341500")


@pytest.fixture
def department(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市公安局", code="city-psb", level="city", division_code="341500", parent=city
    )


@pytest.fixture
def citizen(db: None) -> Any:
    return CitizenFactory()


@pytest.fixture
def enterprise(db: None) -> Any:
    return EnterpriseFactory()


@pytest.fixture
def admin_user(department: Department) -> Any:
    return StaffFactory(department=department, roles=["administrator"])


@pytest.fixture
def supervisor(department: Department) -> Any:
    return StaffFactory(department=department, roles=["supervisor"])

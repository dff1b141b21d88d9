"""The catalogue office (luan-sjj), two provider departments and their data officers."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.resources.tests import factories


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    # Roles and scope are tested here; identity's test_otp covers the second-factor gate.
    settings.STAFF_2FA = "optional"


@pytest.fixture
def office_dept(db: None) -> Any:
    return factories.department("luan-sjj", "六安市数据资源管理局")


@pytest.fixture
def police(db: None) -> Any:
    return factories.department("luan-gaj", "六安市公安局")


@pytest.fixture
def civil(db: None) -> Any:
    return factories.department("luan-mzj", "六安市民政局")


@pytest.fixture
def reviewer(office_dept: Any) -> Any:
    return factories.officer(office_dept, username="data.sjj")


@pytest.fixture
def police_officer(police: Any) -> Any:
    return factories.officer(police, username="data.gaj")


@pytest.fixture
def civil_officer(civil: Any) -> Any:
    return factories.officer(civil, username="data.mzj")

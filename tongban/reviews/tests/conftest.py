"""A small world for the review tests: a department with a published item, its approver, a window
clerk of the city, a supervisor over the city, and concluded cases made through the case services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tongban.cases import services as case_services
from tongban.cases.models import Case, CaseTask
from tongban.cases.tests.factories import published_item, submitted_case
from tongban.catalog.models import ServiceItem
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    settings.STAFF_2FA = "optional"  # identity's tests cover the second-factor gate


@pytest.fixture
def item(department: Department) -> ServiceItem:
    return published_item(department)


@pytest.fixture
def approver(department: Department) -> Any:
    return StaffFactory(department=department, roles=["approver"], name="赵审批")


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(name="政务服务中心", code="city-centre", division_code="341500", parent=city)
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def city_supervisor(city: Department) -> Any:
    return StaffFactory(department=city, roles=["supervisor"])


@pytest.fixture
def other_department(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市民政局", code="city-mzj", level="city", division_code="341500", parent=city
    )


@pytest.fixture
def other_staff(other_department: Department) -> Any:
    return StaffFactory(department=other_department, roles=["approver"])


@pytest.fixture
def county_supervisor() -> Any:
    county = DepartmentFactory(
        name="金安区人民政府", code="jinan-gov", level="county", division_code="341502"
    )
    return StaffFactory(department=county, roles=["supervisor"])


def conclude(item: ServiceItem, applicant: User, clerk: User, approver: User) -> Case:
    case = case_services.case_accept(case=submitted_case(item, applicant), by=clerk)
    task = CaseTask.objects.get(case=case)
    case_services.task_decide(task=task, outcome="approve", opinion="同意", by=approver)
    return case_services.case_deliver(case=case, method="pickup", note="本人领取", by=clerk)


@pytest.fixture
def completed(item: ServiceItem, citizen: User, clerk: User, approver: User) -> Case:
    return conclude(item, citizen, clerk, approver)


@pytest.fixture
def stranger() -> Any:
    return CitizenFactory()


def client_for(user: User, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client

"""Fixtures of the supervision tests: a city department with an item, its approver, a city-level and
a county-level supervisor, and cases driven through the cases services then dated for the test."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest
from django.test import Client

from tongban.cases import services as case_services
from tongban.cases.models import Case, CaseStage
from tongban.cases.tests.factories import published_item, submitted_case
from tongban.catalog.models import ServiceItem
from tongban.core.calendar import END_OF_DAY, SHANGHAI
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory

# Friday 9 October 2026, 10:00 in Lu'an: the day after the National Day holiday; Saturday 10 October
# is a make-up working day (调休), the week before has none.
NOW = datetime(2026, 10, 9, 10, 0, tzinfo=SHANGHAI)


def end_of(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


@pytest.fixture
def item(department: Department) -> ServiceItem:
    return published_item(department)


@pytest.fixture
def approver(department: Department) -> Any:
    return StaffFactory(department=department, roles=["approver"], name="审批员")


@pytest.fixture
def county() -> Any:
    return DepartmentFactory(name="金安区人民政府", code="jinan-gov", level="county", division_code="341502")


@pytest.fixture
def county_supervisor(county: Department) -> Any:
    return StaffFactory(department=county, roles=["supervisor"], name="区监察员")


@pytest.fixture
def county_approver(county: Department) -> Any:
    return StaffFactory(department=county, roles=["approver"])


def new_citizen() -> Any:
    return CitizenFactory()


def accepted(item: ServiceItem, approver: User, *, due: date | None = None, **kwargs: Any) -> Case:
    """A case accepted by ``approver``; with ``due``, its deadline and its stage's end on that day."""
    case = case_services.case_accept(case=submitted_case(item, new_citizen(), **kwargs), by=approver)
    if due is not None:
        set_due(case, due)
    return case


def set_due(case: Case, due: date) -> Case:
    Case.objects.filter(pk=case.pk).update(due_at=end_of(due))
    CaseStage.objects.filter(case=case, status="active").update(due_at=end_of(due))
    case.refresh_from_db()
    return case


def client_for(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client

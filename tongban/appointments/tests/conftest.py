"""Two halls (city and 金安区), their clerks, a published item and tomorrow-or-later slots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongban.appointments.models import Hall, Slot, Window
from tongban.catalog.tests.factories import ServiceItemFactory
from tongban.core import calendar
from tongban.identity.models import Department
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory
from tongban.notifications import channels


@pytest.fixture(autouse=True)
def _empty_sms_outbox() -> Iterator[None]:
    channels.outbox.clear()
    yield
    channels.outbox.clear()


@pytest.fixture
def city_centre(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市数据资源管理局", code="luan-sjj", level="city", division_code="341500", parent=city
    )


@pytest.fixture
def county_centre(city: Department) -> Any:
    return DepartmentFactory(
        name="金安区数据资源管理局", code="jinan-sjj", level="county", division_code="341502", parent=city
    )


@pytest.fixture
def hall(city_centre: Department) -> Hall:
    hall = Hall.objects.create(
        name="六安市政务服务中心",
        address="六安市梅山南路",
        department=city_centre,
        division_code="341500",
        capacity_per_item=2,
    )
    Window.objects.create(hall=hall, number=1, name="综合窗口", all_items=True)
    return hall


@pytest.fixture
def county_hall(county_centre: Department) -> Hall:
    return Hall.objects.create(
        name="金安区政务服务中心", address="金安区", department=county_centre, division_code="341502"
    )


@pytest.fixture
def item() -> Any:
    return ServiceItemFactory(published=True)


@pytest.fixture
def clerk(city_centre: Department) -> Any:
    return StaffFactory(department=city_centre, roles=["window_clerk"])


@pytest.fixture
def county_clerk(county_centre: Department) -> Any:
    return StaffFactory(department=county_centre, roles=["window_clerk"])


def next_working_day() -> date:
    return calendar.next_working_day(timezone.localdate())


def make_slot(hall: Hall, day: date | None = None, start: time = time(9, 0), capacity: int = 2) -> Slot:
    day = day or next_working_day()
    end = (datetime.combine(day, start) + timedelta(minutes=30)).time()
    return Slot.objects.create(hall=hall, date=day, start=start, end=end, capacity=capacity)

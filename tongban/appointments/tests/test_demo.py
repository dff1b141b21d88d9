"""The demo halls, slots and bookings: built through the services, and nothing twice."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tongban.appointments import demo
from tongban.appointments.choices import BookingStatus
from tongban.appointments.models import Booking, Hall, Slot, Window
from tongban.catalog import demo as catalog_demo
from tongban.core import calendar
from tongban.identity import demo as identity_demo

pytestmark = pytest.mark.django_db


def test_demo_builds_halls_slots_and_bookings_once() -> None:
    identity_demo.seed_demo()
    catalog_demo.seed_catalog()
    today = calendar.next_working_day(timezone.localdate())
    first = demo.seed(today=today)
    assert first.halls_created == 2
    city = Hall.objects.get(name="六安市政务服务中心")
    assert city.department.code == "luan-sjj"
    assert list(Window.objects.filter(hall=city).values_list("number", flat=True)) == list(range(1, 11))
    assert all(w.all_items for w in Window.objects.filter(hall=city))
    assert Hall.objects.get(department__code="jinan-sjj").windows.count() == 3
    days = set(Slot.objects.filter(hall=city).values_list("date", flat=True))
    assert len(days) == 10
    assert all(calendar.is_working_day(d) for d in days)
    assert min(days) == today
    assert first.bookings_created == 3
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 3
    again = demo.seed(today=today)
    assert not again.changed

"""Twenty applicants race for a slot with three places: exactly three win, the rest hear "full".

Real transactions with one connection per thread: on PostgreSQL the slot row's lock
(``select_for_update``) serialises the count-and-insert; on SQLite BEGIN IMMEDIATE does.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from tongban.appointments import services
from tongban.appointments.choices import BookingStatus
from tongban.appointments.models import Booking, Hall, Window
from tongban.appointments.tests.conftest import make_slot
from tongban.catalog.tests.factories import ServiceItemFactory
from tongban.core.errors import Conflict
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory

APPLICANTS = 20
PLACES = 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_never_exceed_capacity() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:"):
        pytest.skip("an in-memory SQLite database is not shared between threads")
    department: Any = DepartmentFactory(code="conc-hall", division_code="341500")
    hall = Hall.objects.create(name="并发大厅", address="-", department=department, division_code="341500")
    Window.objects.create(hall=hall, number=1, name="综合窗口", all_items=True)
    item: Any = ServiceItemFactory(published=True)
    slot = make_slot(hall, capacity=PLACES)
    applicants: list[Any] = [CitizenFactory() for _ in range(APPLICANTS)]
    start = threading.Barrier(APPLICANTS)

    def attempt(index: int) -> str:
        try:
            start.wait(timeout=30)
            try:
                services.booking_create(slot_id=slot.pk, item_id=item.pk, by=applicants[index])
            except Conflict as refused:
                return refused.code
            return "booked"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=APPLICANTS) as pool:
        outcomes = list(pool.map(attempt, range(APPLICANTS)))

    assert outcomes.count("booked") == PLACES
    assert outcomes.count("slot_full") == APPLICANTS - PLACES
    assert Booking.objects.filter(slot=slot, item=item, status=BookingStatus.BOOKED).count() == PLACES

"""Appointment pages (tongban/portal/views_appointments.py): booking step by step, my appointments
with cancel, the clerks' day view; other people's bookings and other jurisdictions' halls are 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongban.appointments import services
from tongban.appointments.choices import BookingStatus
from tongban.appointments.models import Booking, Hall
from tongban.appointments.tests.conftest import make_slot
from tongban.identity.tests.factories import CitizenFactory, StaffFactory

pytestmark = pytest.mark.django_db

BOOK = reverse("appointments:book")
MINE = reverse("appointments:mine")
DAY = reverse("appointments:staff_day")


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stranger() -> Any:
    return CitizenFactory()


def test_my_bookings_path_is_the_page() -> None:
    assert services.MY_BOOKINGS_PATH == MINE


def test_booking_step_by_step(hall: Hall, item: Any, citizen: Any) -> None:
    slot = make_slot(hall)
    client = logged_in(citizen)
    page = client.get(BOOK, {"item": item.implementation_code}).content.decode()
    assert hall.name in page  # the only hall is chosen at once
    assert "09:00–09:30" in page
    response = client.post(
        BOOK,
        {"item": item.implementation_code, "slot": slot.pk, "hall": hall.pk, "date": slot.date.isoformat()},
    )
    assert response.status_code == 302
    assert response["Location"] == MINE
    booking = Booking.objects.get(applicant=citizen)
    mine = client.get(MINE).content.decode()
    assert booking.code in mine
    assert reverse("appointments:cancel", args=[booking.pk]) in mine


def test_full_slot_shows_the_message(hall: Hall, item: Any, citizen: Any) -> None:
    slot = make_slot(hall, capacity=1)
    services.booking_create(slot_id=slot.pk, item_id=item.pk, by=stranger())
    client = logged_in(citizen)
    data = {"item": item.implementation_code, "slot": slot.pk, "hall": hall.pk, "date": slot.date.isoformat()}
    response = client.post(BOOK, data, follow=True)
    assert "约满" in response.content.decode() or "full" in response.content.decode()
    assert not Booking.objects.filter(applicant=citizen).exists()


def test_guide_links_to_booking(item: Any) -> None:
    page = Client().get(reverse("portal:service_guide", args=[item.implementation_code])).content.decode()
    assert f"{BOOK}?item={item.implementation_code}" in page


def test_cancel_own_booking(hall: Hall, item: Any, citizen: Any) -> None:
    booking = services.booking_create(slot_id=make_slot(hall).pk, item_id=item.pk, by=citizen)
    response = logged_in(citizen).post(reverse("appointments:cancel", args=[booking.pk]))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_cancelling_someone_elses_booking_is_404(hall: Hall, item: Any, citizen: Any) -> None:
    booking = services.booking_create(slot_id=make_slot(hall).pk, item_id=item.pk, by=citizen)
    response = logged_in(stranger()).post(reverse("appointments:cancel", args=[booking.pk]))
    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def _today_booking(hall: Hall, item: Any, who: Any) -> Booking:
    slot = make_slot(hall, day=timezone.localdate() - timedelta(days=1))
    return Booking.objects.create(slot=slot, item=item, applicant=who, date=slot.date, code="DAY0000001")


def test_clerk_sees_and_marks_the_days_bookings(hall: Hall, item: Any, citizen: Any, clerk: Any) -> None:
    booking = _today_booking(hall, item, citizen)
    client = logged_in(clerk)
    page = client.get(DAY, {"hall": str(hall.pk), "date": booking.date.isoformat()}).content.decode()
    assert booking.code in page
    assert citizen.masked_name in page
    assert citizen.name not in page
    response = client.post(reverse("appointments:mark_no_show", args=[booking.pk]))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW


def test_clerk_of_another_jurisdiction_gets_404(
    hall: Hall, item: Any, citizen: Any, county_clerk: Any
) -> None:
    booking = _today_booking(hall, item, citizen)
    client = logged_in(county_clerk)
    assert client.get(DAY, {"hall": str(hall.pk), "date": booking.date.isoformat()}).status_code == 404
    assert client.post(reverse("appointments:mark_attended", args=[booking.pk])).status_code == 404
    assert client.post(reverse("appointments:mark_no_show", args=[booking.pk])).status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_county_clerk_sees_only_the_county_hall(hall: Hall, county_hall: Hall, county_clerk: Any) -> None:
    page = logged_in(county_clerk).get(DAY).content.decode()
    assert county_hall.name in page
    assert hall.name not in page


def test_day_view_needs_a_clerk_or_administrator(city_centre: Any, citizen: Any) -> None:
    approver = StaffFactory(department=city_centre, roles=["approver"])
    assert logged_in(approver).get(DAY).status_code == 403
    assert logged_in(citizen).get(DAY).status_code == 403


def test_workbench_links_the_day_view(clerk: Any) -> None:
    assert DAY in logged_in(clerk).get(reverse("portal:workbench")).content.decode()

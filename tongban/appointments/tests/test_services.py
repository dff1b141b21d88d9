"""Booking rules: published items, future slots, capacity, one per item and day, no-show suspension,
cancellation, attendance, slot generation and reminders; each change audited and notified."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongban.appointments import selectors, services
from tongban.appointments.choices import BookingStatus
from tongban.appointments.models import Booking, Hall, Slot, Window
from tongban.appointments.tests.conftest import make_slot, next_working_day
from tongban.catalog.tests.factories import ServiceItemFactory
from tongban.core import calendar
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.tests.factories import CitizenFactory
from tongban.notifications import channels
from tongban.notifications.models import Message

pytestmark = pytest.mark.django_db


def stranger() -> Any:
    return CitizenFactory()


def book(slot: Slot, item: Any, who: Any) -> Booking:
    return services.booking_create(slot_id=slot.pk, item_id=item.pk, by=who)


def test_booking_is_stored_audited_and_notified(
    hall: Hall, item: Any, citizen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = make_slot(hall)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(slot, item, citizen)
    assert booking.status == BookingStatus.BOOKED
    assert booking.date == slot.date
    assert len(booking.code) == 10
    assert AuditEvent.objects.filter(action="appointment.book", subject_id=str(booking.pk)).exists()
    message = Message.objects.get(recipient=citizen, topic="appointment.booked")
    assert booking.code in message.body
    assert message.link == "/appointments/"
    assert channels.outbox
    assert booking.code in channels.outbox[0]["text"]


def test_unpublished_item_is_refused(hall: Hall, citizen: Any) -> None:
    draft: Any = ServiceItemFactory()
    with pytest.raises(NotFound) as caught:
        book(make_slot(hall), draft, citizen)
    assert caught.value.code == "item_not_found"


def test_a_slot_that_has_begun_is_refused(hall: Hall, item: Any, citizen: Any) -> None:
    slot = make_slot(hall, day=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationFailed) as caught:
        book(slot, item, citizen)
    assert caught.value.code == "slot_past"


def test_hall_must_serve_the_item(county_hall: Hall, item: Any, citizen: Any) -> None:
    window = Window.objects.create(hall=county_hall, number=1, name="公安窗口")
    other: Any = ServiceItemFactory(published=True)
    window.items.set([other])
    slot = make_slot(county_hall)
    with pytest.raises(ValidationFailed) as caught:
        book(slot, item, citizen)
    assert caught.value.code == "item_not_served"
    assert book(slot, other, citizen).status == BookingStatus.BOOKED


def test_capacity_is_per_item(hall: Hall, item: Any) -> None:
    slot = make_slot(hall, capacity=2)
    book(slot, item, stranger())
    book(slot, item, stranger())
    with pytest.raises(Conflict) as caught:
        book(slot, item, stranger())
    assert caught.value.code == "slot_full"
    other_item: Any = ServiceItemFactory(published=True)
    assert book(slot, other_item, stranger()).status == BookingStatus.BOOKED
    places = {p.slot.pk: p.remaining for p in selectors.slots_with_places(hall, item, slot.date)}
    assert places[slot.pk] == 0


def test_one_active_booking_per_item_and_day(hall: Hall, item: Any, citizen: Any) -> None:
    first = book(make_slot(hall, start=time(9, 0)), item, citizen)
    later = make_slot(hall, start=time(10, 0))
    with pytest.raises(Conflict) as caught:
        book(later, item, citizen)
    assert caught.value.code == "booking_duplicate"
    services.booking_cancel(booking_id=first.pk, by=citizen)
    assert book(later, item, citizen).status == BookingStatus.BOOKED


def test_staff_cannot_book(hall: Hall, item: Any, clerk: Any) -> None:
    with pytest.raises(PermissionDenied):
        book(make_slot(hall), item, clerk)


def test_no_shows_suspend_booking(hall: Hall, item: Any, citizen: Any, settings: Any) -> None:
    settings.TONGBAN_APPOINTMENT_NO_SHOW_LIMIT = 3
    today = timezone.localdate()
    for n in range(3):
        past = make_slot(hall, day=today - timedelta(days=10 + n))
        Booking.objects.create(
            slot=past,
            item=item,
            applicant=citizen,
            date=past.date,
            code=f"NOSHOW{n}",
            status=BookingStatus.NO_SHOW,
        )
    assert selectors.booking_ban_until(citizen) == today - timedelta(days=10) + timedelta(days=30)
    with pytest.raises(PermissionDenied) as caught:
        book(make_slot(hall), item, citizen)
    assert caught.value.code == "booking_suspended"
    assert f"{today + timedelta(days=20):%Y-%m-%d}" in str(caught.value.message)
    # Forty days later the suspension is over.
    assert selectors.booking_ban_until(citizen, today=today + timedelta(days=21)) is None


def test_two_no_shows_do_not_suspend(hall: Hall, item: Any, citizen: Any) -> None:
    for n in range(2):
        past = make_slot(hall, day=timezone.localdate() - timedelta(days=5 + n))
        Booking.objects.create(
            slot=past,
            item=item,
            applicant=citizen,
            date=past.date,
            code=f"NS{n}",
            status=BookingStatus.NO_SHOW,
        )
    assert book(make_slot(hall), item, citizen).status == BookingStatus.BOOKED


def test_cancel_own_booking_frees_the_place(
    hall: Hall, item: Any, citizen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = make_slot(hall, capacity=1)
    booking = book(slot, item, citizen)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking_id=booking.pk, by=citizen)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancelled_at is not None
    assert Message.objects.filter(recipient=citizen, topic="appointment.cancelled").exists()
    assert AuditEvent.objects.filter(action="appointment.cancel").exists()
    assert book(slot, item, stranger()).status == BookingStatus.BOOKED
    with pytest.raises(Conflict):
        services.booking_cancel(booking_id=booking.pk, by=citizen)


def test_cancel_someone_elses_booking_is_not_found(hall: Hall, item: Any, citizen: Any) -> None:
    booking = book(make_slot(hall), item, citizen)
    with pytest.raises(NotFound):
        services.booking_cancel(booking_id=booking.pk, by=stranger())


def test_cancel_after_start_is_refused(hall: Hall, item: Any, citizen: Any) -> None:
    slot = make_slot(hall, day=timezone.localdate() - timedelta(days=1))
    booking = Booking.objects.create(
        slot=slot, item=item, applicant=citizen, date=slot.date, code="PAST000001"
    )
    with pytest.raises(ValidationFailed) as caught:
        services.booking_cancel(booking_id=booking.pk, by=citizen)
    assert caught.value.code == "booking_started"


def _past_booking(hall: Hall, item: Any, who: Any, start: time = time(9, 0)) -> Booking:
    slot = Slot.objects.filter(hall=hall, date=timezone.localdate() - timedelta(days=1), start=start).first()
    slot = slot or make_slot(hall, day=timezone.localdate() - timedelta(days=1), start=start)
    return Booking.objects.create(slot=slot, item=item, applicant=who, date=slot.date, code=f"P{who.pk:09d}")


def test_clerk_marks_attended_and_no_show(
    hall: Hall, item: Any, clerk: Any, django_capture_on_commit_callbacks: Any
) -> None:
    came: Any = CitizenFactory()
    missed: Any = CitizenFactory()
    first, second = _past_booking(hall, item, came), _past_booking(hall, item, missed)
    services.booking_mark_attended(booking_id=first.pk, by=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_mark_no_show(booking_id=second.pk, by=clerk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.marked_by) == (BookingStatus.ATTENDED, clerk)
    assert second.status == BookingStatus.NO_SHOW
    assert Message.objects.filter(recipient=missed, topic="appointment.no_show").exists()
    with pytest.raises(Conflict):
        services.booking_mark_attended(booking_id=first.pk, by=clerk)


def test_no_show_only_after_the_start(hall: Hall, item: Any, citizen: Any, clerk: Any) -> None:
    booking = book(make_slot(hall), item, citizen)
    with pytest.raises(ValidationFailed) as caught:
        services.booking_mark_no_show(booking_id=booking.pk, by=clerk)
    assert caught.value.code == "booking_not_started"


def test_clerk_of_another_jurisdiction_cannot_mark(
    hall: Hall, item: Any, citizen: Any, county_clerk: Any
) -> None:
    booking = _past_booking(hall, item, citizen)
    with pytest.raises(NotFound):
        services.booking_mark_attended(booking_id=booking.pk, by=county_clerk)
    with pytest.raises(NotFound):
        selectors.day_bookings(county_clerk, hall_id=hall.pk, day=booking.date)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_citizen_cannot_mark(hall: Hall, item: Any, citizen: Any) -> None:
    booking = _past_booking(hall, item, citizen)
    with pytest.raises(PermissionDenied):
        services.booking_mark_attended(booking_id=booking.pk, by=citizen)


def test_slot_generation_covers_working_days_once(hall: Hall) -> None:
    start = date(2026, 9, 28)  # Monday; 1-7 October 2026 is the National Day holiday
    created = services.slots_generate(days=14, today=start)
    days = sorted(set(Slot.objects.filter(hall=hall).values_list("date", flat=True)))
    assert all(calendar.is_working_day(d) for d in days)
    assert date(2026, 10, 1) not in days
    per_day = Slot.objects.filter(hall=hall, date=days[0]).count()
    assert per_day == 6 + 7  # 9:00-12:00 and 13:30-17:00 in 30-minute slots
    assert created == per_day * len(days)
    first = Slot.objects.filter(hall=hall, date=days[0]).order_by("start").first()
    assert first is not None
    assert (first.start, first.end, first.capacity) == (time(9, 0), time(9, 30), 2)
    assert services.slots_generate(days=14, today=start) == 0
    assert AuditEvent.objects.filter(action="appointment.slots_generate").count() == 1


def test_reminders_go_once_to_next_working_day(
    hall: Hall, item: Any, citizen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    booking = book(make_slot(hall), item, citizen)
    book(make_slot(hall, day=calendar.add_working_days(timezone.localdate(), 2)), item, citizen)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.bookings_remind() == 1
    assert services.bookings_remind() == 0
    booking.refresh_from_db()
    assert booking.reminded_at is not None
    reminder = Message.objects.get(recipient=citizen, topic="appointment.reminder")
    assert booking.code in reminder.body
    assert next_working_day() == booking.date

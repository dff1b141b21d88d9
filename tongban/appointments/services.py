"""Writes for appointments: halls and windows, slot generation, booking, cancellation, attendance,
reminders. Every change is checked, atomic, audited, and the applicant is told (``notify``).

Booking is safe under concurrency: the slot row is locked (``select_for_update``) before the places
are counted, so two applicants racing for the last place queue on that row and the second one sees
the slot full. A partial unique constraint backs the one-active-booking-per-item-per-day rule.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.appointments import selectors
from tongban.appointments.choices import BookingStatus
from tongban.appointments.models import Booking, Hall, Slot, Window
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.models import ServiceItem
from tongban.core import audit, calendar
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User
from tongban.notifications.services import notify

# Where applicants find their bookings (the portal's appointments:mine page).
MY_BOOKINGS_PATH = "/appointments/"
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
_CODE_LENGTH = 10


# --- halls and windows -------------------------------------------------------------------------


def _parse_periods(periods: list[list[str]]) -> list[tuple[time, time]]:
    try:
        parsed = [(time.fromisoformat(start), time.fromisoformat(end)) for start, end in periods]
    except (TypeError, ValueError):
        parsed = []
    if not parsed or any(start >= end for start, end in parsed):
        raise ValidationFailed(
            _("Opening periods must be [start, end] pairs of HH:MM, each ending after it starts."),
            code="hall_periods_invalid",
        )
    return sorted(parsed)


def _require_admin_of(by: User, department: Department) -> None:
    if not identity_selectors.has_role(
        by, Role.ADMINISTRATOR
    ) or not identity_selectors.department_is_visible(by, department):
        raise PermissionDenied(
            _("Only an administrator of the department's jurisdiction may do this."),
            code="not_your_department",
        )


@transaction.atomic
def hall_create(
    *,
    name: str,
    address: str,
    department: Department,
    periods: list[list[str]] | None = None,
    slot_minutes: int = 30,
    capacity_per_item: int = 3,
    by: User,
) -> Hall:
    """Open a service hall run by ``department``; its division is the department's."""
    _require_admin_of(by, department)
    if not name.strip() or not address.strip():
        raise ValidationFailed(_("A hall needs a name and an address."), code="hall_incomplete")
    if not 5 <= slot_minutes <= 240 or capacity_per_item < 1:
        raise ValidationFailed(
            _("Slots last 5 to 240 minutes and offer at least one place."), code="hall_slots_invalid"
        )
    hall = Hall(
        name=name.strip(),
        address=address.strip(),
        department=department,
        division_code=department.division_code,
        slot_minutes=slot_minutes,
        capacity_per_item=capacity_per_item,
    )
    if periods is not None:
        _parse_periods(periods)
        hall.periods = periods
    hall.save()
    audit.record(action="appointment.hall_create", actor=by, subject=hall, summary=hall.name)
    return hall


@transaction.atomic
def window_create(
    *,
    hall: Hall,
    number: int,
    name: str,
    all_items: bool = False,
    items: list[ServiceItem] | None = None,
    by: User,
) -> Window:
    """Add a window to a hall, serving every item (综合窗口) or the listed ones."""
    _require_admin_of(by, hall.department)
    if not all_items and not items:
        raise ValidationFailed(_("A window serves every item or at least one."), code="window_no_items")
    if Window.objects.filter(hall=hall, number=number).exists():
        raise Conflict(_("This hall already has a window with that number."), code="window_number_taken")
    window = Window.objects.create(hall=hall, number=number, name=name.strip(), all_items=all_items)
    if items and not all_items:
        window.items.set(items)
    audit.record(
        action="appointment.window_create",
        actor=by,
        subject=window.hall,
        summary=f"window {number}",
        data={"number": number, "all_items": all_items, "items": [i.pk for i in items or []]},
    )
    return window


# --- slots -------------------------------------------------------------------------------------


def _slot_times(hall: Hall) -> list[tuple[time, time]]:
    length = timedelta(minutes=hall.slot_minutes)
    times = []
    for start, end in _parse_periods(hall.periods):
        moment = datetime.combine(date.min, start)
        period_end = datetime.combine(date.min, end)
        while moment + length <= period_end:
            times.append((moment.time(), (moment + length).time()))
            moment += length
    return times


@transaction.atomic
def slots_generate(*, days: int, today: date | None = None) -> int:
    """Create the missing slots of every open hall for the working days among the next ``days`` days
    (today included), from each hall's opening template. Returns how many were created; running it
    again creates nothing twice, and slots already there (and their bookings) are left alone."""
    if days < 1:
        raise ValidationFailed(_("Generate slots for at least one day."), code="slot_days_invalid")
    today = today or timezone.localdate()
    working_days = [d for d in (today + timedelta(days=n) for n in range(days)) if calendar.is_working_day(d)]
    created_total = 0
    for hall in Hall.objects.filter(is_active=True).order_by("pk"):
        existing = set(Slot.objects.filter(hall=hall, date__in=working_days).values_list("date", "start"))
        new = [
            Slot(hall=hall, date=day, start=start, end=end, capacity=hall.capacity_per_item)
            for day in working_days
            for start, end in _slot_times(hall)
            if (day, start) not in existing
        ]
        Slot.objects.bulk_create(new, ignore_conflicts=True)
        if new:
            audit.record(
                action="appointment.slots_generate",
                subject=hall,
                summary=f"{len(new)} slots",
                data={"from": str(working_days[0]), "to": str(working_days[-1]), "created": len(new)},
            )
        created_total += len(new)
    return created_total


# --- booking -----------------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))


def _facts(booking: Booking) -> dict[str, Any]:
    slot = booking.slot
    return {
        "code": booking.code,
        "item": selectors.item_name(booking.item),
        "hall": slot.hall.name,
        "address": slot.hall.address,
        "date": f"{slot.date:%Y-%m-%d}",
        "start": f"{slot.start:%H:%M}",
        "end": f"{slot.end:%H:%M}",
    }


def _tell(booking: Booking, topic: str, title: str | Promise, body: str | Promise) -> None:
    """Notify the applicant in the site's language (SMS and the message centre are read later, by
    someone whose browser language the service does not know)."""
    with translation.override(settings.LANGUAGE_CODE):
        notify(
            recipient=booking.applicant,
            topic=topic,
            title=str(title),
            body=str(body),
            link=MY_BOOKINGS_PATH,
            subject=booking,
        )


def _notify_text(message: str | Promise, **facts: Any) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(message) % facts


def _require_applicant(by: User) -> None:
    if by.kind not in (AccountKind.CITIZEN, AccountKind.ENTERPRISE):
        raise PermissionDenied(
            _("Appointments are booked by citizen and enterprise accounts."), code="applicants_only"
        )


@transaction.atomic
def booking_create(*, slot_id: int, item_id: int, by: User) -> Booking:
    """Book a place for a published item in a future slot of a hall serving it."""
    _require_applicant(by)
    item = catalog_selectors.published_items().filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("This service item is not available."), code="item_not_found")
    # The lock that makes counting the places safe: every booking of this slot queues here.
    slot = (
        Slot.objects.select_for_update()
        .select_related("hall")
        .filter(pk=slot_id, hall__is_active=True)
        .first()
    )
    if slot is None:
        raise NotFound(_("There is no such time slot."), code="slot_not_found")
    now = timezone.now()
    if slot.starts_at <= now:
        raise ValidationFailed(_("This time slot has already begun; choose a later one."), code="slot_past")
    if not selectors.hall_serves_item(slot.hall, item):
        raise ValidationFailed(_("This hall does not handle this service item."), code="item_not_served")
    ban_until = selectors.booking_ban_until(by, today=timezone.localdate(now))
    if ban_until is not None:
        raise PermissionDenied(
            _("You missed %(count)d appointments within %(days)d days, so you can book again from %(date)s.")
            % {
                "count": settings.TONGBAN_APPOINTMENT_NO_SHOW_LIMIT,
                "days": settings.TONGBAN_APPOINTMENT_NO_SHOW_WINDOW_DAYS,
                "date": f"{ban_until:%Y-%m-%d}",
            },
            code="booking_suspended",
        )
    duplicate = Booking.objects.filter(applicant=by, item=item, date=slot.date, status=BookingStatus.BOOKED)
    if duplicate.exists():
        raise Conflict(
            _("You already have an appointment for this item on that day."), code="booking_duplicate"
        )
    taken = Booking.objects.filter(slot=slot, item=item, status=BookingStatus.BOOKED).count()
    if taken >= slot.capacity:
        raise Conflict(_("This time slot is full; choose another one."), code="slot_full")
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                slot=slot, item=item, applicant=by, date=slot.date, code=_new_code()
            )
    except IntegrityError:  # another booking of the same day and item committed meanwhile
        raise Conflict(
            _("You already have an appointment for this item on that day."), code="booking_duplicate"
        ) from None
    facts = _facts(booking)
    audit.record(
        action="appointment.book",
        actor=by,
        subject=booking,
        summary=f"{facts['item']} {facts['date']} {facts['start']}",
        data={"slot_id": slot.pk, "item_id": item.pk, "hall_id": slot.hall_id},
    )
    _tell(
        booking,
        "appointment.booked",
        _("Appointment booked"),
        _notify_text(
            _(
                "%(item)s at %(hall)s (%(address)s), %(date)s %(start)s–%(end)s. Booking code %(code)s. "
                "Please bring the materials listed in the service guide."
            ),
            **facts,
        ),
    )
    return booking


@transaction.atomic
def booking_cancel(*, booking_id: int, by: User) -> Booking:
    """The applicant cancels their own booking, up to the start of its slot."""
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot__hall", "item__current_version", "applicant")
        .filter(pk=booking_id, applicant=by)
        .first()
    )
    if booking is None:
        raise NotFound(_("There is no such appointment."), code="booking_not_found")
    if booking.status != BookingStatus.BOOKED:
        raise Conflict(_("This appointment is no longer active."), code="booking_not_active")
    if timezone.now() >= booking.slot.starts_at:
        raise ValidationFailed(
            _("An appointment can be cancelled only before it starts."), code="booking_started"
        )
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = timezone.now()
    booking.save(update_fields=["status", "cancelled_at"])
    facts = _facts(booking)
    audit.record(
        action="appointment.cancel", actor=by, subject=booking, summary=f"{facts['date']} {facts['start']}"
    )
    _tell(
        booking,
        "appointment.cancelled",
        _("Appointment cancelled"),
        _notify_text(
            _("Your appointment %(code)s for %(item)s on %(date)s %(start)s is cancelled."), **facts
        ),
    )
    return booking


def _staff_booking(booking_id: int, by: User) -> Booking:
    if not identity_selectors.has_role(by, *selectors.STAFF_ROLES):
        raise PermissionDenied(
            _("Only window clerks and administrators record attendance."), code="not_window_staff"
        )
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot__hall", "item__current_version", "applicant")
        .filter(pk=booking_id, slot__hall__in=selectors.halls_for_staff(by))
        .first()
    )
    if booking is None:
        raise NotFound(_("There is no such appointment."), code="booking_not_found")
    if booking.status != BookingStatus.BOOKED:
        raise Conflict(_("This appointment is no longer active."), code="booking_not_active")
    return booking


def _mark(booking: Booking, status: str, by: User) -> None:
    booking.status = status
    booking.marked_at = timezone.now()
    booking.marked_by = by
    booking.save(update_fields=["status", "marked_at", "marked_by"])


@transaction.atomic
def booking_mark_attended(*, booking_id: int, by: User) -> Booking:
    """A clerk records that the applicant came (on the day of the appointment or later)."""
    booking = _staff_booking(booking_id, by)
    if booking.date > timezone.localdate():
        raise ValidationFailed(
            _("Attendance is recorded on the day of the appointment."), code="booking_not_today"
        )
    _mark(booking, BookingStatus.ATTENDED, by)
    audit.record(action="appointment.attended", actor=by, subject=booking, summary=booking.code)
    return booking


@transaction.atomic
def booking_mark_no_show(*, booking_id: int, by: User) -> Booking:
    """A clerk records that the applicant did not come; too many of these suspend booking."""
    booking = _staff_booking(booking_id, by)
    if timezone.now() < booking.slot.starts_at:
        raise ValidationFailed(
            _("A no-show can be recorded only after the appointment has started."), code="booking_not_started"
        )
    _mark(booking, BookingStatus.NO_SHOW, by)
    audit.record(action="appointment.no_show", actor=by, subject=booking, summary=booking.code)
    _tell(
        booking,
        "appointment.no_show",
        _("Missed appointment recorded"),
        _notify_text(
            _(
                "You did not come to appointment %(code)s for %(item)s on %(date)s %(start)s. "
                "After %(limit)d missed appointments within %(days)d days, booking is suspended for "
                "%(ban)d days."
            ),
            limit=settings.TONGBAN_APPOINTMENT_NO_SHOW_LIMIT,
            days=settings.TONGBAN_APPOINTMENT_NO_SHOW_WINDOW_DAYS,
            ban=settings.TONGBAN_APPOINTMENT_BAN_DAYS,
            **_facts(booking),
        ),
    )
    return booking


@transaction.atomic
def bookings_remind(*, today: date | None = None) -> int:
    """Remind every active booking of the next working day, once (``reminded_at``). Returns how many."""
    target = calendar.next_working_day(today or timezone.localdate())
    bookings = list(
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot__hall", "item__current_version", "applicant")
        .filter(status=BookingStatus.BOOKED, date=target, reminded_at__isnull=True)
        .order_by("pk")
    )
    now = timezone.now()
    for booking in bookings:
        booking.reminded_at = now
        booking.save(update_fields=["reminded_at"])
        audit.record(action="appointment.remind", subject=booking, summary=booking.code)
        _tell(
            booking,
            "appointment.reminder",
            _("Appointment reminder"),
            _notify_text(
                _(
                    "Reminder: %(item)s at %(hall)s (%(address)s) on %(date)s %(start)s–%(end)s, "
                    "booking code %(code)s."
                ),
                **_facts(booking),
            ),
        )
    return len(bookings)

"""Reads for appointments: what an applicant may book, their own bookings, and the staff's day view.

Staff see the halls of the departments in their jurisdiction only (ADR 0005); a hall or booking
outside it is "not found", so nobody can probe for other counties' bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.appointments.choices import BookingStatus
from tongban.appointments.models import Booking, Hall, Slot
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.models import ServiceItem
from tongban.core.errors import NotFound
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import Role
from tongban.identity.models import User

STAFF_ROLES = (Role.WINDOW_CLERK, Role.ADMINISTRATOR)


@dataclass(frozen=True)
class SlotPlaces:
    slot: Slot
    remaining: int


def bookable_item(implementation_code: str) -> ServiceItem:
    """A published item, by the code the service guide links with."""
    item = catalog_selectors.published_items().filter(implementation_code=implementation_code).first()
    if item is None:
        raise NotFound(_("This service item is not available."), code="item_not_found")
    return item


def halls_for_item(item: ServiceItem) -> QuerySet[Hall]:
    """Open halls with an open window serving the item (by name, or a window serving every item)."""
    served = Q(windows__is_active=True) & (Q(windows__all_items=True) | Q(windows__items=item))
    return Hall.objects.filter(served, is_active=True).distinct().order_by("division_code", "name")


def hall_serves_item(hall: Hall, item: ServiceItem) -> bool:
    return halls_for_item(item).filter(pk=hall.pk).exists()


def bookable_days(hall: Hall, *, now: datetime | None = None, limit: int = 10) -> list[date]:
    """The next days with slots still to come, at most ``limit`` of them."""
    today = timezone.localdate(now)
    days = Slot.objects.filter(hall=hall, date__gte=today).values_list("date", flat=True).distinct()
    return list(days.order_by("date")[:limit])


def slots_with_places(
    hall: Hall, item: ServiceItem, day: date, *, now: datetime | None = None
) -> list[SlotPlaces]:
    """The day's slots that have not started, each with the places left for this item (one query)."""
    moment = now or timezone.now()
    slots = (
        Slot.objects.filter(hall=hall, date=day)
        .annotate(
            taken=Count("bookings", filter=Q(bookings__item=item, bookings__status=BookingStatus.BOOKED))
        )
        .order_by("start")
    )
    return [
        SlotPlaces(slot=slot, remaining=max(slot.capacity - slot.taken, 0))
        for slot in slots
        if slot.starts_at > moment
    ]


def bookings_of(user: User) -> QuerySet[Booking]:
    """The applicant's own bookings, upcoming first."""
    return (
        Booking.objects.filter(applicant=user)
        .select_related("slot__hall", "item__current_version")
        .order_by("-date", "-slot__start", "-pk")
    )


def booking_ban_until(user: User, *, today: date | None = None) -> date | None:
    """The first day the applicant may book again after too many no-shows, or None if not barred.

    ``TONGBAN_APPOINTMENT_NO_SHOW_LIMIT`` no-shows within the look-back window bar booking for
    ``TONGBAN_APPOINTMENT_BAN_DAYS`` days after the latest of them.
    """
    today = today or timezone.localdate()
    limit = settings.TONGBAN_APPOINTMENT_NO_SHOW_LIMIT
    since = today - timedelta(days=settings.TONGBAN_APPOINTMENT_NO_SHOW_WINDOW_DAYS)
    dates = list(
        Booking.objects.filter(applicant=user, status=BookingStatus.NO_SHOW, date__gte=since, date__lte=today)
        .order_by("-date")
        .values_list("date", flat=True)[:limit]
    )
    if len(dates) < limit:
        return None
    until = dates[0] + timedelta(days=settings.TONGBAN_APPOINTMENT_BAN_DAYS)
    return until if today < until else None


def halls_for_staff(user: User) -> QuerySet[Hall]:
    """Halls of the departments in the user's jurisdiction, for window clerks and administrators."""
    if not identity_selectors.has_role(user, *STAFF_ROLES):
        return Hall.objects.none()
    return Hall.objects.filter(department__in=identity_selectors.departments_in_jurisdiction(user)).order_by(
        "division_code", "name"
    )


def day_bookings(user: User, *, hall_id: int, day: date) -> QuerySet[Booking]:
    """The bookings of one day in a hall the user may see (else ``NotFound``), by slot time."""
    if not halls_for_staff(user).filter(pk=hall_id).exists():
        raise NotFound(_("There is no such hall."), code="hall_not_found")
    return (
        Booking.objects.filter(slot__hall_id=hall_id, date=day)
        .exclude(status=BookingStatus.CANCELLED)
        .select_related("slot", "item__current_version", "applicant")
        .order_by("slot__start", "pk")
    )


def item_name(item: ServiceItem) -> str:
    """The item's published name (a retired item keeps its code)."""
    version = item.current_version
    return version.name if version is not None else item.implementation_code

"""Appointments (预约办事): applicants book, see and cancel; window clerks see the day's bookings.

Applicants choose step by step with plain links (item, then hall, then day), and book a slot with one
POST. Every page reads through ``tongban.appointments.selectors`` and writes through its services;
a booking or hall that is not the user's to see is a 404, whatever the reason.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.appointments import selectors, services
from tongban.appointments.choices import BookingStatus
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.models import ServiceItem
from tongban.core.errors import DomainError, NotFound
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required
from tongban.identity.selectors import portal_user


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _pick_item(code: str | None) -> ServiceItem | None:
    if not code:
        return None
    try:
        return selectors.bookable_item(code)
    except NotFound:
        return None


def _book_url(item: ServiceItem, hall_id: int | None = None, day: date | None = None) -> str:
    params: dict[str, Any] = {"item": item.implementation_code}
    if hall_id is not None:
        params["hall"] = hall_id
    if day is not None:
        params["date"] = day.isoformat()
    return f"{reverse('appointments:book')}?{urlencode(params)}"


@login_required
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if request.method == "POST":
        item = _pick_item(request.POST.get("item"))
        slot_id = _int(request.POST.get("slot"))
        if item is None or slot_id is None:
            raise Http404
        try:
            booking = services.booking_create(slot_id=slot_id, item_id=item.pk, by=user)
        except DomainError as error:
            messages.error(request, str(error.message))
            return redirect(_book_url(item, _int(request.POST.get("hall")), _day(request.POST.get("date"))))
        messages.success(
            request,
            _("Booked. Your booking code is %(code)s; we have sent you the details.")
            % {"code": booking.code},
        )
        return redirect("appointments:mine")

    item = _pick_item(request.GET.get("item"))
    context: dict[str, Any] = {
        "item": item,
        "item_name": selectors.item_name(item) if item else "",
        "ban_until": selectors.booking_ban_until(user),
        "is_applicant": user.is_citizen or user.is_enterprise,
    }
    if item is None:
        context["items"] = catalog_selectors.published_items()
        return render(request, "portal/appointments/book.html", context)
    halls = list(selectors.halls_for_item(item))
    hall = next((h for h in halls if h.pk == _int(request.GET.get("hall"))), None)
    if hall is None and len(halls) == 1:
        hall = halls[0]
    context.update(halls=halls, hall=hall)
    if hall is not None:
        days = selectors.bookable_days(hall)
        day = _day(request.GET.get("date"))
        day = day if day in days else (days[0] if days else None)
        context.update(
            days=[(d, _book_url(item, hall.pk, d)) for d in days],
            day=day,
            slots=selectors.slots_with_places(hall, item, day) if day else [],
        )
    context["hall_links"] = [(h, _book_url(item, h.pk)) for h in halls]
    return render(request, "portal/appointments/book.html", context)


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    bookings = [
        (booking, booking.status == BookingStatus.BOOKED and booking.slot.starts_at > now)
        for booking in selectors.bookings_of(portal_user(request))[:100]
    ]
    return render(request, "portal/appointments/mine.html", {"bookings": bookings})


@login_required
@require_POST
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        services.booking_cancel(booking_id=booking_id, by=portal_user(request))
    except NotFound as error:
        raise Http404(str(error.message)) from None
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Your appointment is cancelled."))
    return redirect("appointments:mine")


def _day_url(hall_id: int, day: date) -> str:
    query: dict[str, str | int] = {"hall": hall_id, "date": day.isoformat()}
    return f"{reverse('appointments:staff_day')}?{urlencode(query)}"


@staff_required(Role.WINDOW_CLERK, Role.ADMINISTRATOR)
@require_GET
def staff_day(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    halls = list(selectors.halls_for_staff(user))
    hall_id = _int(request.GET.get("hall")) or (halls[0].pk if halls else None)
    day = _day(request.GET.get("date")) or timezone.localdate()
    context: dict[str, Any] = {"halls": halls, "hall_id": hall_id, "day": day, "bookings": []}
    if hall_id is not None:
        try:
            context["bookings"] = list(selectors.day_bookings(user, hall_id=hall_id, day=day))
        except NotFound as error:
            raise Http404(str(error.message)) from None
    context["hall"] = next((h for h in halls if h.pk == hall_id), None)
    return render(request, "portal/appointments/staff_day.html", context)


@staff_required(Role.WINDOW_CLERK, Role.ADMINISTRATOR)
@require_POST
def staff_mark(request: HttpRequest, booking_id: int, outcome: str) -> HttpResponse:
    user = portal_user(request)
    mark = services.booking_mark_attended if outcome == "attended" else services.booking_mark_no_show
    try:
        booking = mark(booking_id=booking_id, by=user)
    except NotFound as error:
        raise Http404(str(error.message)) from None
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(
            _day_url(
                _int(request.POST.get("hall")) or 0, _day(request.POST.get("date")) or timezone.localdate()
            )
        )
    messages.success(request, _("Booking %(code)s recorded.") % {"code": booking.code})
    return redirect(_day_url(booking.slot.hall_id, booking.date))

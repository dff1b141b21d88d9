"""Service halls, their windows, the day's time slots and the applicants' bookings (预约办事).

Capacity is per item: a slot offers ``capacity`` places to *each* item the hall serves, because a
hall's windows are planned per kind of business, and one busy item must not crowd out the others.
The places left are counted from the active bookings, never kept as a counter that could drift; a
booking locks its slot row (``select_for_update``) before counting, so concurrent bookings of the
last place queue on that row and only one wins.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongban.appointments.choices import BookingStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def default_periods() -> list[list[str]]:
    return [["09:00", "12:00"], ["13:30", "17:00"]]


class Hall(models.Model):
    """A service hall (政务服务中心) run by one department, with its weekly opening template."""

    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=255)
    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="halls", verbose_name=_("department")
    )
    division_code = models.CharField(_("administrative division code"), max_length=12)
    periods = models.JSONField(
        _("opening periods"),
        default=default_periods,
        help_text=_("Opening periods of every working day, as [start, end] pairs of HH:MM."),
    )
    slot_minutes = models.PositiveSmallIntegerField(_("slot length in minutes"), default=30)
    capacity_per_item = models.PositiveSmallIntegerField(_("places per item in each slot"), default=3)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["division_code", "name"]
        verbose_name = _("service hall")
        verbose_name_plural = _("service halls")

    def __str__(self) -> str:
        return self.name

    @property
    def audit_label(self) -> str:
        return f"hall {self.name}"


class Window(models.Model):
    """A counter in a hall; it serves the listed items, or every item (综合窗口)."""

    hall = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="windows", verbose_name=_("hall"))
    number = models.PositiveSmallIntegerField(_("window number"))
    name = models.CharField(_("name"), max_length=100)
    all_items = models.BooleanField(_("serves every item"), default=False)
    items = models.ManyToManyField(
        "catalog.ServiceItem", blank=True, related_name="windows", verbose_name=_("items served")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["hall", "number"]
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        constraints = [models.UniqueConstraint(fields=["hall", "number"], name="appt_window_number_per_hall")]

    def __str__(self) -> str:
        return f"{self.hall.name} {self.number}"


class Slot(models.Model):
    """One bookable time range of one hall on one day, with ``capacity`` places for each item."""

    hall = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="slots", verbose_name=_("hall"))
    date = models.DateField(_("date"))
    start = models.TimeField(_("start time"))
    end = models.TimeField(_("end time"))
    capacity = models.PositiveSmallIntegerField(_("places per item"))

    class Meta:
        ordering = ["date", "start"]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        constraints = [
            models.UniqueConstraint(fields=["hall", "date", "start"], name="appt_slot_unique"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="appt_slot_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.hall_id} {self.date} {self.start:%H:%M}"

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.date, self.start, tzinfo=SHANGHAI)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.date, self.end, tzinfo=SHANGHAI)

    @property
    def audit_label(self) -> str:
        return f"slot {self.date} {self.start:%H:%M}"


class Booking(models.Model):
    """An applicant's appointment for one item in one slot.

    ``date`` repeats the slot's date so the database itself refuses a second active booking of the
    same applicant for the same item on the same day, whatever races the service check.
    """

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("slot"))
    item = models.ForeignKey(
        "catalog.ServiceItem",
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("service item"),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("applicant"),
    )
    date = models.DateField(_("date"))
    code = models.CharField(_("booking code"), max_length=16, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked by"),
    )

    class Meta:
        ordering = ["date", "slot__start", "pk"]
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "item", "date"],
                condition=Q(status="booked"),
                name="appt_one_active_booking_per_item_day",
            ),
        ]
        indexes = [
            models.Index(fields=["slot", "item", "status"], name="appt_booking_slot_item_idx"),
            models.Index(fields=["applicant", "status", "date"], name="appt_booking_applicant_idx"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def audit_label(self) -> str:
        return f"booking {self.code}"

    @property
    def is_active(self) -> bool:
        return self.status == BookingStatus.BOOKED

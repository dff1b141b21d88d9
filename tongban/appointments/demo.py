"""Demo halls, slots and bookings for the demo city (六安市), built through the appointment services.

Idempotent: halls are looked up by department and name, slots are only added where missing, and a
demo citizen who already has an active booking for the demo item keeps it. Needs the identity demo
(departments, the city administrator, the demo citizens) and the catalogue demo first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from django.utils import timezone

from tongban.appointments import services
from tongban.appointments.choices import BookingStatus
from tongban.appointments.models import Booking, Hall, Slot
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.models import ServiceItem
from tongban.core import calendar
from tongban.core.errors import DomainError, ValidationFailed
from tongban.identity.demo import CITIZENS
from tongban.identity.models import Department, User

ADMINISTRATOR = "admin"  # the city administrator of tongban/identity/demo.py
WORKING_DAYS = 10


@dataclass(frozen=True)
class HallSpec:
    department: str
    name: str
    address: str
    windows: int


HALLS: tuple[HallSpec, ...] = (
    HallSpec("luan-sjj", "六安市政务服务中心", "六安市金安区梅山南路与皖西大道交口", 10),
    HallSpec("jinan-sjj", "金安区政务服务中心", "六安市金安区中市街道龙河路", 3),
)

# (citizen key in tongban/identity/demo.py, hall index, slot start, working days ahead)
BOOKINGS: tuple[tuple[str, int, time, int], ...] = (
    ("zhangwei", 0, time(9, 30), 1),
    ("lina", 0, time(14, 0), 2),
    ("wangjianguo", 1, time(10, 0), 1),
)


@dataclass
class AppointmentSeedResult:
    halls_created: int = 0
    slots_created: int = 0
    bookings_created: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.halls_created or self.slots_created or self.bookings_created)


def _ensure_hall(spec: HallSpec, by: User) -> tuple[Hall, bool]:
    department = Department.objects.filter(code=spec.department).first()
    if department is None:
        raise ValidationFailed(
            f"The demo department {spec.department} does not exist.", code="demo_department_missing"
        )
    hall = Hall.objects.filter(department=department, name=spec.name).first()
    if hall is not None:
        return hall, False
    hall = services.hall_create(name=spec.name, address=spec.address, department=department, by=by)
    for number in range(1, spec.windows + 1):
        services.window_create(hall=hall, number=number, name=f"{number}号综合窗口", all_items=True, by=by)
    return hall, True


def _book(citizen: User, item: ServiceItem, hall: Hall, day: date, start: time) -> bool:
    if Booking.objects.filter(applicant=citizen, item=item, status=BookingStatus.BOOKED).exists():
        return False
    slot = Slot.objects.filter(hall=hall, date=day, start=start).first()
    if slot is None:
        return False
    try:
        services.booking_create(slot_id=slot.pk, item_id=item.pk, by=citizen)
    except DomainError:  # e.g. the slot has already begun when the demo is seeded late in the day
        return False
    return True


def seed(*, today: date | None = None) -> AppointmentSeedResult:
    """Create the demo halls and windows, slots for the next ten working days and a few bookings."""
    by = User.objects.filter(username=ADMINISTRATOR).first()
    if by is None:
        raise ValidationFailed("Seed the demo city before its appointments.", code="demo_city_missing")
    result = AppointmentSeedResult()
    halls = []
    for spec in HALLS:
        hall, created = _ensure_hall(spec, by)
        halls.append(hall)
        result.halls_created += int(created)
    today = today or timezone.localdate()
    # Today counts as the first of the working days when it is one.
    last = calendar.add_working_days(today, WORKING_DAYS - int(calendar.is_working_day(today)))
    result.slots_created = services.slots_generate(days=(last - today).days + 1, today=today)
    item = catalog_selectors.published_items().order_by("implementation_code").first()
    if item is None:
        return result
    citizens = {spec.key: User.objects.filter(resident_id=spec.resident_id).first() for spec in CITIZENS}
    for key, hall_index, start, ahead in BOOKINGS:
        citizen = citizens.get(key)
        if citizen is not None and _book(
            citizen, item, halls[hall_index], calendar.add_working_days(today, ahead), start
        ):
            result.bookings_created += 1
    return result

"""A small world with hand-computed figures (see ``World``).

Cases are made with plain model creation, as the rollups read them: the week of 8–12 June 2026
(no holiday), city department A (item A, 5 working days promised), county department B (item B, 3
days). Expected figures are written out in the tests, counted by hand from the list below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from tongban.cases.choices import CaseStatus, Channel, Decision, DeliveryMethod, MaterialOrigin
from tongban.cases.models import Case, CaseMaterial
from tongban.cases.tests.factories import published_item
from tongban.catalog.models import ServiceItem
from tongban.core.calendar import deadline_after
from tongban.dashboards import rollups
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory

START, END = "2026-06-01", "2026-06-30"


def at(day: int, hour: int = 10, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=timezone.get_default_timezone())


@dataclass
class World:
    a: Department
    b: Department
    item_a: ServiceItem
    item_b: ServiceItem
    supervisor: User
    administrator: User
    approver_a: User
    approver_b: User
    clerk: User
    applicant: User
    cases: dict[str, Case]


def make_case(
    item: ServiceItem,
    applicant: User,
    *,
    submitted: datetime,
    channel: str = Channel.ONLINE,
    status: str = CaseStatus.COMPLETED,
    accepted: datetime | None = None,
    completed: datetime | None = None,
    delivery: str = "",
    corrections: int = 0,
    number: str | None = None,
) -> Case:
    version = item.current_version
    assert version is not None
    draft = status == CaseStatus.DRAFT
    case = Case.objects.create(
        number=None
        if draft
        else number or f"{item.implementation_code}{submitted:%Y%m%d}{Case.objects.count() + 1:04d}",
        item=item,
        version=version,
        department=item.department,
        applicant=applicant,
        channel=channel,
        status=status,
        applicant_name=applicant.name,
        applicant_id_number=applicant.resident_id or "",
        submitted_at=None if draft else submitted,
        accepted_at=accepted,
        due_at=deadline_after(accepted, version.promised_days or 1) if accepted else None,
        completed_at=completed,
        decided_at=completed if status in (CaseStatus.COMPLETED, CaseStatus.REFUSED) else None,
        decision=Decision.REFUSED
        if status == CaseStatus.REFUSED
        else Decision.APPROVED
        if status == CaseStatus.COMPLETED
        else "",
        delivery_method=delivery,
        correction_rounds=corrections,
    )
    return case


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"  # identity's tests cover the second-factor gate


@pytest.fixture
def world(db: None) -> World:
    city: Any = DepartmentFactory(name="六安市人民政府", code="t-city", level="city", division_code="341500")
    a: Any = DepartmentFactory(
        name="六安市公安局", code="t-gaj", level="city", division_code="341500", parent=city
    )
    county = DepartmentFactory(
        name="金安区人民政府", code="t-ja", level="county", division_code="341502", parent=city
    )
    b: Any = DepartmentFactory(
        name="金安区市场监督管理局", code="t-ja-scj", level="county", division_code="341502", parent=county
    )
    item_a = published_item(a, promised_days=5)
    item_b = published_item(b, promised_days=3)
    applicant: Any = CitizenFactory(name="张三丰")
    cases = {
        # 1 online, on time: 3 working days of 5
        "on_time": make_case(
            item_a,
            applicant,
            submitted=at(8, 9),
            accepted=at(8),
            completed=at(11, 15),
            delivery=DeliveryMethod.ONLINE,
        ),
        # 2 at the window, late (7 working days, due end of 15 June), collected at the window
        "late": make_case(
            item_a,
            applicant,
            submitted=at(8, 9),
            channel=Channel.WINDOW,
            accepted=at(8),
            completed=at(17),
            delivery=DeliveryMethod.PICKUP,
        ),
        # 3 online, not accepted
        "not_accepted": make_case(
            item_a, applicant, submitted=at(8, 9), status=CaseStatus.NOT_ACCEPTED, completed=at(8, 12)
        ),
        # 4 at the window, one correction round, refused after 1 working day
        "refused": make_case(
            item_a,
            applicant,
            submitted=at(8, 9),
            channel=Channel.WINDOW,
            status=CaseStatus.REFUSED,
            accepted=at(9),
            completed=at(10),
            corrections=1,
        ),
        # 5 online, withdrawn after acceptance
        "withdrawn": make_case(
            item_a,
            applicant,
            submitted=at(8, 9),
            status=CaseStatus.WITHDRAWN,
            accepted=at(8),
            completed=at(9),
        ),
        # 6 online, still under review
        "open": make_case(item_a, applicant, submitted=at(8, 9), status=CaseStatus.IN_REVIEW, accepted=at(8)),
        # 7 API, 9 June, decided the same day; one of its two materials fetched (免提交)
        "same_day": make_case(
            item_a,
            applicant,
            submitted=at(9, 9),
            channel=Channel.API,
            accepted=at(9),
            completed=at(9, 16),
            delivery=DeliveryMethod.POST,
        ),
        # 8 department B, online, 2 working days of 3
        "b": make_case(
            item_b,
            applicant,
            submitted=at(10, 9),
            accepted=at(10),
            completed=at(12),
            delivery=DeliveryMethod.ONLINE,
        ),
        # not counted: a draft, and a case of May
        "draft": make_case(item_a, applicant, submitted=at(8), status=CaseStatus.DRAFT),
        "may": make_case(
            item_a,
            applicant,
            submitted=at(20, 9, month=5),
            accepted=at(20, 10, month=5),
            completed=at(21, 10, month=5),
            delivery=DeliveryMethod.ONLINE,
        ),
    }
    materials = {m.name: m for m in item_a.current_version.materials.all()}  # type: ignore[union-attr]
    CaseMaterial.objects.create(
        case=cases["same_day"], material=materials["居民身份证"], origin=MaterialOrigin.APPLICANT
    )
    CaseMaterial.objects.create(
        case=cases["same_day"],
        material=materials["户口簿"],
        origin=MaterialOrigin.E_LICENCE,
        provider="t-gaj",
    )
    staff: dict[str, Any] = {
        "supervisor": StaffFactory(department=city, roles=["supervisor"]),
        "administrator": StaffFactory(department=city, roles=["administrator"]),
        "approver_a": StaffFactory(department=a, roles=["approver"]),
        "approver_b": StaffFactory(department=b, roles=["approver"]),
        "clerk": StaffFactory(department=city, roles=["window_clerk"]),
    }
    return World(a=a, b=b, item_a=item_a, item_b=item_b, applicant=applicant, cases=cases, **staff)


@pytest.fixture
def refreshed(world: World) -> World:
    rollups.refresh(full=True)
    return world

"""The per-department figures (the selector the public page and the dashboards use) and the demo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tongban.cases.models import Case
from tongban.cases.tests.factories import submitted_case
from tongban.catalog.models import ServiceItem
from tongban.core.calendar import local_date
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, StaffFactory
from tongban.reviews import demo, selectors, services
from tongban.reviews.choices import AppealStatus, RectificationStatus
from tongban.reviews.models import Appeal, Rectification, Review, Visit
from tongban.reviews.tests.conftest import conclude

pytestmark = pytest.mark.django_db


def test_department_figures_count_levels_rates_and_rectifications(
    item: ServiceItem, clerk: User, approver: User, city_supervisor: User, department: Department
) -> None:
    levels = [5, 5, 4, 3, 2, 1]
    reviews = []
    for level in levels:
        applicant: Any = CitizenFactory()
        case = conclude(item, applicant, clerk, approver)
        reviews.append(services.review_submit(case_id=case.pk, by=applicant, level=level, comment="意见"))
    two, one = reviews[4], reviews[5]
    services.rectification_close(rectification=two.rectification, by=approver, result="已整改")
    today = local_date(timezone.now())
    figures = selectors.department_figures(today - dt.timedelta(days=1), today)
    row = next(f for f in figures if f.department_id == department.pk)
    assert row.count == 6
    assert row.levels == {5: 2, 4: 1, 3: 1, 2: 1, 1: 1}
    assert row.satisfaction_rate == pytest.approx(3 / 6)
    assert (row.bad, row.rectified, row.rectified_on_time) == (2, 1, 1)
    # An upheld appeal takes the rating out of every figure.
    filed = services.appeal_file(review=one, by=approver, ground="malicious", reason="恶意差评")
    services.appeal_decide(appeal=filed, by=city_supervisor, uphold=True, note="属实")
    row = next(f for f in selectors.department_figures(today, today) if f.department_id == department.pk)
    assert (row.count, row.bad, row.levels[1]) == (5, 1, 0)
    assert row.satisfaction_rate == pytest.approx(3 / 5)
    # A re-rating replaces the first rating in the levels, and the bad rating stays counted once.
    services.review_re_rate(case_id=two.case_id, by=two.rater, level=5)  # type: ignore[arg-type]
    row = next(f for f in selectors.department_figures(today, today) if f.department_id == department.pk)
    assert (row.count, row.bad, row.levels[2], row.levels[5]) == (5, 1, 0, 3)
    # Outside the period there is nothing.
    assert selectors.department_figures(today - dt.timedelta(days=30), today - dt.timedelta(days=10)) == []


def test_demo_rates_history_and_makes_every_state_quickly_and_once(
    item: ServiceItem, clerk: User, approver: User, city: Department
) -> None:
    centre = clerk.department
    assert centre is not None
    StaffFactory(username="clerk", department=centre, roles=["window_clerk"])
    StaffFactory(username="supervisor", department=city, roles=["supervisor"])
    applicant: Any = CitizenFactory()
    history = []
    for n in range(30):
        case = conclude(item, applicant, clerk, approver) if n < 25 else submitted_case(item, applicant)
        Case.objects.filter(pk=case.pk).update(idempotency_key=f"history:{n}")
        history.append(case)
    demo_case = conclude(item, applicant, clerk, approver)
    Case.objects.filter(pk=demo_case.pk).update(idempotency_key="demo:x")
    result = demo.load()
    assert result["changed"]
    assert result["history_reviews"] > 0
    assert not Review.objects.filter(case=demo_case).exists()  # left for the demo's people to rate
    assert not Review.objects.filter(case__status="submitted").exists()
    assert Visit.objects.count() == 8
    statuses = set(Rectification.objects.values_list("status", flat=True))
    assert {RectificationStatus.OPEN, RectificationStatus.CLOSED, RectificationStatus.CANCELLED} <= statuses
    assert set(Appeal.objects.values_list("status", flat=True)) == {AppealStatus.PENDING, AppealStatus.UPHELD}
    count = Review.objects.count()
    assert demo.load() == {"changed": False}
    assert Review.objects.count() == count

"""Review satisfaction and bad-review rectification, with the reviews app's models (plain creation)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongban.dashboards import rollups, selectors
from tongban.dashboards.tests.conftest import END, START, World, at

pytestmark = pytest.mark.django_db

if rollups.review_models() is None:  # pragma: no cover - until the reviews app has its models
    pytest.skip("the reviews app has no models yet", allow_module_level=True)

Review: Any
Rectification: Any
Review, Rectification = rollups.review_models()  # type: ignore[misc]


def _review(world: World, key: str, level: int, day: int, **extra: Any) -> Any:
    case = world.cases[key]
    return Review.objects.create(
        case=case,
        department=case.department,
        item=case.item,
        channel="online",
        level=level,
        rater=world.applicant,
        created_at=at(day, 15),
        **extra,
    )


def _rectification(review: Any, *, closed: bool) -> Any:
    return Rectification.objects.create(
        review=review,
        department=review.department,
        status="closed" if closed else "open",
        opened_at=review.created_at,
        due_at=review.created_at + timedelta(days=10),
        working_days=7,
        closed_at=review.created_at + timedelta(days=3) if closed else None,
        result="已电话回访并改进窗口流程。" if closed else "",
    )


@pytest.fixture
def rated(world: World) -> World:
    _review(world, "on_time", 5, 12)
    bad = _review(world, "late", 2, 18)
    _rectification(bad, closed=True)
    refused = _review(world, "refused", 1, 11)
    _rectification(refused, closed=False)
    _review(world, "same_day", 4, 10)
    _review(world, "b", 3, 13)
    _review(world, "not_accepted", 1, 9, status="annulled")
    # the applicant re-rated the rectified bad rating: the first is superseded
    Review.objects.filter(pk=bad.pk).update(status="superseded")
    _review(world, "late", 5, 25, re_rating_of=bad)
    rollups.refresh(full=True)
    return world


def _kpis(user: Any, **filters: Any) -> dict[str, Any]:
    return selectors.dashboard(user, selectors.parse_filters(user, start=START, end=END, **filters))["kpis"]


@pytest.mark.parametrize("source", ["rollup", "raw"])
def test_satisfaction_and_rectification(rated: World, source: str) -> None:
    user = rated.administrator
    kpis = selectors.dashboard(user, selectors.parse_filters(user, start=START, end=END), source=source)[
        "kpis"
    ]
    # valid ratings 5, 1, 4, 3, 5; bad ratings not annulled: 2 (superseded, rectified) and 1 (open)
    assert (kpis["reviews"], kpis["satisfied"], kpis["satisfaction_rate"], kpis["avg_level"]) == (
        5,
        3,
        0.6,
        3.6,
    )
    assert (kpis["bad_reviews"], kpis["rectified"], kpis["rectification_rate"]) == (2, 1, 0.5)


def test_review_figures_are_scoped(rated: World) -> None:
    kpis = _kpis(rated.approver_b)
    assert (kpis["reviews"], kpis["satisfied"], kpis["bad_reviews"]) == (1, 0, 0)
    assert _kpis(rated.supervisor, department=rated.a.pk)["reviews"] == 4


def test_closing_a_rectification_moves_the_rate_incrementally(rated: World) -> None:
    open_one = Rectification.objects.get(status="open")
    Rectification.objects.filter(pk=open_one.pk).update(
        status="closed", closed_at=timezone.now(), result="已整改。"
    )  # as the reviews service closes it: now
    result = rollups.refresh()
    assert result.review_days >= 1
    assert _kpis(rated.supervisor)["rectification_rate"] == 1.0

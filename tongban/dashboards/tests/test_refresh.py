"""Incremental refresh: a changed or imported case moves its figures; untouched groups stay as they were."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongban.cases.choices import CaseStatus, Channel, DeliveryMethod
from tongban.cases.models import Case
from tongban.dashboards import rollups, selectors
from tongban.dashboards.models import CaseDay, RefreshState
from tongban.dashboards.tests.conftest import END, START, World, at, make_case

pytestmark = pytest.mark.django_db


def _kpis(user: Any) -> dict[str, Any]:
    return selectors.dashboard(user, selectors.parse_filters(user, start=START, end=END))["kpis"]


def _rows() -> dict[tuple[Any, ...], int]:
    return {(r.day, r.department_id, r.item_id, r.channel): r.pk for r in CaseDay.objects.all()}


@pytest.fixture
def settled(world: World) -> World:
    """The world as of an hour ago, fully rolled up: the next refresh sees only what changes now."""
    Case.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    rollups.refresh(full=True)
    return world


def test_a_changed_case_moves_its_figures_and_only_its_group_is_recomputed(settled: World) -> None:
    before_rows = _rows()
    before = _kpis(settled.supervisor)
    case = settled.cases["open"]  # 8 June, department A, under review
    case.status = CaseStatus.COMPLETED
    case.completed_at = at(10)
    case.decided_at = at(10)
    case.delivery_method = DeliveryMethod.ONLINE
    case.save()
    result = rollups.refresh()
    assert not result.full
    assert result.case_groups == 1  # (8 June, department A)
    after = _kpis(settled.supervisor)
    assert after["completed"] == before["completed"] + 1
    assert after["decided"] == before["decided"] + 1
    assert after["on_time"] == before["on_time"] + 1
    assert after["submitted"] == before["submitted"]
    after_rows = _rows()
    assert set(after_rows) == set(before_rows)
    for key, pk in before_rows.items():
        recomputed = key[0].isoformat() == "2026-06-08" and key[1] == settled.a.pk
        assert (after_rows[key] != pk) is recomputed, key
    assert (
        _kpis(settled.supervisor)
        == selectors.dashboard(
            settled.administrator,
            selectors.parse_filters(settled.administrator, start=START, end=END),
            source="raw",
        )["kpis"]
    )


def test_an_imported_case_stamped_in_the_past_is_caught_by_its_id(settled: World) -> None:
    imported = make_case(
        settled.item_b,
        settled.applicant,
        submitted=at(22, 9),
        channel=Channel.WINDOW,
        accepted=at(22),
        completed=at(23),
        delivery=DeliveryMethod.POST,
    )
    Case.objects.filter(pk=imported.pk).update(updated_at=at(23))
    result = rollups.refresh()
    assert result.case_groups == 1
    assert _kpis(settled.supervisor)["submitted"] == 9
    assert RefreshState.objects.get(name=rollups.CASES).last_id == imported.pk


def test_nothing_changed_nothing_recomputed_and_a_repeat_counts_nothing_twice(settled: World) -> None:
    before = _kpis(settled.supervisor)
    rows = _rows()
    assert rollups.refresh().case_groups == 0
    assert _rows() == rows
    case = settled.cases["b"]
    case.save()  # touched without a change: recomputed, same figures
    assert rollups.refresh().case_groups == 1
    assert rollups.refresh().case_groups == 1  # still within the margin: recomputed again, not added
    assert _kpis(settled.supervisor) == before


def test_first_refresh_is_a_full_build(world: World) -> None:
    result = rollups.refresh()
    assert result.full
    assert _kpis(world.supervisor)["submitted"] == 8


def test_the_periodic_job_and_the_command(world: World) -> None:
    from django.core.management import call_command

    from tongban.dashboards.tasks import refresh_rollups

    assert refresh_rollups()["full"] is True
    call_command("dashboards_refresh", "--full", stdout=__import__("io").StringIO())
    assert _kpis(world.supervisor)["submitted"] == 8


def test_a_calendar_override_rebuilds_the_durations(settled: World) -> None:
    from datetime import date

    from tongban.core.calendar import forget_overrides
    from tongban.core.models import WorkingDayOverride

    assert _kpis(settled.supervisor)["avg_duration_days"] == 2.6
    # 10 June 2026 declared a holiday: case 1 (8 → 11 June) took 2 working days, case 2 took 6,
    # case 4 (9 → 10 June) 0; durations 2 + 6 + 0 + 0 + 2 = 10 over 5 decided cases
    WorkingDayOverride.objects.create(date=date(2026, 6, 10), is_workday=False, name="测试假日")
    forget_overrides([2026])
    result = rollups.refresh()
    assert result.full
    assert _kpis(settled.supervisor)["avg_duration_days"] == 2.0

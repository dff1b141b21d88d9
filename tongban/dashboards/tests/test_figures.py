"""Each KPI against the hand-computed world (conftest), from the rollups and from the raw tables."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.cases.selectors import exemption_stats
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.dashboards import selectors
from tongban.dashboards.tests.conftest import END, START, World

pytestmark = pytest.mark.django_db

# Counted by hand from conftest's cases 1-8 (department A: 1-7, department B: 8).
ALL = {
    "submitted": 8,
    "online": 6,  # online 1, 3, 5, 6, 8 and API 7
    "online_rate": 0.75,
    "accepted": 7,
    "not_accepted": 1,
    "withdrawn": 1,
    "refused": 1,
    "completed": 4,
    "decided": 5,  # 1, 2, 4, 7, 8
    "on_time": 4,
    "late": 1,
    "on_time_rate": 0.8,
    "finished": 6,  # decided + not accepted
    "one_visit": 4,  # not 2 (window + pickup) nor 4 (window + correction)
    "one_visit_rate": 0.6667,
    "avg_duration_days": 2.6,  # (3 + 7 + 1 + 0 + 2) / 5
    "avg_promised_days": 4.6,  # (5 + 5 + 5 + 5 + 3) / 5
    "duration_ratio": 0.5652,  # 13 / 23
    "materials": 2,
    "prefilled": 1,
    "prefilled_rate": 0.5,
    "visits_saved": 1,
}
ONLY_A = {
    **ALL,
    "submitted": 7,
    "online": 5,
    "online_rate": 0.7143,
    "accepted": 6,
    "completed": 3,
    "decided": 4,
    "on_time": 3,
    "on_time_rate": 0.75,
    "finished": 5,
    "one_visit": 3,
    "one_visit_rate": 0.6,
    "avg_duration_days": 2.75,
    "avg_promised_days": 5.0,
    "duration_ratio": 0.55,
}


def _figures(user: Any, source: str = "rollup", **filters: Any) -> dict[str, Any]:
    parsed = selectors.parse_filters(user, start=START, end=END, **filters)
    return selectors.dashboard(user, parsed, source=source)


def _subset(kpis: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {k: kpis[k] for k in expected}


@pytest.mark.parametrize("source", ["rollup", "raw"])
def test_every_case_kpi_of_the_jurisdiction(refreshed: World, source: str) -> None:
    figures = _figures(refreshed.administrator, source)
    assert _subset(figures["kpis"], ALL) == ALL
    assert figures["source"] == source


def test_rollup_and_raw_figures_are_the_same(refreshed: World) -> None:
    rollup = _figures(refreshed.administrator)
    raw = _figures(refreshed.administrator, "raw")
    for key in ("kpis", "days", "months", "departments", "items"):
        assert rollup[key] == raw[key], key


def test_department_and_item_filters(refreshed: World) -> None:
    figures = _figures(refreshed.supervisor, department=refreshed.a.pk)
    assert _subset(figures["kpis"], ONLY_A) == ONLY_A
    by_item = _figures(refreshed.supervisor, item=refreshed.item_b.pk)
    assert by_item["kpis"]["submitted"] == 1
    assert by_item["kpis"]["avg_duration_days"] == 2.0
    assert [i["id"] for i in by_item["items"]] == [refreshed.item_b.pk]


def test_series_per_day_month_department_item(refreshed: World) -> None:
    figures = _figures(refreshed.supervisor)
    days = {d["day"]: d for d in figures["days"]}
    assert len(days) == 30
    assert (
        days["2026-06-08"]["submitted"],
        days["2026-06-09"]["submitted"],
        days["2026-06-10"]["submitted"],
    ) == (6, 1, 1)
    assert days["2026-06-08"]["late"] == 1
    assert days["2026-06-01"]["submitted"] == 0
    assert [m["month"] for m in figures["months"]] == ["2026-06"]
    assert figures["months"][0]["submitted"] == 8
    departments = {d["id"]: d for d in figures["departments"]}
    assert departments[refreshed.a.pk]["submitted"] == 7
    assert departments[refreshed.b.pk]["on_time_rate"] == 1.0
    items = {i["id"]: i for i in figures["items"]}
    assert items[refreshed.item_a.pk]["avg_promised_days"] == 5.0


def test_materials_match_the_cases_exemption_statistics(refreshed: World) -> None:
    from datetime import date

    overall, _ = exemption_stats(refreshed.supervisor, date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))
    kpis = _figures(refreshed.supervisor)["kpis"]
    assert (kpis["materials"], kpis["prefilled"], kpis["visits_saved"]) == (
        overall.materials,
        overall.fetched,
        overall.visits_saved,
    )


def test_approver_sees_own_department_only(refreshed: World) -> None:
    figures = _figures(refreshed.approver_a)
    assert _subset(figures["kpis"], ONLY_A) == ONLY_A
    assert [d["id"] for d in figures["departments"]] == [refreshed.a.pk]
    with pytest.raises(PermissionDenied) as refused:
        _figures(refreshed.approver_a, department=refreshed.b.pk)
    assert refused.value.code == "department_not_visible"
    with pytest.raises(PermissionDenied) as item_refused:
        _figures(refreshed.approver_a, item=refreshed.item_b.pk)
    assert item_refused.value.code == "item_not_visible"
    # department B's approver sees B's one case, nothing of A
    assert _figures(refreshed.approver_b)["kpis"]["submitted"] == 1


def test_raw_figures_are_for_administrators(refreshed: World) -> None:
    with pytest.raises(PermissionDenied):
        _figures(refreshed.supervisor, "raw")


def test_clerk_is_not_a_viewer(refreshed: World) -> None:
    with pytest.raises(PermissionDenied) as refused:
        selectors.parse_filters(refreshed.clerk)
    assert refused.value.code == "dashboard_forbidden"


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("2026-06-30", "2026-06-01", "period_reversed"),
        ("2026-06-01", "2999-01-01", "period_in_future"),
        ("2999-01-01", None, "period_in_future"),
        ("2020-01-01", "2026-06-30", "period_too_long"),
        ("2026-13-01", "2026-06-30", "period_date_invalid"),
        ("yesterday", None, "period_date_invalid"),
    ],
)
def test_impossible_periods_are_refused(world: World, start: str, end: str | None, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        selectors.parse_filters(world.supervisor, start=start, end=end)
    assert refused.value.code == code
    assert refused.value.fields


@pytest.mark.parametrize("value", ["abc", "-3", "0"])
def test_bad_department_ids_are_refused(world: World, value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        selectors.parse_filters(world.supervisor, department=value)
    assert refused.value.code == "department_invalid"


def test_item_of_another_department_than_the_filter(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        selectors.parse_filters(world.supervisor, department=world.a.pk, item=world.item_b.pk)
    assert refused.value.code == "item_not_in_department"


# The drill-down list behind each figure has as many cases as the figure says.
DRILLS = {
    "submitted": "submitted",
    "online": "online",
    "accepted": "accepted",
    "not_accepted": "not_accepted",
    "withdrawn": "withdrawn",
    "refused": "refused",
    "completed": "completed",
    "decided": "decided",
    "on_time": "on_time",
    "late": "late",
    "finished": "finished",
    "one_visit": "one_visit",
}


@pytest.mark.parametrize(("kind", "kpi"), sorted(DRILLS.items()))
def test_drill_down_matches_the_figure(refreshed: World, kind: str, kpi: str) -> None:
    filters = selectors.parse_filters(refreshed.supervisor, start=START, end=END)
    drill = selectors.parse_drill(filters, kind=kind, day=None, month=None)
    assert selectors.drill_cases(refreshed.supervisor, filters, drill).count() == ALL[kpi]


def test_drill_down_of_one_day_and_the_complements(refreshed: World) -> None:
    filters = selectors.parse_filters(refreshed.supervisor, start=START, end=END)
    day = selectors.parse_drill(filters, kind="submitted", day="2026-06-08", month=None)
    assert selectors.drill_cases(refreshed.supervisor, filters, day).count() == 6
    visits = selectors.parse_drill(filters, kind="more_visits", day=None, month="2026-06")
    listed = set(selectors.drill_cases(refreshed.supervisor, filters, visits))
    assert listed == {refreshed.cases["late"], refreshed.cases["refused"]}
    prefilled = selectors.parse_drill(filters, kind="prefilled", day=None, month=None)
    assert list(selectors.drill_cases(refreshed.supervisor, filters, prefilled)) == [
        refreshed.cases["same_day"]
    ]
    with pytest.raises(ValidationFailed):
        selectors.parse_drill(filters, kind="submitted", day="2026-07-08", month=None)
    with pytest.raises(ValidationFailed):
        selectors.parse_drill(filters, kind="nonsense", day=None, month=None)


def test_drill_down_is_scoped(refreshed: World) -> None:
    filters = selectors.parse_filters(refreshed.approver_b, start=START, end=END)
    drill = selectors.parse_drill(filters, kind="submitted", day=None, month=None)
    assert list(selectors.drill_cases(refreshed.approver_b, filters, drill)) == [refreshed.cases["b"]]

"""The demo city's history (cases.history): consistent cases, numbers that never collide, idempotent."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Count, F, Max, QuerySet
from django.utils import timezone, translation

from tongban.basedata import demo as basedata_demo
from tongban.cases import demo, history, prefill
from tongban.cases.choices import (
    OPEN_STATUSES,
    PREFILLED_ORIGINS,
    CaseStatus,
    EventKind,
    StageStatus,
    TaskStatus,
)
from tongban.cases.models import Case, CaseCounter, CaseEvent, CaseMaterial, CaseStage, CaseTask
from tongban.catalog import demo as catalog_demo
from tongban.core.calendar import deadline_after, local_date
from tongban.identity import demo as identity_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded() -> dict[str, Any]:
    identity_demo.seed_demo()
    basedata_demo.load(people=400)
    catalog_demo.seed_catalog()
    demo.seed()
    started = time.monotonic()
    result = history.load_demo(days=120, per_day=8)
    result["seconds"] = time.monotonic() - started
    return result


def _history() -> QuerySet[Case]:
    return Case.objects.filter(idempotency_key__startswith=history.KEY_PREFIX)


def test_a_history_of_consistent_cases(loaded: dict[str, Any]) -> None:
    cases = _history()
    assert loaded["cases"] == cases.count() > 400
    assert loaded["seconds"] < 30
    statuses = set(cases.values_list("status", flat=True))
    assert {
        CaseStatus.COMPLETED,
        CaseStatus.REFUSED,
        CaseStatus.NOT_ACCEPTED,
        CaseStatus.WITHDRAWN,
        CaseStatus.IN_REVIEW,
    } <= statuses
    now = timezone.now()
    for case in cases.select_related("version", "item"):
        assert case.submitted_at is not None
        assert case.submitted_at < now
        assert case.created_at == case.submitted_at
        assert case.updated_at <= now
        if case.accepted_at:
            assert case.submitted_at <= case.accepted_at
            assert case.due_at == deadline_after(case.accepted_at, case.version.promised_days or 1)
        if case.status == CaseStatus.COMPLETED:
            assert case.decided_at
            assert case.completed_at
            assert case.delivery_method
            assert case.accepted_at is not None
            assert case.accepted_at <= case.decided_at <= case.completed_at < now
        elif case.status == CaseStatus.REFUSED:
            assert case.decided_at == case.completed_at
            assert case.decision == "refused"
        elif case.status == CaseStatus.NOT_ACCEPTED:
            assert case.accepted_at is None
            assert case.completed_at
            assert case.not_accepted_reason
        elif case.status == CaseStatus.WITHDRAWN:
            assert case.completed_at
            assert case.decided_at is None
        elif case.status in OPEN_STATUSES:
            assert case.completed_at is None
        day = local_date(case.submitted_at)
        assert re.fullmatch(rf"{case.item.implementation_code}{day:%Y%m%d}\d{{4}}", case.number or "")


def test_late_and_open_overdue_cases_for_the_boards(loaded: dict[str, Any]) -> None:
    cases = _history()
    late = cases.filter(status=CaseStatus.COMPLETED, completed_at__gt=F("due_at")).count()
    on_time = cases.filter(status=CaseStatus.COMPLETED, completed_at__lte=F("due_at")).count()
    assert 0 < late < on_time
    overdue = cases.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
    assert overdue.count() >= 3
    # their open tasks are in the departments' queues
    assert CaseTask.objects.filter(case__in=overdue, status=TaskStatus.OPEN).exists()


def test_stages_tasks_events_and_materials(loaded: dict[str, Any]) -> None:
    cases = _history()
    completed = cases.filter(status=CaseStatus.COMPLETED).first()
    assert completed is not None
    assert set(completed.stages.values_list("status", flat=True)) == {StageStatus.DONE}
    assert not completed.tasks.filter(status=TaskStatus.OPEN).exists()
    kinds = list(completed.events.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds[0] == EventKind.SUBMITTED
    assert kinds[-1] == EventKind.DELIVERED
    assert EventKind.ACCEPTED in kinds
    assert EventKind.APPROVED in kinds
    times = list(completed.events.order_by("pk").values_list("at", flat=True))
    assert all(t <= timezone.now() for t in times)
    assert CaseEvent.objects.filter(case__in=cases).count() == loaded["events"]
    open_case = cases.filter(status=CaseStatus.IN_REVIEW).first()
    assert open_case is not None
    assert open_case.stages.filter(status=StageStatus.ACTIVE).count() == 1
    prefilled = CaseMaterial.objects.filter(case__in=cases, origin__in=PREFILLED_ORIGINS)
    assert prefilled.exists()
    assert all(m.provenance.get("imported") for m in prefilled[:20])
    assert CaseStage.objects.filter(case__in=cases).exists()


def test_approvers_see_imported_materials_as_reused_not_as_missing_licences(loaded: dict[str, Any]) -> None:
    row = CaseMaterial.objects.filter(case__in=_history(), origin__in=PREFILLED_ORIGINS).first()
    assert row is not None
    with translation.override("en"):
        views = prefill.provenance_views(row.case)[row.material_id]
    assert [(v.ok, v.state) for v in views] == [
        (True, "Reused without submission (imported with the case's history)")
    ]


def test_numbers_are_unique_and_the_counters_moved_on(loaded: dict[str, Any]) -> None:
    numbers = Case.objects.exclude(number=None).values("number").annotate(n=Count("id")).filter(n__gt=1)
    assert not numbers.exists()
    serials: dict[tuple[int, Any], int] = {}
    for item_id, number, submitted in _history().values_list("item_id", "number", "submitted_at"):
        assert submitted is not None
        assert number is not None
        key = (item_id, local_date(submitted))
        serials[key] = max(serials.get(key, 0), int(number[-4:]))
    counters = {(c.item_id, c.day): c.last for c in CaseCounter.objects.all()}
    for key, serial in serials.items():
        assert counters[key] >= serial


def test_a_second_load_changes_nothing(loaded: dict[str, Any]) -> None:
    before = (Case.objects.count(), CaseEvent.objects.count(), CaseMaterial.objects.count())
    again = history.load_demo(days=120, per_day=8)
    assert again["skipped"] is True
    assert (Case.objects.count(), CaseEvent.objects.count(), CaseMaterial.objects.count()) == before


def test_history_spans_the_period_up_to_yesterday(loaded: dict[str, Any]) -> None:
    span = _history().aggregate(last=Max("submitted_at"))["last"]
    assert span is not None
    assert local_date(span) < timezone.localdate()
    assert local_date(span) >= timezone.localdate() - timedelta(days=5)

"""The demo cases: every status, real PDF materials, consistent dates, and a second run changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone

from tongban.cases import demo, selectors
from tongban.cases.choices import CaseStatus, MaterialStatus, StageStatus, TaskStatus
from tongban.cases.models import Case, CaseEvent, CaseMaterial, CaseStage, CaseTask
from tongban.catalog import demo as catalog_demo
from tongban.catalog import demo_data as catalog_data
from tongban.catalog.forms_schema import validate_form_schema, validate_submission
from tongban.core.models import AuditEvent
from tongban.identity import demo as identity_demo
from tongban.identity.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> demo.CasesSeedResult:
    identity_demo.seed_demo()
    catalog_demo.seed_catalog()
    return demo.seed()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Case, CaseEvent, CaseMaterial, CaseStage, CaseTask, User, AuditEvent)
    }


def test_every_status_is_there_and_a_second_run_changes_nothing(seeded: demo.CasesSeedResult) -> None:
    assert seeded.cases_created == len(demo.CASES)
    assert seeded.changed
    statuses = set(Case.objects.values_list("status", flat=True))
    assert statuses == set(CaseStatus.values)
    completed = set(
        Case.objects.filter(status=CaseStatus.COMPLETED).values_list("delivery_method", flat=True)
    )
    assert completed == {"pickup", "post"}
    before = _counts()
    again = demo.seed()
    assert not again.changed
    assert again.cases_existing == len(demo.CASES)
    assert _counts() == before


def test_parallel_stage_half_done_and_deferred_material(seeded: demo.CasesSeedResult) -> None:
    parallel = Case.objects.get(idempotency_key="demo:property-transfer-parallel")
    stage = parallel.stages.get(index=0)
    assert stage.status == StageStatus.ACTIVE
    assert sorted(stage.tasks.values_list("status", flat=True)) == [TaskStatus.APPROVED, TaskStatus.OPEN]
    deferred = Case.objects.get(idempotency_key="demo:food-deferred")
    assert deferred.status == CaseStatus.IN_REVIEW
    assert deferred.materials.filter(status=MaterialStatus.DEFERRED).count() == 1


def test_queues_of_the_demo_staff_have_work(seeded: demo.CasesSeedResult) -> None:
    staff = {
        u.username: u for u in User.objects.filter(username__in=["clerk", "approver.gaj", "approver.scjgj"])
    }
    assert selectors.intake_queue(staff["clerk"]).exists()
    assert selectors.delivery_queue(staff["clerk"]).exists()
    for username in ("approver.gaj", "approver.scjgj"):
        assert selectors.task_queue(staff[username]).exists(), username
        assert selectors.intake_queue(staff[username]).exists(), username


def test_dates_are_in_order_in_the_past_and_some_cases_are_overdue(seeded: demo.CasesSeedResult) -> None:
    now = timezone.now()
    for case in Case.objects.exclude(status=CaseStatus.DRAFT):
        assert case.submitted_at is not None
        assert case.created_at <= case.submitted_at < now
        if case.accepted_at:
            assert case.submitted_at < case.accepted_at < now
        if case.decided_at:
            assert case.accepted_at is not None
            assert case.accepted_at < case.decided_at < now
        if case.completed_at:
            assert case.submitted_at < case.completed_at < now
        times = list(case.events.order_by("pk").values_list("at", flat=True))
        assert times == sorted(times)
        assert times[0] == case.submitted_at
    oldest: Any = Case.objects.exclude(status=CaseStatus.DRAFT).order_by("submitted_at").first()
    assert (now - oldest.submitted_at).days >= 28
    overdue = Case.objects.filter(status=CaseStatus.IN_REVIEW, due_at__lt=now)
    assert overdue.exists()


def test_materials_are_real_pdf_files(seeded: demo.CasesSeedResult) -> None:
    rows = CaseMaterial.objects.filter(status=MaterialStatus.PROVIDED)
    assert rows.exists()
    assert not rows.exclude(content_type="application/pdf").exists()
    sample = rows.first()
    assert sample is not None
    with sample.file.open("rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF-")
    assert content.rstrip().endswith(b"%%EOF")
    per_case = Case.objects.exclude(status=CaseStatus.DRAFT).annotate(n=Count("materials"))
    assert all(c.n >= 1 for c in per_case)


def test_the_generated_answers_fit_every_demo_form() -> None:
    """Any demo item may get a demo case: a citizen's and an enterprise's answers pass every form."""
    identity_demo.seed_demo()
    citizen = User.objects.get(resident_id=identity_demo.CITIZENS[0].resident_id)
    enterprise = User.objects.get(credit_code=identity_demo.ENTERPRISES[0].credit_code)
    for spec in catalog_data.ITEMS:
        schema = validate_form_schema(list(spec.form))
        for applicant in (citizen, enterprise):
            validate_submission(schema, demo._answers(schema, applicant))

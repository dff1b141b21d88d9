"""The case engine: submission, pre-review, acceptance, parallel review, decision, delivery."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongban.cases import selectors, services
from tongban.cases.choices import CaseStatus, MaterialStatus, StageStatus, TaskStatus
from tongban.cases.models import Case, CaseEvent, CaseMaterial, CaseTask
from tongban.cases.tests.factories import (
    FORM_ANSWERS,
    all_files,
    material_ids,
    pdf_upload,
    published_item,
    stage,
    submitted_case,
)
from tongban.catalog.models import ServiceItem
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(department: Department) -> ServiceItem:
    return published_item(department)


@pytest.fixture
def approver(department: Department) -> Any:
    return StaffFactory(department=department, roles=["approver"])


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(name="政务服务中心", code="city-centre", division_code="341500", parent=city)
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def county_clerk(city: Department) -> Any:
    county = DepartmentFactory(
        name="金安区数据资源局", code="jinan-centre", level="county", division_code="341502"
    )
    return StaffFactory(department=county, roles=["window_clerk"])


def _accepted(item: ServiceItem, citizen: User, clerk: User) -> Case:
    return services.case_accept(case=submitted_case(item, citizen), by=clerk)


# --- submission ------------------------------------------------------------------------------


def test_draft_then_submit_gives_a_number_of_code_date_serial(item: ServiceItem, citizen: User) -> None:
    draft = services.case_draft_save(
        item=item, applicant=citizen, form_data={"applicant_name": "张三"}, by=citizen
    )
    assert draft.status == CaseStatus.DRAFT
    assert draft.number is None
    for material_id, upload in all_files(item).items():
        services.case_material_upload(case=draft, material_id=material_id, upload=upload, by=citizen)
    case = services.case_submit(case=draft, by=citizen, form_data=FORM_ANSWERS)
    today = timezone.localdate()
    assert case.number == f"{item.implementation_code}{today:%Y%m%d}0001"
    assert case.status == CaseStatus.SUBMITTED
    assert case.version_id == item.current_version_id
    assert list(case.events.values_list("kind", flat=True)) == ["submitted"]
    assert AuditEvent.objects.filter(action="case.submitted", subject_id=str(case.pk)).exists()
    other: Any = CitizenFactory()
    second = submitted_case(item, other)
    assert second.number
    assert second.number.endswith("0002")


def test_submitting_an_invalid_form_changes_nothing(item: ServiceItem, citizen: User) -> None:
    draft = services.case_draft_save(item=item, applicant=citizen, form_data={}, by=citizen)
    for material_id, upload in all_files(item).items():
        services.case_material_upload(case=draft, material_id=material_id, upload=upload, by=citizen)
    with pytest.raises(ValidationFailed) as caught:
        services.case_submit(case=draft, by=citizen, form_data={"applicant_name": "", "contact_phone": "12"})
    assert caught.value.code == "form_invalid"
    assert set(caught.value.fields) == {"applicant_name", "contact_phone"}
    draft.refresh_from_db()
    assert draft.status == CaseStatus.DRAFT
    assert draft.number is None


def test_missing_required_material_is_named(item: ServiceItem, citizen: User) -> None:
    ids = material_ids(item)
    with pytest.raises(ValidationFailed) as caught:
        submitted_case(item, citizen, files={ids["申请表"]: pdf_upload()})
    assert caught.value.code == "materials_missing"
    assert caught.value.extra["materials"] == [ids["居民身份证"]]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (
            SimpleUploadedFile("a.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"),
            "upload_type_not_allowed",
        ),
        (SimpleUploadedFile("a.pdf", b"", content_type="application/pdf"), "upload_empty"),
        (
            SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * 2048, content_type="application/pdf"),
            "upload_too_large",
        ),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    item: ServiceItem, citizen: User, settings: Any, upload: SimpleUploadedFile, code: str
) -> None:
    settings.TONGBAN_UPLOAD_MAX_BYTES = 1024
    files = all_files(item)
    files[material_ids(item)["居民身份证"]] = upload
    with pytest.raises(ValidationFailed) as caught:
        submitted_case(item, citizen, files=files)
    assert caught.value.code == code
    assert not Case.objects.exists()
    assert not CaseMaterial.objects.exists()


def test_unpublished_and_retired_items_accept_no_applications(department: Department, citizen: User) -> None:
    item = published_item(department)
    files = all_files(item)
    item.versions.update(status="retired")
    item.current_version = None
    item.retired_at = timezone.now()
    item.save()
    with pytest.raises(Conflict) as caught:
        submitted_case(item, citizen, files=files)
    assert caught.value.code == "item_not_published"


def test_same_idempotency_key_gives_one_case(
    item: ServiceItem, citizen: User, department: Department
) -> None:
    first = submitted_case(item, citizen, idempotency_key="k-123")
    again = submitted_case(item, citizen, idempotency_key="k-123")
    assert again.pk == first.pk
    assert Case.objects.count() == 1
    other = published_item(department)
    with pytest.raises(Conflict) as caught:
        submitted_case(other, citizen, idempotency_key="k-123")
    assert caught.value.code == "idempotency_key_reused"


def test_staff_cannot_apply_and_enterprise_only_items_refuse_citizens(
    department: Department, citizen: User
) -> None:
    item = published_item(department, service_object="enterprise")
    with pytest.raises(PermissionDenied) as caught:
        submitted_case(item, citizen)
    assert caught.value.code == "item_not_for_applicant"


def test_another_citizen_cannot_touch_a_draft(item: ServiceItem, citizen: User) -> None:
    draft = services.case_draft_save(item=item, applicant=citizen, form_data={}, by=citizen)
    stranger: Any = CitizenFactory()
    with pytest.raises(NotFound):
        services.case_submit(case=draft, by=stranger, form_data=FORM_ANSWERS)
    with pytest.raises(NotFound):
        services.case_material_upload(
            case=draft, material_id=material_ids(item)["居民身份证"], upload=pdf_upload(), by=stranger
        )
    with pytest.raises(PermissionDenied):
        services.case_draft_save(item=item, applicant=citizen, form_data={}, by=stranger)


# --- pre-review ------------------------------------------------------------------------------


def test_only_a_clerk_of_the_jurisdiction_files_for_a_walk_in(
    item: ServiceItem, citizen: User, county_clerk: User, clerk: User
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        submitted_case(item, citizen, by=county_clerk)
    assert caught.value.code == "not_your_department"
    case = submitted_case(item, citizen, by=clerk, channel="window")
    assert case.submitted_by == clerk
    assert set(case.materials.values_list("origin", flat=True)) == {"window_scan"}


def test_one_time_notice_then_resubmission(item: ServiceItem, citizen: User, clerk: User) -> None:
    case = submitted_case(item, citizen)
    with pytest.raises(ValidationFailed) as caught:
        services.case_return_for_correction(case=case, items=[], by=clerk)
    assert caught.value.code == "corrections_required"
    notice = services.case_return_for_correction(
        case=case,
        items=[
            {"target": "居民身份证", "instruction": "请上传身份证正反面清晰扫描件"},
            {"target": "联系电话", "instruction": "请填写本人手机号码"},
        ],
        by=clerk,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.CORRECTION
    assert notice.round == 1
    assert len(notice.items) == 2
    ids = material_ids(item)
    old = case.materials.get(material_id=ids["居民身份证"])
    services.case_material_remove(case=case, case_material_id=old.pk, by=citizen)
    services.case_material_upload(
        case=case, material_id=ids["居民身份证"], upload=pdf_upload("新.pdf"), by=citizen
    )
    services.case_resubmit(case=case, by=citizen, form_data={**FORM_ANSWERS, "contact_phone": "13900001111"})
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert case.form_data["contact_phone"] == "13900001111"
    assert case.corrections.get().resolved_at is not None


def test_not_accepting_needs_reasons(item: ServiceItem, citizen: User, clerk: User) -> None:
    case = submitted_case(item, citizen)
    with pytest.raises(ValidationFailed) as caught:
        services.case_not_accept(case=case, reason="  ", by=clerk)
    assert caught.value.code == "reason_required"
    services.case_not_accept(case=case, reason="不属于本机关职权范围", by=clerk)
    case.refresh_from_db()
    assert case.status == CaseStatus.NOT_ACCEPTED
    assert case.completed_at is not None


def test_clerk_of_another_jurisdiction_cannot_accept(
    item: ServiceItem, citizen: User, county_clerk: User
) -> None:
    case = submitted_case(item, citizen)
    with pytest.raises(PermissionDenied) as caught:
        services.case_accept(case=case, by=county_clerk)
    assert caught.value.code == "not_your_department"
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED


def test_acceptance_starts_the_clock_and_the_first_stage(
    item: ServiceItem, citizen: User, clerk: User
) -> None:
    case = _accepted(item, citizen, clerk)
    assert case.status == CaseStatus.IN_REVIEW
    assert case.accepted_by == clerk
    assert case.due_at is not None
    assert case.due_at > timezone.now()
    first = case.stages.get()
    assert first.status == StageStatus.ACTIVE
    assert list(first.tasks.values_list("department_id", flat=True)) == [item.department_id]


# --- 容缺受理 ----------------------------------------------------------------------------------


def test_deferred_material_must_come_before_the_decision(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    ids = material_ids(item)
    case = services.case_apply(
        item=item,
        applicant=citizen,
        form_data=FORM_ANSWERS,
        files={ids["居民身份证"]: pdf_upload()},
        by=clerk,
    )
    with pytest.raises(ValidationFailed) as caught:
        services.case_accept(case=case, by=clerk)
    assert caught.value.code == "materials_missing"
    with pytest.raises(ValidationFailed) as caught:
        services.case_accept(case=case, by=clerk, deferred_material_ids=[ids["居民身份证"], ids["申请表"]])
    assert caught.value.code == "material_not_deferrable"
    services.case_accept(case=case, by=clerk, deferred_material_ids=[ids["申请表"]])
    task = CaseTask.objects.get(case=case)
    with pytest.raises(Conflict) as conflict:
        services.task_decide(task=task, outcome="approve", opinion="同意", by=approver)
    assert conflict.value.code == "deferred_materials_outstanding"
    services.case_material_upload(case=case, material_id=ids["申请表"], upload=pdf_upload(), by=citizen)
    assert case.materials.get(material_id=ids["申请表"]).status == MaterialStatus.PROVIDED
    services.task_decide(task=task, outcome="approve", opinion="同意", by=approver)
    case.refresh_from_db()
    assert case.status == CaseStatus.RESULT_READY


# --- parallel review -------------------------------------------------------------------------


@pytest.fixture
def parallel(department: Department, city: Department) -> dict[str, Any]:
    tax: Any = DepartmentFactory(name="税务局", code="city-tax", division_code="341500", parent=city)
    item = published_item(
        department,
        process=[stage("联合审查", 3, department, tax), stage("决定", 2, department)],
    )
    return {
        "item": item,
        "tax": tax,
        "tax_approver": StaffFactory(department=tax, roles=["approver"]),
    }


def test_parallel_branches_all_must_approve(
    parallel: dict[str, Any], citizen: User, clerk: User, approver: User
) -> None:
    case = _accepted(parallel["item"], citizen, clerk)
    ours = CaseTask.objects.get(case=case, department=approver.department)
    theirs = CaseTask.objects.get(case=case, department=parallel["tax"])
    services.task_decide(task=ours, outcome="approve", opinion="", by=approver)
    assert case.stages.get(index=0).status == StageStatus.ACTIVE
    with pytest.raises(PermissionDenied):
        services.task_decide(task=theirs, outcome="approve", opinion="", by=approver)
    services.task_decide(task=theirs, outcome="approve", opinion="税费已核", by=parallel["tax_approver"])
    assert case.stages.get(index=0).status == StageStatus.DONE
    final = CaseTask.objects.get(case=case, stage__index=1)
    services.task_decide(task=final, outcome="approve", opinion="准予许可", by=approver)
    case.refresh_from_db()
    assert case.status == CaseStatus.RESULT_READY
    assert case.decision == "approved"
    assert case.decision_opinion == "准予许可"


def test_any_refusal_ends_the_case_with_its_reasons(
    parallel: dict[str, Any], citizen: User, clerk: User, approver: User
) -> None:
    case = _accepted(parallel["item"], citizen, clerk)
    theirs = CaseTask.objects.get(case=case, department=parallel["tax"])
    with pytest.raises(ValidationFailed) as caught:
        services.task_decide(task=theirs, outcome="refuse", opinion="", by=parallel["tax_approver"])
    assert caught.value.code == "reason_required"
    services.task_decide(task=theirs, outcome="refuse", opinion="存在欠税未缴", by=parallel["tax_approver"])
    case.refresh_from_db()
    assert case.status == CaseStatus.REFUSED
    assert case.decision_opinion == "存在欠税未缴"
    ours = CaseTask.objects.get(case=case, department=approver.department)
    assert ours.status == TaskStatus.CANCELLED
    # Approving a refused case is an illegal transition: 409 with a code, nothing changes.
    with pytest.raises(Conflict) as conflict:
        services.task_decide(task=ours, outcome="approve", opinion="", by=approver)
    assert conflict.value.code == "case_transition_invalid"
    case.refresh_from_db()
    assert case.status == CaseStatus.REFUSED


# --- suspension, delivery, withdrawal --------------------------------------------------------


def test_suspension_stops_the_clock_and_moves_deadlines(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    case = _accepted(item, citizen, clerk)
    due = case.due_at
    suspension = services.case_suspend(case=case, kind="expert_review", reason="组织专家评审", by=approver)
    task = CaseTask.objects.get(case=case)
    with pytest.raises(Conflict) as caught:
        services.task_decide(task=task, outcome="approve", opinion="", by=approver)
    assert caught.value.code == "case_suspended"
    # Pretend the review took a fortnight.
    type(suspension).objects.filter(pk=suspension.pk).update(started_at=timezone.now() - timedelta(days=14))
    services.case_resume(case=case, by=approver)
    case.refresh_from_db()
    suspension.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert suspension.working_days >= 8
    assert due is not None
    assert case.due_at is not None
    assert case.due_at > due
    assert CaseTask.objects.get(case=case).due_at == case.stages.get().due_at


def test_only_the_responsible_department_suspends(item: ServiceItem, citizen: User, clerk: User) -> None:
    case = _accepted(item, citizen, clerk)
    with pytest.raises(PermissionDenied):
        services.case_suspend(case=case, kind="hearing", reason="听证", by=clerk)


def test_delivery_by_post_needs_a_tracking_number(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    case = _accepted(item, citizen, clerk)
    services.task_decide(task=CaseTask.objects.get(case=case), outcome="approve", opinion="同意", by=approver)
    with pytest.raises(ValidationFailed) as caught:
        services.case_deliver(case=case, method="post", note="", by=clerk)
    assert caught.value.code == "tracking_number_required"
    services.case_deliver(case=case, method="post", note="EMS 1234567890", by=clerk)
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED
    assert case.delivery_note == "EMS 1234567890"


def test_withdrawal_cancels_open_work_and_is_final(item: ServiceItem, citizen: User, clerk: User) -> None:
    case = _accepted(item, citizen, clerk)
    services.case_withdraw(case=case, by=citizen, reason="不再需要")
    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert not CaseTask.objects.filter(case=case, status=TaskStatus.OPEN).exists()
    with pytest.raises(Conflict):
        services.case_withdraw(case=case, by=citizen)


# --- reads -----------------------------------------------------------------------------------


def test_progress_lookup_needs_the_right_last_digits(item: ServiceItem, citizen: User) -> None:
    case = submitted_case(item, citizen)
    assert case.number
    id_tail = (citizen.resident_id or "")[-4:]
    view = selectors.progress_lookup(number=case.number, last4=id_tail)
    assert view is not None
    assert view.status == CaseStatus.SUBMITTED
    assert [e.kind for e in view.events] == ["submitted"]
    assert selectors.progress_lookup(number=case.number, last4=citizen.phone[-4:]) is not None
    wrong = "0000" if id_tail != "0000" else "1111"
    assert selectors.progress_lookup(number=case.number, last4=wrong) is None
    assert selectors.progress_lookup(number="NOPE", last4=id_tail) is None


def test_staff_see_only_their_scope(
    item: ServiceItem, citizen: User, clerk: User, county_clerk: User
) -> None:
    case = submitted_case(item, citizen)
    assert list(selectors.intake_queue(clerk)) == [case]
    assert list(selectors.intake_queue(county_clerk)) == []
    with pytest.raises(NotFound):
        selectors.case_for_staff(county_clerk, case_id=case.pk)
    assert selectors.case_for_staff(clerk, case_id=case.pk) == case
    assert AuditEvent.objects.filter(action="case.viewed", actor_id=clerk.pk).exists()


def test_timeline_tells_the_whole_story(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    case = _accepted(item, citizen, clerk)
    services.task_decide(task=CaseTask.objects.get(case=case), outcome="approve", opinion="同意", by=approver)
    services.case_deliver(case=case, method="pickup", note="本人领取", by=clerk)
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == [
        "submitted",
        "accepted",
        "stage_started",
        "opinion",
        "stage_done",
        "approved",
        "delivered",
    ]
    actions = set(AuditEvent.objects.filter(subject_id=str(case.pk)).values_list("action", flat=True))
    assert {
        "case.submitted",
        "case.accepted",
        "case.task_decided",
        "case.approved",
        "case.delivered",
    } <= actions
    assert re.fullmatch(r"\d{4}", (case.number or "")[-4:])

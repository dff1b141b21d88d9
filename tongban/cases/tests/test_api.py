"""The cases API under /api/v1/: applying, following one's cases, staff queues and actions, progress."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tongban.cases.choices import CaseStatus
from tongban.cases.models import Case, CaseTask
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
from tongban.core.models import AuditEvent
from tongban.identity import services as identity_services
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    """Staff here have no authenticator; the second-factor rule itself is tested once below."""
    settings.STAFF_2FA = "optional"


@pytest.fixture
def item(department: Department) -> ServiceItem:
    return published_item(department)


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(name="政务服务中心", code="city-centre", division_code="341500", parent=city)
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def approver(department: Department) -> Any:
    return StaffFactory(department=department, roles=["approver"])


@pytest.fixture
def other_department(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市市场监督管理局", code="city-amr", division_code="341500", parent=city
    )


@pytest.fixture
def other_approver(other_department: Department) -> Any:
    return StaffFactory(department=other_department, roles=["approver"])


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def apply_body(service_item: ServiceItem, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"item": str(service_item.pk), "form": json.dumps(FORM_ANSWERS)}
    body.update({f"material_{k}": v for k, v in all_files(service_item).items()})
    body.update(overrides)
    return body


def apply(client: Client, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/cases", body, headers=headers)


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


def post(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


# --- the whole way over HTTP -----------------------------------------------------------------


def test_happy_path_from_application_to_delivery(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    applicant = client_for(citizen)
    created = apply(applicant, apply_body(item), key="first-try")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "submitted"
    case = applicant.get(f"/api/v1/cases/{created.json()['number']}").json()
    assert case["id"] == created.json()["id"]
    assert case["number"].startswith(item.implementation_code)
    assert case["form_data"]["applicant_name"] == "张三"
    assert sorted(m["name"] for m in case["materials"]) == ["居民身份证", "申请表"]
    assert [e["kind"] for e in case["events"]] == ["submitted"]

    mine = applicant.get("/api/v1/cases").json()
    assert mine["count"] == 1
    assert mine["items"][0]["number"] == case["number"]
    assert applicant.get("/api/v1/cases?status=completed").json()["count"] == 0

    window = client_for(clerk)
    intake = window.get("/api/v1/staff/cases?queue=intake").json()
    assert [row["case_id"] for row in intake["items"]] == [case["id"]]
    detail = window.get(f"/api/v1/staff/cases/{case['id']}").json()
    assert detail["actions"]["intake"] is True
    assert detail["applicant"]["id_number_masked"].count("*") == 8
    accepted = post(window, f"/api/v1/staff/cases/{case['id']}/accept", {"note": "材料齐全"})
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "in_review"

    review = client_for(approver)
    tasks = review.get("/api/v1/staff/cases?queue=tasks").json()
    assert [row["case_id"] for row in tasks["items"]] == [case["id"]]
    assert tasks["items"][0]["task_id"]
    decided = post(
        review, f"/api/v1/staff/cases/{case['id']}/decide", {"outcome": "approve", "opinion": "准予"}
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "result_ready"
    assert decided.json()["decision"] == "approved"

    assert [r["case_id"] for r in window.get("/api/v1/staff/cases?queue=delivery").json()["items"]] == [
        case["id"]
    ]
    delivered = post(
        window, f"/api/v1/staff/cases/{case['id']}/deliver", {"method": "post", "note": "SF1234567890"}
    )
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["status"] == "completed"

    timeline = applicant.get(f"/api/v1/cases/{case['number']}").json()
    assert timeline["status"] == "completed"
    assert [e["kind"] for e in timeline["events"]] == [
        "submitted",
        "accepted",
        "stage_started",
        "opinion",
        "stage_done",
        "approved",
        "delivered",
    ]

    last4 = (citizen.resident_id or "")[-4:]
    public = Client().get(f"/api/v1/progress?number={case['number']}&last4={last4}")
    assert public.status_code == 200, public.content
    assert public.json()["status"] == "completed"
    assert all(e["note"] == "" for e in public.json()["events"])  # nothing personal in public
    wrong_digits = Client().get(f"/api/v1/progress?number={case['number']}&last4=ZZZZ")
    wrong_number = Client().get(f"/api/v1/progress?number=X{case['number']}&last4={last4}")
    assert error_of(wrong_digits, 404, "case_not_found") == error_of(wrong_number, 404, "case_not_found")


# --- applying --------------------------------------------------------------------------------


def test_bad_form_is_refused_with_the_fields(item: ServiceItem, citizen: User) -> None:
    body = apply_body(item, form=json.dumps({"applicant_name": "", "contact_phone": "12"}))
    error = error_of(apply(client_for(citizen), body), 400, "form_invalid")
    assert set(error["fields"]) == {"applicant_name", "contact_phone"}
    not_json = error_of(apply(client_for(citizen), apply_body(item, form="[1")), 400, "form_invalid")
    assert set(not_json["fields"]) == {"form"}
    assert not Case.objects.exists()


def test_wrong_file_type_is_refused(item: ServiceItem, citizen: User) -> None:
    ids = material_ids(item)
    fake = SimpleUploadedFile("身份证.pdf", b"MZ\x90\x00 an executable", content_type="application/pdf")
    error = error_of(
        apply(client_for(citizen), apply_body(item, **{f"material_{ids['居民身份证']}": fake})),
        400,
        "upload_type_not_allowed",
    )
    assert f"material_{ids['居民身份证']}" in error["fields"]
    assert not Case.objects.exists()


def test_unknown_material_field_and_missing_item(item: ServiceItem, citizen: User) -> None:
    error_of(apply(client_for(citizen), apply_body(item, scan=pdf_upload())), 400, "material_unknown")
    error_of(apply(client_for(citizen), apply_body(item, item="abc")), 400, "item_invalid")


def test_unpublished_item_accepts_no_application(department: Department, citizen: User) -> None:
    item = published_item(department)
    body = apply_body(item)
    item.versions.update(status="retired")
    error_of(apply(client_for(citizen), body), 409, "item_not_published")


def test_same_idempotency_key_twice_gives_one_case(item: ServiceItem, citizen: User) -> None:
    applicant = client_for(citizen)
    first = apply(applicant, apply_body(item), key="retry-42")
    second = apply(applicant, apply_body(item), key="retry-42")
    assert first.status_code == 201, first.content
    assert second.status_code == 200, second.content
    assert first.json()["id"] == second.json()["id"]
    assert Case.objects.count() == 1
    assert apply(applicant, apply_body(item), key="another").status_code == 201


def test_applying_needs_a_person(item: ServiceItem) -> None:
    error_of(apply(Client(), apply_body(item)), 401, "not_authenticated")


def test_agent_applies_for_the_enterprise(department: Department, enterprise: User) -> None:
    item = published_item(department, service_object="both")
    agent: Any = CitizenFactory()
    identity_services.enterprise_agent_add(
        enterprise=enterprise, agent_resident_id=agent.resident_id, by=enterprise
    )
    created = apply(client_for(agent), apply_body(item, applicant=enterprise.credit_code))
    assert created.status_code == 201, created.content
    case = Case.objects.get()
    assert case.applicant == enterprise
    assert case.submitted_by == agent
    stranger: Any = CitizenFactory()
    error_of(
        apply(client_for(stranger), apply_body(item, applicant=enterprise.credit_code)),
        403,
        "not_authorised_agent",
    )


# --- who sees what ---------------------------------------------------------------------------


def test_another_citizens_case_is_not_found(item: ServiceItem, citizen: User) -> None:
    case = submitted_case(item, citizen)
    stranger: Any = CitizenFactory()
    other = client_for(stranger)
    error_of(other.get(f"/api/v1/cases/{case.number}"), 404, "case_not_found")
    assert other.get("/api/v1/cases").json()["count"] == 0
    assert client_for(citizen).get(f"/api/v1/cases/{case.number}").status_code == 200


def test_another_departments_approver_gets_403_for_the_task_and_404_for_the_case(
    item: ServiceItem, citizen: User, clerk: User, other_approver: User
) -> None:
    case = submitted_case(item, citizen)
    post(client_for(clerk), f"/api/v1/staff/cases/{case.pk}/accept")
    task = CaseTask.objects.get(case=case)
    outsider = client_for(other_approver)
    error_of(
        post(outsider, f"/api/v1/staff/tasks/{task.pk}/opinion", {"outcome": "approve"}),
        403,
        "not_your_department",
    )
    error_of(outsider.get(f"/api/v1/staff/cases/{case.pk}"), 404, "case_not_found")
    error_of(
        post(outsider, f"/api/v1/staff/cases/{case.pk}/decide", {"outcome": "approve"}), 404, "case_not_found"
    )
    error_of(
        post(outsider, f"/api/v1/staff/cases/{case.pk}/suspend", {"kind": "hearing", "reason": "x"}),
        404,
        "case_not_found",
    )
    assert outsider.get("/api/v1/staff/cases?queue=tasks").json()["count"] == 0
    error_of(
        post(outsider, "/api/v1/staff/tasks/999999/opinion", {"outcome": "approve"}), 404, "task_not_found"
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_staff_endpoints_refuse_applicants_and_unverified_staff(
    item: ServiceItem, citizen: User, approver: User, settings: Any
) -> None:
    error_of(client_for(citizen).get("/api/v1/staff/cases"), 403, "role_required")
    settings.STAFF_2FA = "required"
    error_of(client_for(approver).get("/api/v1/staff/cases"), 401, "not_authenticated")


def test_reading_a_case_as_staff_is_audited(item: ServiceItem, citizen: User, clerk: User) -> None:
    case = submitted_case(item, citizen)
    assert client_for(clerk).get(f"/api/v1/staff/cases/{case.pk}").status_code == 200
    assert AuditEvent.objects.filter(action="case.viewed", subject_id=str(case.pk)).count() == 1


# --- staff actions ---------------------------------------------------------------------------


def test_approving_a_refused_case_is_a_conflict(
    department: Department,
    other_department: Department,
    citizen: User,
    clerk: User,
    approver: User,
    other_approver: User,
) -> None:
    item = published_item(
        department, process=[stage("联合审查", 3, department, other_department), stage("决定", 2, department)]
    )
    case = submitted_case(item, citizen)
    post(client_for(clerk), f"/api/v1/staff/cases/{case.pk}/accept")
    mine = CaseTask.objects.get(case=case, department=department)
    theirs = CaseTask.objects.get(case=case, department=other_department)
    refused = post(
        client_for(other_approver),
        f"/api/v1/staff/tasks/{theirs.pk}/opinion",
        {"outcome": "refuse", "opinion": "不符合条件"},
    )
    assert refused.status_code == 200, refused.content
    assert refused.json()["status"] == "refused"
    error_of(
        post(client_for(approver), f"/api/v1/staff/tasks/{mine.pk}/opinion", {"outcome": "approve"}),
        409,
        "case_transition_invalid",
    )
    error_of(
        post(client_for(approver), f"/api/v1/staff/cases/{case.pk}/decide", {"outcome": "approve"}),
        409,
        "no_decision_pending",
    )


def test_decide_waits_for_the_last_stage(
    department: Department,
    other_department: Department,
    citizen: User,
    clerk: User,
    approver: User,
    other_approver: User,
) -> None:
    item = published_item(
        department, process=[stage("联合审查", 3, department, other_department), stage("决定", 2, department)]
    )
    case = submitted_case(item, citizen)
    post(client_for(clerk), f"/api/v1/staff/cases/{case.pk}/accept")
    review = client_for(approver)
    error_of(
        post(review, f"/api/v1/staff/cases/{case.pk}/decide", {"outcome": "approve"}),
        409,
        "no_decision_pending",
    )
    for task in CaseTask.objects.filter(case=case):
        who = review if task.department_id == department.pk else client_for(other_approver)
        answer = post(
            who, f"/api/v1/staff/tasks/{task.pk}/opinion", {"outcome": "approve", "opinion": "同意"}
        )
        assert answer.status_code == 200, answer.content
    decided = post(
        review, f"/api/v1/staff/cases/{case.pk}/decide", {"outcome": "refuse", "opinion": "材料不实"}
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "refused"
    assert decided.json()["decision_opinion"] == "材料不实"


def test_return_resubmit_is_the_services_path_and_not_accept(
    item: ServiceItem, citizen: User, clerk: User
) -> None:
    window = client_for(clerk)
    case = submitted_case(item, citizen)
    empty = post(window, f"/api/v1/staff/cases/{case.pk}/return", {"items": []})
    error_of(empty, 400, "corrections_required")
    returned = post(
        window,
        f"/api/v1/staff/cases/{case.pk}/return",
        {"items": [{"target": "申请表", "instruction": "请签字"}]},
    )
    assert returned.status_code == 200, returned.content
    assert returned.json()["status"] == "correction"
    assert returned.json()["corrections"][0]["items"] == [{"target": "申请表", "instruction": "请签字"}]
    error_of(post(window, f"/api/v1/staff/cases/{case.pk}/accept"), 409, "case_transition_invalid")

    other = submitted_case(item, citizen)
    error_of(
        post(window, f"/api/v1/staff/cases/{other.pk}/not-accept", {"reason": " "}), 400, "reason_required"
    )
    refused = post(window, f"/api/v1/staff/cases/{other.pk}/not-accept", {"reason": "不属于本机关职权范围"})
    assert refused.status_code == 200, refused.content
    assert refused.json()["status"] == "not_accepted"


def test_accept_with_deferred_material_then_suspend_and_resume(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    ids = material_ids(item)
    case = submitted_case(item, citizen, by=clerk, files={ids["居民身份证"]: pdf_upload()}, channel="window")
    window = client_for(clerk)
    error_of(post(window, f"/api/v1/staff/cases/{case.pk}/accept"), 400, "materials_missing")
    accepted = post(
        window, f"/api/v1/staff/cases/{case.pk}/accept", {"deferred_material_ids": [ids["申请表"]]}
    )
    assert accepted.status_code == 200, accepted.content
    assert {m["name"]: m["status"] for m in accepted.json()["materials"]}["申请表"] == "deferred"

    review = client_for(approver)
    error_of(
        post(review, f"/api/v1/staff/cases/{case.pk}/decide", {"outcome": "approve"}),
        409,
        "deferred_materials_outstanding",
    )
    error_of(
        post(review, f"/api/v1/staff/cases/{case.pk}/suspend", {"kind": "party", "reason": "x"}),
        422,
        "request_invalid",
    )
    suspended = post(
        review, f"/api/v1/staff/cases/{case.pk}/suspend", {"kind": "expert_review", "reason": "专家评审"}
    )
    assert suspended.status_code == 200, suspended.content
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["actions"]["resume"] is True
    resumed = post(review, f"/api/v1/staff/cases/{case.pk}/resume")
    assert resumed.status_code == 200, resumed.content
    assert resumed.json()["status"] == "in_review"


# --- the public lookup -----------------------------------------------------------------------


def test_progress_lookup_is_rate_limited(item: ServiceItem, citizen: User, settings: Any) -> None:
    settings.TONGBAN_PROGRESS_RATE = "3/m"
    case = submitted_case(item, citizen)
    last4 = (citizen.resident_id or "")[-4:]
    anonymous = Client()
    for _ in range(3):
        assert anonymous.get(f"/api/v1/progress?number={case.number}&last4={last4}").status_code == 200
    error_of(anonymous.get(f"/api/v1/progress?number={case.number}&last4={last4}"), 429, "rate_limited")


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("accept", {}),
        ("return", {"items": [{"target": "申请表", "instruction": "请签字"}]}),
        ("not-accept", {"reason": "不属于本机关职权范围"}),
        ("decide", {"outcome": "approve"}),
        ("deliver", {"method": "pickup"}),
        ("suspend", {"kind": "hearing", "reason": "听证"}),
        ("resume", {}),
    ],
)
def test_every_staff_action_on_another_departments_case_is_not_found(
    item: ServiceItem, citizen: User, other_approver: User, action: str, body: dict[str, Any]
) -> None:
    case = submitted_case(item, citizen)
    error_of(
        post(client_for(other_approver), f"/api/v1/staff/cases/{case.pk}/{action}", body),
        404,
        "case_not_found",
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert not case.events.exclude(kind="submitted").exists()

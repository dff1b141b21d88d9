"""Staff case pages (办件) and the one-window intake (一窗受理): who sees what, what each action changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext

from tongban.cases import services
from tongban.cases.choices import CaseStatus, Channel, MaterialOrigin, MaterialStatus, TaskStatus
from tongban.cases.models import Case
from tongban.cases.tests.factories import (
    FORM_ANSWERS,
    material_ids,
    pdf_upload,
    published_item,
    submitted_case,
)
from tongban.catalog.models import ServiceItem
from tongban.core.models import AuditEvent, AuditOutcome
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory
from tongban.portal.views_casework import WINDOW_SESSION_KEY

pytestmark = pytest.mark.django_db

LIST = reverse("casework:case_list")
WINDOW = reverse("casework:window_search")


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Any) -> None:
    settings.STAFF_2FA = "optional"
    settings.MEDIA_ROOT = tmp_path


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail(case: Case) -> str:
    return reverse("casework:case_detail", args=[case.pk])


def action(case: Case, name: str, *args: Any) -> str:
    return reverse(f"casework:{name}", args=[case.pk, *args])


@pytest.fixture
def item(department: Department) -> ServiceItem:
    return published_item(department)


@pytest.fixture
def approver(department: Department) -> Any:
    return StaffFactory(department=department, roles=["approver"])


@pytest.fixture
def other_department(city: Department) -> Any:
    return DepartmentFactory(name="六安市市场监管局", code="city-amr", division_code="341500", parent=city)


@pytest.fixture
def other_approver(other_department: Department) -> Any:
    return StaffFactory(department=other_department, roles=["approver"])


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(
        name="六安市政务服务中心", code="city-centre", division_code="341500", parent=city
    )
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def county_clerk(city: Department) -> Any:
    county = DepartmentFactory(
        name="金安区数据资源局", code="jinan-centre", level="county", division_code="341502"
    )
    return StaffFactory(department=county, roles=["window_clerk"])


@pytest.fixture
def case(item: ServiceItem, citizen: User) -> Case:
    return submitted_case(item, citizen)


def accepted(case: Case, by: User) -> Case:
    return services.case_accept(case=case, by=by)


def open_task(case: Case) -> Any:
    return case.tasks.get(status=TaskStatus.OPEN)


# --- who may open which page ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["window_clerk", "approver", "supervisor", "administrator"])
def test_case_desk_opens_for_case_roles(role: str, department: Department, case: Case) -> None:
    user = StaffFactory(department=department, roles=[role])
    response = logged_in(user).get(LIST, {"tab": "all"})
    assert response.status_code == 200
    assert str(case.number) in response.content.decode()
    assert logged_in(user).get(detail(case)).status_code == 200


def test_case_desk_refuses_citizens_and_other_staff(citizen: User, department: Department) -> None:
    assert logged_in(citizen).get(LIST).status_code == 403
    data_officer = StaffFactory(department=department, roles=["data_officer"])
    assert logged_in(data_officer).get(LIST).status_code == 403
    assert Client().get(LIST).status_code == 302


def test_queues_show_the_right_cases(case: Case, approver: User, clerk: User, citizen: User) -> None:
    intake = logged_in(clerk).get(LIST, {"tab": "intake"})
    assert [r.case.pk for r in intake.context["rows"]] == [case.pk]
    assert intake.context["counts"] == {"intake": 1, "tasks": 0, "delivery": 0}
    html = intake.content.decode()
    assert case.applicant_name not in html  # masked in lists
    assert case.applicant_name[0] + "*" in html
    accepted(case, clerk)
    tasks = logged_in(approver).get(LIST, {"tab": "tasks"})
    assert [r.case.pk for r in tasks.context["rows"]] == [case.pk]
    # A clerk has no review tab.
    assert logged_in(clerk).get(LIST, {"tab": "tasks"}).status_code == 404


def test_overdue_task_is_highlighted(case: Case, approver: User, clerk: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    accepted(case, clerk)
    case.tasks.update(due_at=timezone.now() - timedelta(days=1))
    response = logged_in(approver).get(LIST, {"tab": "tasks"})
    assert response.context["rows"][0].urgency == "overdue"
    assert 'class="row-overdue"' in response.content.decode()


def test_all_tab_filters_by_number_status_and_item(
    case: Case, item: ServiceItem, department: Department, citizen: User, clerk: User
) -> None:
    second = submitted_case(published_item(department), citizen)
    client = logged_in(clerk)
    rows = client.get(LIST, {"tab": "all", "q": str(case.number)}).context["rows"]
    assert [r.case.pk for r in rows] == [case.pk]
    rows = client.get(LIST, {"tab": "all", "item": str(second.item_id)}).context["rows"]
    assert [r.case.pk for r in rows] == [second.pk]
    rows = client.get(LIST, {"tab": "all", "status": "completed"}).context["rows"]
    assert rows == []


def test_other_departments_approver_gets_404_on_case_and_task(
    case: Case, clerk: User, other_approver: User
) -> None:
    accepted(case, clerk)
    task = open_task(case)
    client = logged_in(other_approver)
    assert client.get(detail(case)).status_code == 404
    response = client.post(action(case, "task_decide", task.pk), {f"t{task.pk}-outcome": "approve"})
    assert response.status_code in (403, 404)
    file_id = case.materials.values_list("pk", flat=True).first()
    assert client.get(reverse("casework:material_download", args=[case.pk, file_id])).status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_approver_of_a_parallel_branch_decides_only_their_task(
    department: Department, other_department: Department, citizen: User, clerk: User, other_approver: User
) -> None:
    from tongban.cases.tests.factories import stage

    item = published_item(department, process=[stage("并联审查", 3, department, other_department)])
    case = accepted(submitted_case(item, citizen), clerk)
    theirs = case.tasks.get(department=other_department)
    mine = case.tasks.exclude(pk=theirs.pk).get()
    client = logged_in(other_approver)
    page = client.get(detail(case))
    assert page.status_code == 200
    assert [t.pk for t, _form, _urgency in page.context["tasks"]] == [theirs.pk]
    response = client.post(action(case, "task_decide", mine.pk), {f"t{mine.pk}-outcome": "approve"})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.status == TaskStatus.OPEN


def test_county_clerk_cannot_open_a_city_case(case: Case, county_clerk: User) -> None:
    client = logged_in(county_clerk)
    assert client.get(detail(case)).status_code == 404
    assert client.post(action(case, "case_accept"), {}).status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED


# --- actions -----------------------------------------------------------------------------------


def test_accept_with_deferred_material(item: ServiceItem, citizen: User, clerk: User) -> None:
    ids = material_ids(item)
    case = submitted_case(
        item, citizen, by=clerk, files={ids["居民身份证"]: pdf_upload()}, channel=Channel.WINDOW
    )
    client = logged_in(clerk)
    page = client.get(detail(case))
    assert [m.pk for m in page.context["deferrable"]] == [ids["申请表"]]
    response = client.post(action(case, "case_accept"), {"deferred": [ids["申请表"]], "note": ""})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert case.materials.filter(material_id=ids["申请表"], status=MaterialStatus.DEFERRED).exists()
    # The deferred material is scanned later at the window.
    upload = client.post(
        action(case, "material_upload", ids["申请表"]), {f"m{ids['申请表']}-file": pdf_upload("申请表.pdf")}
    )
    assert upload.status_code == 302
    row = case.materials.get(material_id=ids["申请表"])
    assert row.status == MaterialStatus.PROVIDED
    assert row.origin == MaterialOrigin.WINDOW_SCAN


def test_action_the_status_does_not_allow_shows_409_and_changes_nothing(case: Case, clerk: User) -> None:
    accepted(case, clerk)
    before = Case.objects.get(pk=case.pk)
    response = logged_in(clerk).post(action(case, "case_not_accept"), {"reason": "材料不全"})
    assert response.status_code == 409
    assert response.context["error"].code == "case_transition_invalid"
    assert str(response.context["error"].message) in response.content.decode()
    after = Case.objects.get(pk=case.pk)
    assert (after.status, after.not_accepted_reason, after.updated_at) == (
        before.status,
        before.not_accepted_reason,
        before.updated_at,
    )


def test_not_accept_needs_a_reason(case: Case, clerk: User) -> None:
    client = logged_in(clerk)
    assert client.post(action(case, "case_not_accept"), {"reason": ""}).status_code == 400
    assert client.post(action(case, "case_not_accept"), {"reason": "不属于本部门职权范围"}).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.NOT_ACCEPTED


def _correction_post(rows: list[tuple[str, str, str]], total: int = 5) -> dict[str, str]:
    data = {"corr-TOTAL_FORMS": str(total), "corr-INITIAL_FORMS": "0", "corr-MAX_NUM_FORMS": "50"}
    for i in range(total):
        target, other, instruction = rows[i] if i < len(rows) else ("", "", "")
        data |= {f"corr-{i}-target": target, f"corr-{i}-other": other, f"corr-{i}-instruction": instruction}
    return data


def test_correction_form_validation(case: Case, clerk: User) -> None:
    client = logged_in(clerk)
    page = client.get(detail(case))
    html = page.content.decode()
    assert html.count('class="correction-row"') == 5 + 1  # five blank rows and the script's template
    assert '<option value="居民身份证">' in html
    assert '<option value="申请人姓名">' in html
    # Nothing listed.
    response = client.post(action(case, "case_correction"), _correction_post([]))
    assert response.status_code == 400
    assert gettext("List at least one thing to correct.") in response.content.decode()
    # A target without an instruction.
    response = client.post(action(case, "case_correction"), _correction_post([("居民身份证", "", "")]))
    assert response.status_code == 400
    # A choice that is not offered.
    response = client.post(action(case, "case_correction"), _correction_post([("伪造", "", "重新提供")]))
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    # Valid: one chosen target, one typed; the sixth row was added by the script.
    rows = [("居民身份证", "", "复印件不清晰，请重新扫描"), ("", "", ""), ("", "", "")]
    rows += [("", "", ""), ("", "", ""), ("", "第2页签名", "请本人签名")]
    response = client.post(action(case, "case_correction"), _correction_post(rows, total=6))
    assert response.status_code == 302
    correction = case.corrections.get()
    assert correction.items == [
        {"target": "居民身份证", "instruction": "复印件不清晰，请重新扫描"},
        {"target": "第2页签名", "instruction": "请本人签名"},
    ]
    case.refresh_from_db()
    assert case.status == CaseStatus.CORRECTION


def test_task_decisions_suspension_and_refusal_opinion(case: Case, clerk: User, approver: User) -> None:
    accepted(case, clerk)
    task = open_task(case)
    client = logged_in(approver)
    assert client.post(action(case, "case_suspend"), {"kind": "hearing", "reason": ""}).status_code == 400
    assert client.post(action(case, "case_suspend"), {"kind": "hearing", "reason": "听证"}).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.SUSPENDED
    # No decision while suspended.
    response = client.post(action(case, "task_decide", task.pk), {f"t{task.pk}-outcome": "approve"})
    assert response.status_code == 409
    assert client.post(action(case, "case_resume")).status_code == 302
    # A refusal needs reasons.
    refuse = {f"t{task.pk}-outcome": "refuse", f"t{task.pk}-opinion": ""}
    assert client.post(action(case, "task_decide", task.pk), refuse).status_code == 400
    response = client.post(action(case, "task_decide", task.pk), {f"t{task.pk}-outcome": "approve"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.RESULT_READY


def test_deliver_by_post_needs_tracking_number(case: Case, clerk: User, approver: User) -> None:
    accepted(case, clerk)
    services.task_decide(task=open_task(case), outcome="approve", opinion="", by=approver)
    client = logged_in(clerk)
    assert [r.case.pk for r in client.get(LIST, {"tab": "delivery"}).context["rows"]] == [case.pk]
    response = client.post(action(case, "case_deliver"), {"method": "post", "note": ""})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == CaseStatus.RESULT_READY
    response = client.post(action(case, "case_deliver"), {"method": "post", "note": "EMS1234567890"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.delivery_note) == (CaseStatus.COMPLETED, "EMS1234567890")


def test_material_download_and_id_reveal_are_audited(case: Case, clerk: User) -> None:
    client = logged_in(clerk)
    page = client.get(detail(case)).content.decode()
    assert case.applicant_id_number not in page
    row = case.materials.first()
    assert row is not None
    response = client.get(reverse("casework:material_download", args=[case.pk, row.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(action="case.material_downloaded", subject_id=str(case.pk)).exists()
    revealed = client.post(action(case, "case_reveal"))
    assert case.applicant_id_number in revealed.content.decode()
    assert AuditEvent.objects.filter(action="case.contact_revealed", actor_id=clerk.pk).exists()


def test_a_file_of_another_case_is_not_served(
    case: Case, item: ServiceItem, citizen: User, clerk: User
) -> None:
    other = submitted_case(item, citizen)
    row = other.materials.first()
    assert row is not None
    response = logged_in(clerk).get(reverse("casework:material_download", args=[case.pk, row.pk]))
    assert response.status_code == 404


# --- one-window intake ---------------------------------------------------------------------------


def test_window_pages_are_for_clerks_only(approver: User, clerk: User, item: ServiceItem) -> None:
    assert logged_in(approver).get(WINDOW).status_code == 403
    response = logged_in(clerk).get(WINDOW, {"q": item.current_version.name})  # type: ignore[union-attr]
    assert response.status_code == 200
    assert [i.pk for i in response.context["items"]] == [item.pk]


def test_county_clerk_cannot_take_in_a_city_item(county_clerk: User, item: ServiceItem) -> None:
    client = logged_in(county_clerk)
    response = client.get(WINDOW, {"q": item.current_version.name})  # type: ignore[union-attr]
    assert response.context["items"] == []
    assert client.get(reverse("casework:window_identify", args=[item.pk])).status_code == 404


def test_window_identify_refuses_a_name_mismatch_and_audits_it(
    clerk: User, citizen: User, item: ServiceItem
) -> None:
    client = logged_in(clerk)
    url = reverse("casework:window_identify", args=[item.pk])
    response = client.post(url, {"id_number": citizen.resident_id, "name": "某某某"})
    assert response.status_code == 400
    assert gettext("The ID number and the name do not match.") in response.content.decode()
    assert WINDOW_SESSION_KEY not in client.session
    event = AuditEvent.objects.get(action="case.window_identify")
    assert event.outcome == AuditOutcome.FAILURE
    assert event.actor_id == clerk.pk
    assert str(citizen.resident_id) not in str(event.data)  # stored masked
    # Step 3 is not reachable without a match.
    assert client.get(reverse("casework:window_apply", args=[item.pk])).status_code == 302


def test_window_identify_without_an_account(clerk: User, item: ServiceItem) -> None:
    from tongban.identity.tests.factories import make_resident_id

    response = logged_in(clerk).post(
        reverse("casework:window_identify", args=[item.pk]), {"id_number": make_resident_id(), "name": "张三"}
    )
    assert response.status_code == 400
    assert gettext("No account has this ID number; the applicant must register first.") in (
        response.content.decode()
    )


def test_window_intake_happy_path(clerk: User, citizen: User, item: ServiceItem) -> None:
    client = logged_in(clerk)
    response = client.post(
        reverse("casework:window_identify", args=[item.pk]),
        {"id_number": citizen.resident_id.lower(), "name": f" {citizen.name} "},  # type: ignore[union-attr]
    )
    assert response.status_code == 302
    apply_url = reverse("casework:window_apply", args=[item.pk])
    assert response["Location"] == apply_url
    page = client.get(apply_url)
    assert page.status_code == 200
    key = page.context["form"]["key"].value()
    ids = material_ids(item)
    data = {**FORM_ANSWERS, "key": key, f"material_{ids['居民身份证']}": pdf_upload("身份证扫描.pdf")}
    response = client.post(apply_url, data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == detail(case)
    assert (case.channel, case.applicant_id, case.submitted_by_id) == (Channel.WINDOW, citizen.pk, clerk.pk)
    assert case.status == CaseStatus.SUBMITTED
    assert [m.origin for m in case.materials.all()] == [MaterialOrigin.WINDOW_SCAN]
    # Accept at once, the missing 申请表 to follow later (容缺).
    response = client.post(action(case, "case_accept"), {"deferred": [ids["申请表"]]})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_window_apply_shows_form_errors(clerk: User, citizen: User, item: ServiceItem) -> None:
    client = logged_in(clerk)
    client.post(
        reverse("casework:window_identify", args=[item.pk]),
        {"id_number": citizen.resident_id, "name": citizen.name},
    )
    apply_url = reverse("casework:window_apply", args=[item.pk])
    key = client.get(apply_url).context["form"]["key"].value()
    response = client.post(apply_url, {**FORM_ANSWERS, "contact_phone": "12", "key": key})
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_workbench_shows_case_counts(case: Case, clerk: User) -> None:
    response = logged_in(clerk).get(reverse("portal:workbench"))
    html = response.content.decode()
    assert reverse("casework:case_list") in html
    assert reverse("casework:window_search") in html


def test_notice_of_acceptance_prints_for_staff_of_the_case_only(
    case: Case, clerk: User, other_approver: User
) -> None:
    accepted(case, clerk)
    client = logged_in(clerk)
    url = reverse("casework:notice", kwargs={"pk": case.pk, "kind": "acceptance"})
    assert url in client.get(detail(case)).content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    assert logged_in(other_approver).get(url).status_code == 404
    missing = reverse("casework:notice", kwargs={"pk": case.pk, "kind": "decision"})
    assert client.get(missing).status_code == 404


def test_supervisor_reads_but_cannot_act(case: Case, supervisor: User) -> None:
    client = logged_in(supervisor)
    page = client.get(detail(case))
    assert page.status_code == 200
    assert not page.context["any_action"]
    assert reverse("casework:case_accept", args=[case.pk]) not in page.content.decode()
    assert client.post(action(case, "case_accept"), {}).status_code == 403
    assert client.get(WINDOW).status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED


def _identify(client: Client, item: ServiceItem, id_number: str, name: str) -> Any:
    return client.post(
        reverse("casework:window_identify", args=[item.pk]), {"id_number": id_number, "name": name}
    )


def test_window_identifies_an_enterprise_by_credit_code(
    clerk: User, enterprise: User, department: Department
) -> None:
    item = published_item(department, service_object="both")
    response = _identify(logged_in(clerk), item, str(enterprise.credit_code), enterprise.name)
    assert response.status_code == 302


def test_window_identification_holds_for_that_item_only(
    clerk: User, citizen: User, item: ServiceItem, department: Department
) -> None:
    client = logged_in(clerk)
    assert _identify(client, item, str(citizen.resident_id), citizen.name).status_code == 302
    other = published_item(department)
    response = client.get(reverse("casework:window_apply", args=[other.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("casework:window_identify", args=[other.pk])


def test_window_application_sent_twice_files_one_case(clerk: User, citizen: User, item: ServiceItem) -> None:
    client = logged_in(clerk)
    _identify(client, item, str(citizen.resident_id), citizen.name)
    apply_url = reverse("casework:window_apply", args=[item.pk])
    key = client.get(apply_url).context["form"]["key"].value()
    assert client.post(apply_url, {**FORM_ANSWERS, "key": key}).status_code == 302
    # The same form sent again (a double click, a reload): identification is gone, so it asks again.
    _identify(client, item, str(citizen.resident_id), citizen.name)
    assert client.post(apply_url, {**FORM_ANSWERS, "key": key}).status_code == 302
    assert Case.objects.count() == 1


def test_window_application_not_for_this_applicant_is_shown_on_the_form(
    clerk: User, enterprise: User, department: Department
) -> None:
    item = published_item(department, service_object="person")
    client = logged_in(clerk)
    _identify(client, item, str(enterprise.credit_code), enterprise.name)
    apply_url = reverse("casework:window_apply", args=[item.pk])
    key = client.get(apply_url).context["form"]["key"].value()
    response = client.post(apply_url, {**FORM_ANSWERS, "key": key})
    assert response.status_code == 403
    assert response.context["form"].non_field_errors()
    assert not Case.objects.exists()


@pytest.mark.parametrize("tab", ["intake", "all"])
def test_queue_pages_cost_the_same_for_one_case_or_many(
    tab: str, item: ServiceItem, citizen: User, clerk: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in(clerk)
    submitted_case(item, citizen)
    client.get(LIST, {"tab": tab})  # warm the session and the calendar cache
    with CaptureQueriesContext(connection) as one:
        client.get(LIST, {"tab": tab})
    for _ in range(4):
        submitted_case(item, citizen)
    with CaptureQueriesContext(connection) as five:
        response = client.get(LIST, {"tab": tab})
    assert len(response.context["rows"]) == 5
    assert len(five) == len(one)

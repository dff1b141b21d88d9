"""The licence staff pages: every page, who may open it (another department's licence is a 404, a
citizen is refused), and what bad input on revoke, issue, rotate, check and import gets."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tongban.core.masking import mask_resident_id
from tongban.core.models import AuditEvent
from tongban.identity.tests.factories import CitizenFactory, make_resident_id
from tongban.licences import imports, services
from tongban.licences.choices import KeyStatus, LicenceStatus, UseKind
from tongban.licences.models import Licence, LicenceImport, LicenceUse, SigningKey
from tongban.licences.tests.staff_world import World, client_for, credit_code, fake_case, issue, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    settings.STAFF_2FA = "optional"  # identity's tests cover the second-factor gate


@pytest.fixture
def world() -> World:
    return make_world()


def url(name: str, *args: Any) -> str:
    return reverse(f"licences_staff:{name}", args=args)


def staff_view_audits(licence: Licence) -> int:
    return AuditEvent.objects.filter(action="licence.staff_viewed", subject_id=str(licence.pk)).count()


# --- who may open the pages ---------------------------------------------------------------------

PAGES = ["list", "types", "check", "import"]


@pytest.mark.parametrize("name", [*PAGES, "keys"])
def test_anonymous_visitors_are_sent_to_log_in(client: Client, name: str) -> None:
    response = client.get(url(name))
    assert response.status_code == 302
    assert "/login" in response["Location"]


@pytest.mark.parametrize("name", [*PAGES, "keys"])
def test_citizens_and_staff_without_a_licence_role_are_refused_in_chinese(world: World, name: str) -> None:
    citizen: Any = CitizenFactory()
    citizen_page = client_for(citizen, "zh-hans").get(url(name))
    assert citizen_page.status_code == 403
    assert "此页面仅限政府工作人员访问" in citizen_page.content.decode()
    assert client_for(world.clerk).get(url(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_the_issuing_departments_staff_open_every_page(world: World, name: str) -> None:
    for user in (world.approver, world.officer, world.admin):
        assert client_for(user).get(url(name)).status_code == 200


def test_the_keys_page_is_for_administrators(world: World) -> None:
    assert client_for(world.approver).get(url("keys")).status_code == 403
    page = client_for(world.admin).get(url("keys"))
    assert page.status_code == 200
    for department in (world.mzj, world.scj):
        assert department.name in page.content.decode()


# --- the list and the detail --------------------------------------------------------------------


def test_the_list_shows_the_departments_licences_with_masked_holder_ids(world: World) -> None:
    ours = issue(world.marriage, world.approver, name="张三")
    food = issue_food(world)
    page = client_for(world.approver).get(url("list")).content.decode()
    assert reverse("licences_staff:detail", args=[ours.pk]) in page
    assert reverse("licences_staff:detail", args=[food.pk]) not in page
    assert ours.holder_id not in page
    assert mask_resident_id(ours.holder_id) in page
    admin_page = client_for(world.admin).get(url("list")).content.decode()
    assert reverse("licences_staff:detail", args=[food.pk]) in admin_page
    assert food.holder_id in admin_page  # a credit code is public
    county = client_for(world.county_admin).get(url("list")).content.decode()
    assert reverse("licences_staff:detail", args=[ours.pk]) not in county


def issue_food(world: World) -> Licence:
    code = credit_code("91")
    return services.licence_issue(
        type_=world.food,
        holder_id=code,
        holder_name="六安市好味食品有限公司",
        data={"name": "六安市好味食品有限公司", "credit_code": code},
        valid_until=timezone.localdate().replace(year=timezone.localdate().year + 5),
        number="JY13415020001",
        by=world.other,
    )


def test_the_list_filters_by_type_status_and_search(world: World) -> None:
    kept = issue(world.marriage, world.approver, name="张三")
    revoked = issue(world.marriage, world.approver, name="王五")
    services.licence_revoke(licence=revoked, reason="测试撤销", by=world.approver)
    client = client_for(world.admin)
    food = issue_food(world)

    def shown(**query: Any) -> set[int]:
        page = client.get(url("list"), query).content.decode()
        return {
            lic.pk for lic in (kept, revoked, food) if reverse("licences_staff:detail", args=[lic.pk]) in page
        }

    assert shown() == {kept.pk, revoked.pk, food.pk}
    assert shown(type=world.marriage.pk) == {kept.pk, revoked.pk}
    assert shown(status=LicenceStatus.REVOKED) == {revoked.pk}
    assert shown(status=LicenceStatus.VALID) == {kept.pk, food.pk}
    assert shown(q=kept.holder_id) == {kept.pk}
    assert shown(q=revoked.identifier.lower()) == {revoked.pk}
    assert shown(q=food.number) == {food.pk}
    assert shown(q="nobody") == set()
    assert client.get(url("list"), {"type": "x", "page": "9999999"}).status_code == 200  # bad filters ignored


def test_the_detail_shows_the_full_licence_and_is_audited(world: World) -> None:
    licence = issue(world.marriage, world.approver)
    page = client_for(world.officer).get(url("detail", licence.pk))
    assert page.status_code == 200
    text = page.content.decode()
    assert licence.holder_id in text
    assert licence.data["spouse_name"] in text
    assert staff_view_audits(licence) == 1
    event = AuditEvent.objects.get(action="licence.staff_viewed")
    assert event.actor_id == world.officer.pk


def test_another_departments_licence_is_not_found_and_not_audited(world: World) -> None:
    licence = issue(world.marriage, world.approver)
    for user in (world.other, world.county_admin):
        client = client_for(user)
        assert client.get(url("detail", licence.pk)).status_code == 404
        assert client.post(url("revoke", licence.pk), {"reason": "越权撤销"}).status_code == 404
    assert client_for(world.approver).get(url("detail", 999_999)).status_code == 404
    assert staff_view_audits(licence) == 0
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.VALID


# --- revoke -------------------------------------------------------------------------------------


def test_revoke_needs_a_reason_and_happens_once(world: World) -> None:
    licence = issue(world.marriage, world.approver)
    client = client_for(world.approver)
    empty = client.post(url("revoke", licence.pk), {"reason": " "})
    assert empty.status_code == 400
    assert "Give the reason for revoking the licence." in empty.content.decode()
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.VALID
    done = client.post(url("revoke", licence.pk), {"reason": "以欺骗手段取得"})
    assert done.status_code == 302
    licence.refresh_from_db()
    assert (licence.status, licence.revoked_reason) == (LicenceStatus.REVOKED, "以欺骗手段取得")
    again = client.post(url("revoke", licence.pk), {"reason": "再次撤销"})
    assert again.status_code == 409
    assert "already been revoked" in again.content.decode()
    licence.refresh_from_db()
    assert licence.revoked_reason == "以欺骗手段取得"
    assert client.get(url("revoke", licence.pk)).status_code == 405


# --- types and issuance -------------------------------------------------------------------------


def test_the_types_page_lists_types_and_offers_issuance_only_for_ones_own(world: World) -> None:
    page = client_for(world.approver).get(url("types")).content.decode()
    for text in (world.marriage.code, world.food.code, "民政部", world.mzj.name, "spouse_name"):
        assert text in page
    assert url("issue", world.marriage.pk) in page
    assert url("issue", world.food.pk) not in page


def test_issue_form_has_the_types_fields_and_issues(world: World) -> None:
    client = client_for(world.approver)
    form = client.get(url("issue", world.marriage.pk))
    assert form.status_code == 200
    for name in ("holder_id", "holder_name", "data_spouse_name", "data_registered_on"):
        assert f'name="{name}"' in form.content.decode()
    rid = make_resident_id()
    response = client.post(
        url("issue", world.marriage.pk),
        {"holder_id": rid.lower(), "holder_name": "张三", "data_spouse_name": "李四", "data_registry": ""},
    )
    assert response.status_code == 302
    licence = Licence.objects.get()
    assert response["Location"] == url("detail", licence.pk)
    # Fields the licence takes from the holder or a fixed text are filled in when left empty.
    assert licence.data == {
        "name": "张三",
        "id_number": rid,
        "spouse_name": "李四",
        "registry": "六安市民政局婚姻登记处",
    }


def test_issue_bad_input_lands_next_to_the_fields_and_writes_nothing(world: World) -> None:
    client = client_for(world.approver)
    missing = client.post(url("issue", world.marriage.pk), {"holder_id": "", "holder_name": ""})
    assert missing.status_code == 400
    form = missing.context["form"]
    assert set(form.errors) >= {"holder_id", "holder_name", "data_spouse_name"}
    rid = make_resident_id()
    bad_id = client.post(
        url("issue", world.marriage.pk),
        {
            "holder_id": rid[:-1] + ("0" if rid[-1] != "0" else "1"),
            "holder_name": "张三",
            "data_spouse_name": "李四",
        },
    )
    assert bad_id.status_code == 400
    assert list(bad_id.context["form"].errors) == ["holder_id"]
    food = client_for(world.other).post(
        url("issue", world.food.pk),
        {"holder_id": "91341500MA2N0000X0", "holder_name": "某公司", "valid_until": "2020-13-01"},
    )
    assert food.status_code == 400
    assert "valid_until" in food.context["form"].errors
    assert not Licence.objects.exists()


def test_issue_for_another_departments_type_is_refused(world: World) -> None:
    response = client_for(world.approver).post(url("issue", world.food.pk), {"holder_id": "x"})
    assert response.status_code == 403
    assert client_for(world.approver).get(url("issue", 999_999)).status_code == 404
    assert not Licence.objects.exists()


def test_issue_without_a_signing_key_says_so(world: World) -> None:
    SigningKey.objects.filter(department=world.mzj).update(status=KeyStatus.RETIRED)
    rid = make_resident_id()
    response = client_for(world.approver).post(
        url("issue", world.marriage.pk), {"holder_id": rid, "holder_name": "张三", "data_spouse_name": "李四"}
    )
    assert response.status_code == 409
    assert "has no signing key" in response.content.decode()
    assert not Licence.objects.exists()


# --- keys ---------------------------------------------------------------------------------------


def test_rotate_needs_a_reason_and_keeps_one_active_key(world: World) -> None:
    client = client_for(world.admin)
    old = SigningKey.objects.get(department=world.mzj)
    empty = client.post(url("key_rotate", world.mzj.pk), {"reason": ""})
    assert empty.status_code == 400
    assert SigningKey.objects.filter(department=world.mzj).count() == 1
    done = client.post(url("key_rotate", world.mzj.pk), {"reason": "年度轮换"})
    assert done.status_code == 302
    old.refresh_from_db()
    assert old.status == KeyStatus.RETIRED
    assert SigningKey.objects.filter(department=world.mzj, status=KeyStatus.ACTIVE).count() == 1
    page = client.get(url("keys")).content.decode()
    assert old.key_id in page


def test_rotate_outside_the_jurisdiction_or_without_the_role_is_refused(world: World) -> None:
    assert (
        client_for(world.county_admin).post(url("key_rotate", world.mzj.pk), {"reason": "越权"}).status_code
        == 404
    )
    assert (
        client_for(world.approver).post(url("key_rotate", world.mzj.pk), {"reason": "越权"}).status_code
        == 403
    )
    assert SigningKey.objects.filter(department=world.mzj).count() == 1


def test_a_department_without_a_key_gets_one_created(world: World) -> None:
    SigningKey.objects.filter(department=world.scj).update(status=KeyStatus.RETIRED)
    client = client_for(world.admin)
    assert "has no signing key" in client.get(url("keys")).content.decode()
    client.post(url("key_rotate", world.scj.pk), {"reason": "补建密钥"})
    assert SigningKey.objects.filter(department=world.scj, status=KeyStatus.ACTIVE).exists()


# --- verification by staff ----------------------------------------------------------------------


def _authorised(world: World) -> tuple[Any, Licence, Any]:
    citizen: Any = CitizenFactory()
    licence = issue(world.marriage, world.approver, holder_id=citizen.resident_id)
    auth = services.authorisation_for_case(
        licence=licence,
        case=fake_case(world.scj),
        purpose="办理食品经营许可",
        fields=["name"],
        by=citizen,
        holder=citizen,
    )
    return citizen, licence, auth


def test_check_an_identifier_gives_the_verdict_only(world: World) -> None:
    licence = issue(world.marriage, world.approver)
    client = client_for(world.other)
    page = client.post(url("check"), {"identifier": licence.identifier})
    assert page.status_code == 200
    text = page.content.decode()
    assert "This licence is genuine and valid." in text
    assert licence.holder_id not in text  # masked
    assert licence.data["spouse_name"] not in text
    unknown = client.post(url("check"), {"identifier": "1.2.156.3005.2.X"}).content.decode()
    assert "No licence has this identifier." in unknown
    assert client.post(url("check"), {"identifier": ""}).status_code == 400
    assert not LicenceUse.objects.exists()


def test_check_with_an_authorised_case_shows_the_full_licence(world: World) -> None:
    _citizen, licence, auth = _authorised(world)
    page = client_for(world.other).post(
        url("check"), {"identifier": licence.identifier, "case_number": auth.case_number}
    )
    text = page.content.decode()
    assert licence.holder_id in text
    assert licence.data["spouse_name"] in text
    use = LicenceUse.objects.get()
    assert (use.kind, use.actor, use.case_number) == (UseKind.CASE_REVIEW, world.other, auth.case_number)
    assert AuditEvent.objects.filter(action="licence.viewed", actor_id=world.other.pk).count() == 1


def test_check_explains_why_the_full_licence_is_not_shown(world: World) -> None:
    citizen, licence, auth = _authorised(world)
    # Another department: no authorisation for it.
    other = client_for(world.approver).post(
        url("check"), {"identifier": licence.identifier, "case_number": auth.case_number}
    )
    assert "licence_not_authorised" in other.content.decode()
    # A case number nobody authorised.
    wrong = client_for(world.other).post(
        url("check"), {"identifier": licence.identifier, "case_number": "SL-NONE"}
    )
    assert "licence_not_authorised" in wrong.content.decode()
    # Consent withdrawn.
    services.authorisation_withdraw(authorisation=auth, by=citizen)
    withdrawn = client_for(world.other).post(
        url("check"), {"identifier": licence.identifier, "case_number": auth.case_number}
    )
    text = withdrawn.content.decode()
    assert "consent_withdrawn" in text
    assert "The holder withdrew consent for this case." in text
    assert licence.data["spouse_name"] not in text
    assert not LicenceUse.objects.exists()
    refusals = AuditEvent.objects.filter(action="licence.refused", subject_id=str(licence.pk))
    assert [e.data["why"] for e in refusals.order_by("seq")] == [
        "no_authorisation",
        "no_authorisation",
        "consent_withdrawn",
    ]


# --- import pages -------------------------------------------------------------------------------


def _upload(lines: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile("licences.csv", "\n".join(lines).encode(), content_type="text/csv")


def test_import_page_imports_and_shows_the_report(world: World) -> None:
    client = client_for(world.officer)
    page = client.get(url("import")).content.decode()
    assert world.marriage.name in page
    assert world.food.name not in page  # not a type of the officer's department
    rid = make_resident_id()
    lines = [
        "holder_id,holder_name,issued_on,spouse_name",
        f"{rid},张三,2015-05-20,李四",
        f"{rid[:9]},王五,2015-05-20,赵六",
    ]
    response = client.post(url("import"), {"type": world.marriage.pk, "file": _upload(lines)})
    assert response.status_code == 302
    batch = LicenceImport.objects.get()
    assert response["Location"] == url("import_report", batch.pk)
    report = client.get(url("import_report", batch.pk)).content.decode()
    assert "holder_id_invalid" in report
    workbook = load_workbook(io.BytesIO(client.get(url("import_report_xlsx", batch.pk)).content))
    assert list(workbook.worksheets[0].iter_rows(values_only=True))[1][0] == 3


def test_import_bad_input_is_shown_on_the_form(world: World) -> None:
    client = client_for(world.officer)
    wrong = client.post(url("import"), {"type": world.marriage.pk, "file": _upload(["colour,size", "红,大"])})
    assert wrong.status_code == 400
    assert "does not have" in wrong.content.decode()
    other_type = client.post(url("import"), {"type": world.food.pk, "file": _upload(["holder_id", "x"])})
    assert other_type.status_code == 400  # not a choice for this user
    assert "type" in other_type.context["form"].errors
    SigningKey.objects.filter(department=world.mzj).update(status=KeyStatus.RETIRED)
    no_key = client.post(url("import"), {"type": world.marriage.pk, "file": _upload(["holder_id", "x"])})
    assert no_key.status_code == 409
    assert "has no signing key" in no_key.content.decode()
    assert not LicenceImport.objects.exists()


def test_another_departments_import_report_is_not_found(world: World) -> None:
    lines = ["holder_id,holder_name,issued_on,spouse_name", f"{make_resident_id()},张三,2015-05-20,李四"]
    batch = imports.licences_import(type_=world.marriage, file=_upload(lines), by=world.officer)
    for user in (world.other, world.county_admin):
        client = client_for(user)
        assert client.get(url("import_report", batch.pk)).status_code == 404
        assert client.get(url("import_report_xlsx", batch.pk)).status_code == 404
    assert client_for(world.admin).get(url("import_report", batch.pk)).status_code == 200


def test_the_template_download_is_a_workbook_with_the_types_header(world: World) -> None:
    response = client_for(world.approver).get(url("type_template", world.marriage.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == imports.XLSX_CONTENT_TYPE
    header = [c.value for c in load_workbook(io.BytesIO(response.content)).worksheets[0][1]]
    assert "配偶姓名" in header


def test_the_workbench_links_to_the_licence_pages(world: World) -> None:
    page = client_for(world.approver).get(reverse("portal:workbench")).content.decode()
    assert url("list") in page
    assert url("list") not in client_for(world.clerk).get(reverse("portal:workbench")).content.decode()

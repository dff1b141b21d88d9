"""The online hall pages: apply, drafts, corrections, withdrawal, notices, my cases, progress lookup."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tongban.cases import services
from tongban.cases.choices import CaseStatus
from tongban.cases.models import Case, CaseMaterial
from tongban.cases.tests.factories import (
    FORM_ANSWERS,
    PDF_BYTES,
    all_files,
    material_ids,
    pdf_upload,
    published_item,
    submitted_case,
)
from tongban.catalog.models import ServiceItem
from tongban.identity.models import Department, EnterpriseAgent, User
from tongban.identity.tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    EnterpriseFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def item(department: Department) -> ServiceItem:
    return published_item(department)


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(name="政务服务中心", code="city-centre", division_code="341500", parent=city)
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def other() -> Any:
    return CitizenFactory()


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def apply_url(item: ServiceItem) -> str:
    return reverse("hall:apply", args=[item.implementation_code])


def detail_url(case: Case) -> str:
    return reverse("hall:case_detail", args=[case.pk])


def form_post(
    item: ServiceItem, *, action: str = "submit", key: str = "k" * 24, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    ids = material_ids(item)
    data: dict[str, Any] = {
        **FORM_ANSWERS,
        "action": action,
        "idempotency_key": key,
        f"material_{ids['居民身份证']}": pdf_upload("身份证.pdf"),
        f"material_{ids['申请表']}": pdf_upload("申请表.pdf"),
    }
    data.update(overrides or {})
    return data


# --- applying --------------------------------------------------------------------------------


def test_guide_offers_online_application_and_anonymous_users_log_in_first(
    client: Client, item: ServiceItem
) -> None:
    guide = text(client.get(reverse("portal:service_guide", args=[item.implementation_code])))
    assert f'href="{apply_url(item)}"' in guide
    response = client.get(apply_url(item))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_apply_page_shows_form_materials_and_fetched_ones(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    page = text(login(client, citizen).get(apply_url(item)))
    assert "申请人姓名" in page
    assert "居民身份证" in page
    assert "户口簿" in page
    # The 户口簿 is not in the licence library here: the page says so, and it can be uploaded instead.
    assert zh("This licence is not in the licence library yet.") in page
    assert page.count('type="file"') == 3
    assert 'name="idempotency_key"' in page


def test_apply_happy_path_submits_and_shows_the_number(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    response = login(client, citizen).post(apply_url(item), form_post(item), follow=True)
    case = Case.objects.get()
    assert case.status == CaseStatus.SUBMITTED
    assert case.applicant == citizen
    assert case.materials.count() == 2
    assert response.redirect_chain[-1][0] == detail_url(case)
    page = text(response)
    assert case.number
    assert case.number in page
    assert zh("Submitted, awaiting pre-review") in page


def test_invalid_form_shows_errors_and_submits_nothing(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    data = form_post(item, overrides={"contact_phone": "12", "applicant_name": ""})
    response = login(client, citizen).post(apply_url(item), data)
    assert response.status_code == 400
    page = text(response)
    assert zh("This field is required.") in page or "此字段" in page
    assert 'id="id_contact_phone_error"' in page
    assert not Case.objects.exists()
    assert not CaseMaterial.objects.exists()


def test_wrong_file_type_is_named_next_to_its_material(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    ids = material_ids(item)
    bad = SimpleUploadedFile("身份证.pdf", b"MZ not a pdf at all", content_type="application/pdf")
    response = login(client, citizen).post(
        apply_url(item), form_post(item, overrides={f"material_{ids['居民身份证']}": bad})
    )
    assert response.status_code == 400
    page = text(response)
    with translation.override("zh-hans"):
        expected = str(gettext("The file %(name)s is not a PDF, JPEG or PNG file.") % {"name": "身份证.pdf"})
    assert expected in page
    assert f'id="material_{ids["居民身份证"]}_error"' in page
    assert not Case.objects.exists()


def test_missing_required_material_keeps_nothing(client: Client, item: ServiceItem, citizen: User) -> None:
    ids = material_ids(item)
    data = form_post(item)
    del data[f"material_{ids['申请表']}"]
    response = login(client, citizen).post(apply_url(item), data)
    assert response.status_code == 400
    assert "申请表" in text(response)
    assert not Case.objects.exists()
    assert not CaseMaterial.objects.exists()


def test_double_submit_with_the_same_key_makes_one_case(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    login(client, citizen)
    first = client.post(apply_url(item), form_post(item, key="same-key-0123456789abcd"))
    second = client.post(apply_url(item), form_post(item, key="same-key-0123456789abcd"))
    case = Case.objects.get()
    assert first["Location"] == second["Location"] == detail_url(case)


def test_unpublished_item_gives_a_friendly_page(
    client: Client, department: Department, citizen: User
) -> None:
    from tongban.catalog.tests.factories import ServiceItemFactory

    factory: Any = ServiceItemFactory
    draft_item = factory(department=department, published=False)
    response = login(client, citizen).get(apply_url(draft_item))
    assert response.status_code == 404
    assert zh("This service item is not published, so it does not accept applications.") in text(response)
    assert login(client, citizen).get("/services/NO-SUCH-CODE/apply/").status_code == 404


def test_window_only_item_cannot_be_applied_for_online(
    client: Client, citizen: User, department: Department
) -> None:
    window_only = published_item(department, channels=["window"], online_depth=1)
    response = login(client, citizen).get(apply_url(window_only))
    assert response.status_code == 409
    assert zh("Cannot apply online") in text(response)


def test_staff_cannot_apply(client: Client, item: ServiceItem, clerk: User) -> None:
    response = login(client, clerk).get(apply_url(item))
    assert response.status_code == 403


def test_draft_save_then_continue_and_submit(client: Client, item: ServiceItem, citizen: User) -> None:
    login(client, citizen)
    ids = material_ids(item)
    data = form_post(item, action="save", overrides={"contact_phone": ""})
    del data[f"material_{ids['申请表']}"]
    response = client.post(apply_url(item), data)
    case = Case.objects.get()
    assert case.status == CaseStatus.DRAFT
    assert response["Location"] == reverse("hall:case_edit", args=[case.pk])
    page = text(client.get(response["Location"]))
    assert "身份证.pdf" in page
    # A failed submission (the form is still incomplete) leaves the draft as it was.
    response = client.post(
        reverse("hall:case_edit", args=[case.pk]),
        {**FORM_ANSWERS, "action": "submit", "idempotency_key": "x" * 24, "remarks": "changed"},
    )
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == CaseStatus.DRAFT
    assert case.form_data.get("remarks") == ""
    assert case.materials.count() == 1
    response = client.post(
        reverse("hall:case_edit", args=[case.pk]),
        {
            **FORM_ANSWERS,
            "action": "submit",
            "idempotency_key": "y" * 24,
            f"material_{ids['申请表']}": pdf_upload("申请表.pdf"),
        },
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert response["Location"] == detail_url(case)


def test_failed_submit_after_upload_leaves_no_file_behind(
    client: Client, item: ServiceItem, citizen: User, settings: Any
) -> None:
    login(client, citizen)
    ids = material_ids(item)
    data = form_post(item)
    del data[f"material_{ids['申请表']}"]
    client.post(apply_url(item), data)  # the service refuses: 申请表 is missing
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def test_replacing_and_removing_files_on_a_draft(client: Client, item: ServiceItem, citizen: User) -> None:
    ids = material_ids(item)
    draft = services.case_draft_save(item=item, applicant=citizen, form_data=FORM_ANSWERS, by=citizen)
    first = services.case_material_upload(
        case=draft, material_id=ids["居民身份证"], upload=pdf_upload("a.pdf"), by=citizen
    )
    login(client, citizen).post(
        reverse("hall:case_edit", args=[draft.pk]),
        {**FORM_ANSWERS, "action": "save", f"material_{ids['居民身份证']}": pdf_upload("b.pdf")},
    )
    assert list(draft.materials.values_list("original_name", flat=True)) == ["b.pdf"]
    assert not CaseMaterial.objects.filter(pk=first.pk).exists()
    row = draft.materials.get()
    client.post(
        reverse("hall:case_edit", args=[draft.pk]), {**FORM_ANSWERS, "action": "save", "remove": [row.pk]}
    )
    assert not draft.materials.exists()


def test_discard_draft(client: Client, item: ServiceItem, citizen: User, other: User) -> None:
    draft = services.case_draft_save(item=item, applicant=citizen, form_data={}, by=citizen)
    assert login(client, other).post(reverse("hall:case_discard", args=[draft.pk])).status_code == 404
    response = login(client, citizen).post(reverse("hall:case_discard", args=[draft.pk]))
    assert response["Location"] == reverse("hall:my_cases")
    assert not Case.objects.exists()


def test_agent_applies_for_the_enterprise(client: Client, department: Department, citizen: User) -> None:
    company: Any = EnterpriseFactory(name="六安示例科技有限公司")
    EnterpriseAgent.objects.create(enterprise=company, agent=citizen)
    both = published_item(department, service_object="both")
    login(client, citizen)
    page = text(client.get(apply_url(both)))
    assert "六安示例科技有限公司" in page
    client.post(apply_url(both), form_post(both, overrides={"for-applicant": str(company.pk)}))
    case = Case.objects.get()
    assert case.applicant == company
    assert case.submitted_by == citizen
    assert case.number
    assert case.number in text(client.get(reverse("hall:my_cases")))


# --- my cases and the case page --------------------------------------------------------------


def test_my_cases_lists_own_cases_and_filters_by_status(
    client: Client, item: ServiceItem, citizen: User, other: User
) -> None:
    mine = submitted_case(item, citizen)
    draft = services.case_draft_save(item=item, applicant=citizen, form_data={}, by=citizen)
    theirs = submitted_case(item, other)
    assert mine.number
    assert theirs.number
    page = text(login(client, citizen).get(reverse("hall:my_cases")))
    assert mine.number in page
    assert reverse("hall:case_detail", args=[draft.pk]) in page
    assert theirs.number not in page
    filtered = text(client.get(reverse("hall:my_cases"), {"status": "draft"}))
    assert mine.number not in filtered
    assert reverse("hall:case_detail", args=[draft.pk]) in filtered


@pytest.mark.parametrize(
    "name",
    ["hall:case_detail", "hall:case_edit", "hall:case_withdraw"],
)
def test_another_citizen_gets_404(
    client: Client, item: ServiceItem, citizen: User, other: User, name: str
) -> None:
    case = submitted_case(item, citizen)
    assert login(client, other).get(reverse(name, args=[case.pk])).status_code == 404
    if name != "hall:case_detail":
        assert client.post(reverse(name, args=[case.pk]), {"reason": "x"}).status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED


def test_file_download_only_for_the_owner(
    client: Client, item: ServiceItem, citizen: User, other: User
) -> None:
    case = submitted_case(item, citizen)
    row = case.materials.first()
    assert row is not None
    url = reverse("hall:material_download", args=[case.pk, row.pk])
    assert login(client, other).get(url).status_code == 404
    response = login(client, citizen).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES  # type: ignore[attr-defined]
    # A file of another case through one's own case id is refused too.
    own = submitted_case(item, other)
    foreign = own.materials.first()
    assert foreign is not None
    assert client.get(reverse("hall:material_download", args=[case.pk, foreign.pk])).status_code == 404


def test_correction_then_resubmit(
    client: Client, item: ServiceItem, citizen: User, clerk: User, other: User
) -> None:
    case = submitted_case(item, citizen)
    services.case_return_for_correction(
        case=case, items=[{"target": "居民身份证", "instruction": "请上传清晰的正反面"}], by=clerk
    )
    login(client, citizen)
    page = text(client.get(detail_url(case)))
    assert "请上传清晰的正反面" in page
    assert zh("Correct and resubmit") in page
    edit = reverse("hall:case_edit", args=[case.pk])
    assert "请上传清晰的正反面" in text(client.get(edit))
    ids = material_ids(item)
    data = {**FORM_ANSWERS, "action": "submit", f"material_{ids['居民身份证']}": pdf_upload("新身份证.pdf")}
    assert login(client, other).post(edit, data).status_code == 404
    data[f"material_{ids['居民身份证']}"] = pdf_upload("新身份证.pdf")
    response = login(client, citizen).post(edit, data)
    assert response["Location"] == detail_url(case)
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    names = set(case.materials.values_list("original_name", flat=True))
    assert names == {"新身份证.pdf", "申请表.pdf"}


def test_withdraw_with_confirmation_and_reason(client: Client, item: ServiceItem, citizen: User) -> None:
    case = submitted_case(item, citizen)
    url = reverse("hall:case_withdraw", args=[case.pk])
    login(client, citizen)
    assert zh("Yes, withdraw") in text(client.get(url))
    response = client.post(url, {"reason": "不再需要"})
    assert response["Location"] == detail_url(case)
    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert case.withdrawn_reason == "不再需要"
    # Withdrawn: no more withdrawing.
    assert client.get(url)["Location"] == detail_url(case)


def test_deferred_material_upload(client: Client, item: ServiceItem, citizen: User, clerk: User) -> None:
    ids = material_ids(item)
    # A walk-in application filed by the clerk may lack a material, to follow later (容缺).
    case = submitted_case(item, citizen, files={ids["居民身份证"]: pdf_upload()}, by=clerk)
    services.case_accept(case=case, by=clerk, deferred_material_ids=[ids["申请表"]])
    login(client, citizen)
    assert zh("Materials still to provide") in text(client.get(detail_url(case)))
    response = client.post(
        reverse("hall:deferred_upload", args=[case.pk]),
        {"material": ids["申请表"], "file": pdf_upload("后补.pdf")},
    )
    assert response["Location"] == detail_url(case)
    assert case.materials.filter(original_name="后补.pdf", status="provided").exists()


# --- notices ---------------------------------------------------------------------------------


def test_notice_pdfs(client: Client, item: ServiceItem, citizen: User, clerk: User, other: User) -> None:
    case = submitted_case(item, citizen)
    services.case_return_for_correction(
        case=case, items=[{"target": "申请表", "instruction": "签名"}], by=clerk
    )
    correction = reverse("hall:notice_round", args=[case.pk, "correction", 1])
    acceptance = reverse("hall:notice", args=[case.pk, "acceptance"])
    login(client, citizen)
    assert correction in text(client.get(detail_url(case)))
    response = client.get(correction)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    assert client.get(acceptance).status_code == 404  # not accepted yet
    assert client.get(reverse("hall:notice", args=[case.pk, "nonsense"])).status_code == 404
    assert login(client, other).get(correction).status_code == 404


# --- progress lookup -------------------------------------------------------------------------


def test_progress_lookup_right_and_wrong(
    client: Client, item: ServiceItem, citizen: User, clerk: User
) -> None:
    case = submitted_case(item, citizen)
    services.case_return_for_correction(
        case=case, items=[{"target": "居民身份证", "instruction": "身份证号码私密备注"}], by=clerk
    )
    url = reverse("hall:progress")
    assert case.number
    assert citizen.resident_id
    assert case.number in text(client.get(url, {"number": case.number}))
    page = text(client.post(url, {"number": case.number, "last4": citizen.resident_id[-4:]}))
    assert item.current_version.name in page  # type: ignore[union-attr]
    assert zh("Awaiting corrections") in page
    assert zh("One-time notice of corrections issued") in page
    assert "身份证号码私密备注" not in page  # notes that may be personal are not shown
    assert citizen.name not in page
    not_found = zh("Not found: check the case number and the last 4 characters, and try again.")
    wrong = next(
        d for d in ("0000", "1111", "2222") if d not in (citizen.phone[-4:], citizen.resident_id[-4:])
    )
    wrong_digits = text(client.post(url, {"number": case.number, "last4": wrong}))
    wrong_number = text(client.post(url, {"number": case.number + "9", "last4": citizen.resident_id[-4:]}))
    assert not_found in wrong_digits
    assert not_found in wrong_number
    assert item.current_version.name not in wrong_digits  # type: ignore[union-attr]


def test_progress_lookup_is_rate_limited(client: Client, settings: Any) -> None:
    settings.TONGBAN_PROGRESS_RATE = "10/m"
    url = reverse("hall:progress")
    for _ in range(10):
        assert client.post(url, {"number": "X", "last4": "1234"}).status_code == 200
    response = client.post(url, {"number": "X", "last4": "1234"})
    assert response.status_code == 429
    assert zh("Too many lookups") in text(response)
    # The JSON API counts in the same budget; another address is not affected.
    assert client.get("/api/v1/progress", {"number": "X", "last4": "1234"}).status_code == 429
    assert client.post(url, {"number": "X", "last4": "1234"}, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_navigation_links(client: Client, citizen: User) -> None:
    assert reverse("hall:progress") in text(client.get("/"))
    assert reverse("hall:my_cases") in text(login(client, citizen).get("/"))


def test_enterprise_account_applies_for_itself(client: Client, department: Department) -> None:
    company: Any = EnterpriseFactory()
    for_enterprises = published_item(department, service_object="enterprise")
    page = text(login(client, company).get(apply_url(for_enterprises)))
    assert 'name="for-applicant"' not in page  # nobody else to choose
    client.post(apply_url(for_enterprises), form_post(for_enterprises))
    case = Case.objects.get()
    assert case.applicant == company
    assert case.applicant_id_number == company.credit_code
    # A citizen without an authorisation cannot apply for an enterprise-only item.
    stranger: Any = CitizenFactory()
    assert login(client, stranger).get(apply_url(for_enterprises)).status_code == 403


def test_draft_of_an_item_retired_since_shows_why_it_cannot_be_submitted(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    draft = services.case_draft_save(item=item, applicant=citizen, form_data=FORM_ANSWERS, by=citizen)
    for material_id, upload in all_files(item).items():
        services.case_material_upload(case=draft, material_id=material_id, upload=upload, by=citizen)
    ServiceItem.objects.filter(pk=item.pk).update(retired_at=timezone.now())
    response = login(client, citizen).post(
        reverse("hall:case_edit", args=[draft.pk]),
        {**FORM_ANSWERS, "action": "submit", "idempotency_key": "r" * 24},
    )
    assert response.status_code == 409
    with translation.override("zh-hans"):
        expected = gettext("This service item is not published, so it does not accept applications.")
    assert expected in text(response)
    draft.refresh_from_db()
    assert draft.status == CaseStatus.DRAFT


def test_double_submit_of_a_draft_with_the_same_key_submits_once(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    draft = services.case_draft_save(item=item, applicant=citizen, form_data=FORM_ANSWERS, by=citizen)
    for material_id, upload in all_files(item).items():
        services.case_material_upload(case=draft, material_id=material_id, upload=upload, by=citizen)
    url = reverse("hall:case_edit", args=[draft.pk])
    data = {**FORM_ANSWERS, "action": "submit", "idempotency_key": "d" * 24}
    login(client, citizen)
    assert client.post(url, data)["Location"] == detail_url(draft)
    assert client.post(url, data)["Location"] == detail_url(draft)
    draft.refresh_from_db()
    assert draft.status == CaseStatus.SUBMITTED
    assert list(draft.events.values_list("kind", flat=True)) == ["submitted"]


def test_blank_form_of_a_published_material_is_downloadable(client: Client, item: ServiceItem) -> None:
    version = item.current_version
    assert version is not None
    material = version.materials.get(name="申请表")
    material.blank_form.save("申请表空白.pdf", SimpleUploadedFile("申请表空白.pdf", PDF_BYTES))
    url = reverse("hall:material_file", args=[item.implementation_code, material.pk, "blank_form"])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES  # type: ignore[attr-defined]
    assert client.get(url.replace("blank_form", "sample")).status_code == 404
    other_material = version.materials.get(name="居民身份证")
    assert client.get(url.replace(f"/{material.pk}/", f"/{other_material.pk}/")).status_code == 404
    # Once the item has no published version, its files are gone from the public too.
    ServiceItem.objects.filter(pk=item.pk).update(current_version=None)
    assert client.get(url).status_code == 404


def test_a_waiting_draft_is_offered_on_the_apply_page(
    client: Client, item: ServiceItem, citizen: User
) -> None:
    draft = services.case_draft_save(item=item, applicant=citizen, form_data={}, by=citizen)
    page = text(login(client, citizen).get(apply_url(item)))
    assert reverse("hall:case_edit", args=[draft.pk]) in page

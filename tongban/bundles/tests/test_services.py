"""Bundles: merged form and materials, fan-out into cases all or nothing, idempotency, progress."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.bundles import selectors, services
from tongban.bundles.choices import BundleStatus, OverallStatus
from tongban.bundles.models import Bundle, BundleApplication
from tongban.bundles.tests.conftest import CHILD_NAME, with_form
from tongban.cases import services as case_services
from tongban.cases.choices import CaseStatus, Channel
from tongban.cases.models import Case, CaseMaterial
from tongban.cases.tests.factories import pdf_upload
from tongban.catalog.models import ServiceItem
from tongban.catalog.tests.factories import DEFAULT_FORM
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import User
from tongban.identity.tests.factories import CitizenFactory, StaffFactory

pytestmark = pytest.mark.django_db

ANSWERS = {"applicant_name": "李娜", "contact_phone": "13905640102", "remarks": "", "child_name": "王小宝"}


def _keys(bundle: Bundle) -> dict[str, str]:
    return {m.name: m.key for m in selectors.bundle_guide(bundle).materials}


def _files(bundle: Bundle) -> dict[str, Any]:
    keys = _keys(bundle)
    return {keys["居民身份证"]: pdf_upload("身份证.pdf"), keys["申请表"]: pdf_upload("申请表.pdf")}


def _apply(bundle: Bundle, citizen: User, **kw: Any) -> BundleApplication:
    return services.bundle_apply(
        bundle=bundle,
        applicant=citizen,
        form_data=kw.pop("form_data", ANSWERS),
        files=kw.pop("files", None) or _files(bundle),
        by=kw.pop("by", citizen),
        **kw,
    )


def _stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "cases"
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


# --- merging ---------------------------------------------------------------------------------


def test_the_merged_form_asks_a_shared_question_once(bundle: Bundle) -> None:
    guide = selectors.bundle_guide(bundle)
    assert [f.key for f in guide.fields] == ["applicant_name", "contact_phone", "remarks", "child_name"]
    phone = next(f for f in guide.fields if f.key == "contact_phone")
    assert len(phone.item_ids) == 2
    assert next(f for f in guide.fields if f.key == "child_name").item_ids == [guide.items[0].version.item_id]  # type: ignore[union-attr]
    assert not guide.problem


def test_a_field_is_required_when_any_item_requires_it(
    first_item: ServiceItem, second_item: ServiceItem, administrator: User
) -> None:
    optional_phone = copy.deepcopy(DEFAULT_FORM)
    optional_phone[1]["required"] = False
    with_form(second_item, optional_phone)
    draft = services.bundle_create(by=administrator, code="bb", name="b", items=[second_item, first_item])
    guide = selectors.bundle_guide(draft)
    assert next(f for f in guide.fields if f.key == "contact_phone").definition["required"] is True


def test_materials_are_deduplicated_by_name_and_source(bundle: Bundle, second_item: ServiceItem) -> None:
    version = second_item.current_version
    assert version is not None
    version.materials.filter(name="申请表").update(required=False)
    guide = selectors.bundle_guide(bundle)
    assert [m.name for m in guide.materials] == ["居民身份证", "申请表", "户口簿"]
    id_card = guide.materials[0]
    assert len(id_card.parts) == 2
    assert id_card.required
    assert guide.materials[1].required  # required by the first item, optional for the second
    assert guide.materials[2].fetched
    assert not guide.materials[2].uploadable
    assert [m.name for m in guide.uploads] == ["居民身份证", "申请表"]


def test_conflicting_definitions_of_one_key_are_refused_at_publication(
    first_item: ServiceItem, second_item: ServiceItem, administrator: User
) -> None:
    text_phone = copy.deepcopy(DEFAULT_FORM)
    text_phone[1]["type"] = "text"
    with_form(second_item, [*text_phone, {**CHILD_NAME, "type": "date", "validation": {}}])
    draft = services.bundle_create(
        by=administrator, code="clash", name="冲突", items=[first_item, second_item]
    )
    with pytest.raises(ValidationFailed) as excinfo:
        services.bundle_publish(bundle=draft, by=administrator)
    assert excinfo.value.code == "bundle_form_conflict"
    assert excinfo.value.extra["keys"] == ["child_name", "contact_phone"]
    assert "联系电话" in str(excinfo.value.message)
    draft.refresh_from_db()
    assert draft.status == BundleStatus.DRAFT
    assert selectors.bundle_guide(draft).problem


def test_choice_fields_with_different_options_conflict(
    first_item: ServiceItem, second_item: ServiceItem, administrator: User
) -> None:
    gender = {**CHILD_NAME, "key": "gender", "type": "choice", "validation": {}}
    with_form(
        first_item, [{**gender, "options": [{"value": "m", "label": "男"}, {"value": "f", "label": "女"}]}]
    )
    with_form(second_item, [{**gender, "options": [{"value": "m", "label": "男"}]}])
    draft = services.bundle_create(
        by=administrator, code="gender", name="性别", items=[first_item, second_item]
    )
    with pytest.raises(ValidationFailed) as excinfo:
        services.bundle_publish(bundle=draft, by=administrator)
    assert excinfo.value.extra["keys"] == ["gender"]


# --- definition ------------------------------------------------------------------------------


def test_only_administrators_define_bundles(first_item: ServiceItem, second_item: ServiceItem) -> None:
    clerk: Any = StaffFactory(roles=["window_clerk"])
    with pytest.raises(PermissionDenied):
        services.bundle_create(by=clerk, code="xx", name="x", items=[first_item, second_item])
    assert not Bundle.objects.exists()


def test_a_bundle_needs_two_different_items(first_item: ServiceItem, administrator: User) -> None:
    for items in ([first_item], [first_item, first_item]):
        with pytest.raises(ValidationFailed) as excinfo:
            services.bundle_create(by=administrator, code="one", name="一个", items=items)
        assert excinfo.value.code == "bundle_items_invalid"


def test_publication_refuses_an_unpublished_item(
    first_item: ServiceItem, second_item: ServiceItem, administrator: User
) -> None:
    draft = services.bundle_create(by=administrator, code="xx", name="x", items=[first_item, second_item])
    ServiceItem.objects.filter(pk=second_item.pk).update(current_version=None)
    with pytest.raises(Conflict) as excinfo:
        services.bundle_publish(bundle=draft, by=administrator)
    assert excinfo.value.code == "bundle_items_unavailable"
    assert "出生登记" in str(excinfo.value.message)


def test_definition_and_publication_are_audited(bundle: Bundle) -> None:
    actions = list(
        AuditEvent.objects.filter(subject_id=str(bundle.pk)).order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["bundle.created", "bundle.published"]


# --- applying --------------------------------------------------------------------------------


def test_one_application_fans_out_into_one_case_per_item(
    bundle: Bundle, citizen: User, first_item: ServiceItem, second_item: ServiceItem
) -> None:
    application = _apply(bundle, citizen, idempotency_key="k" * 20)
    cases = [bc.case for bc in application.bundle_cases.order_by("order")]
    assert [c.item_id for c in cases] == [first_item.pk, second_item.pk]
    assert all(c.status == CaseStatus.SUBMITTED and c.channel == Channel.BUNDLE for c in cases)
    assert all(c.number for c in cases)
    # Each case has the answers to its own questions only.
    assert cases[0].form_data["child_name"] == "王小宝"
    assert "child_name" not in cases[1].form_data
    assert cases[1].form_data["contact_phone"] == "13905640102"
    # The ID card uploaded once is attached to both cases, each with its own stored copy.
    id_cards = CaseMaterial.objects.filter(case__in=cases, material__name="居民身份证")
    assert id_cards.count() == 2
    assert len({row.sha256 for row in id_cards}) == 1
    assert len({row.file.name for row in id_cards}) == 2
    for row in id_cards:
        with row.file.open("rb") as handle:
            assert handle.read().startswith(b"%PDF-")
    event = AuditEvent.objects.get(action="bundle.applied")
    assert event.data["cases"] == [c.number for c in cases]


def test_bad_input_is_refused_at_once_listing_everything(
    bundle: Bundle, citizen: User, second_item: ServiceItem
) -> None:
    ServiceItem.objects.filter(pk=second_item.pk).update(current_version=None)
    keys = _keys(bundle)
    answers = {**ANSWERS, "contact_phone": "12", "child_name": ""}
    with pytest.raises(ValidationFailed) as excinfo:
        _apply(bundle, citizen, form_data=answers, files={keys["申请表"]: pdf_upload()})
    error = excinfo.value
    assert error.code == "bundle_application_invalid"
    assert {"contact_phone", "child_name", f"material_{keys['居民身份证']}"} <= set(error.fields)
    message = str(error.message)
    assert "出生登记" in message
    assert "居民身份证" in message
    assert len(error.extra["problems"]) == 3
    assert not Case.objects.exists()
    assert not BundleApplication.objects.exists()


def test_unknown_answers_and_materials_are_refused(bundle: Bundle, citizen: User) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _apply(
            bundle,
            citizen,
            form_data={**ANSWERS, "salary": "1"},
            files={**_files(bundle), "nope": pdf_upload()},
        )
    assert {"salary", "material_nope"} <= set(excinfo.value.fields)
    assert not Case.objects.exists()


def test_when_one_case_is_refused_no_case_is_created(
    bundle: Bundle, citizen: User, second_item: ServiceItem
) -> None:
    """The second item alone asks for a material whose file the case engine refuses (not a PDF)."""
    version = second_item.current_version
    assert version is not None
    version.materials.create(name="出生地证明", required=True, source="applicant", sort_order=5)
    keys = _keys(bundle)
    before = _stored_files()
    not_pdf = SimpleUploadedFile("证明.pdf", b"plain text, not a PDF", content_type="application/pdf")
    with pytest.raises(ValidationFailed) as excinfo:
        _apply(bundle, citizen, files={**_files(bundle), keys["出生地证明"]: not_pdf})
    assert excinfo.value.code == "upload_type_not_allowed"
    assert not Case.objects.exists()
    assert not BundleApplication.objects.exists()
    assert _stored_files() == before  # the first case's stored files were deleted again


def test_the_same_request_twice_gives_the_one_application(bundle: Bundle, citizen: User) -> None:
    first = _apply(bundle, citizen, idempotency_key="same-key-1234567890")
    again = _apply(bundle, citizen, idempotency_key="same-key-1234567890")
    assert again.pk == first.pk
    assert Case.objects.count() == 2
    assert AuditEvent.objects.filter(action="bundle.applied").count() == 1


def test_a_key_reused_for_another_bundle_is_refused(
    bundle: Bundle, citizen: User, first_item: ServiceItem, second_item: ServiceItem, administrator: User
) -> None:
    _apply(bundle, citizen, idempotency_key="same-key-1234567890")
    other = services.bundle_create(
        by=administrator, code="other", name="另一件事", items=[second_item, first_item]
    )
    services.bundle_publish(bundle=other, by=administrator)
    with pytest.raises(Conflict) as excinfo:
        _apply(other, citizen, idempotency_key="same-key-1234567890")
    assert excinfo.value.code == "idempotency_key_reused"


def test_an_unpublished_bundle_takes_no_applications(
    bundle: Bundle, citizen: User, administrator: User
) -> None:
    services.bundle_withdraw(bundle=bundle, by=administrator)
    with pytest.raises(Conflict) as excinfo:
        _apply(bundle, citizen)
    assert excinfo.value.code == "bundle_not_published"


def test_staff_cannot_apply(bundle: Bundle, administrator: User) -> None:
    with pytest.raises(PermissionDenied):
        _apply(bundle, administrator)


def test_an_item_for_enterprises_only_is_listed(bundle: Bundle, enterprise: User) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _apply(bundle, enterprise)
    assert len(excinfo.value.extra["problems"]) == 2
    assert not Case.objects.exists()


# --- reading ---------------------------------------------------------------------------------


def test_progress_combines_the_cases(bundle: Bundle, citizen: User) -> None:
    application = _apply(bundle, citizen)
    progress = selectors.progress(application)
    assert progress.overall == OverallStatus.IN_PROGRESS
    assert [c.department_name for c in progress.cases] == ["六安市卫生健康委员会", "六安市公安局"]
    assert progress.due_at is None  # not accepted yet
    first, second = (bc.case for bc in application.bundle_cases.order_by("order"))
    Case.objects.filter(pk=first.pk).update(status=CaseStatus.COMPLETED)
    assert selectors.progress(application).overall == OverallStatus.IN_PROGRESS
    Case.objects.filter(pk=second.pk).update(status=CaseStatus.COMPLETED)
    done = selectors.progress(application)
    assert done.overall == OverallStatus.COMPLETED
    assert done.completed == 2
    Case.objects.filter(pk=second.pk).update(status=CaseStatus.SUBMITTED)
    case_services.case_withdraw(case=second, by=citizen, reason="不办了")
    assert selectors.progress(application).overall == OverallStatus.SOME_REFUSED


def test_another_users_application_is_not_found(bundle: Bundle, citizen: User) -> None:
    application = _apply(bundle, citizen)
    assert selectors.application_for_applicant(citizen, application_id=application.pk) == application
    stranger: Any = CitizenFactory()
    with pytest.raises(NotFound):
        selectors.application_for_applicant(stranger, application_id=application.pk)
    assert not selectors.applications_of(stranger).exists()


def test_search_finds_a_bundle_by_its_name_and_its_items(bundle: Bundle, administrator: User) -> None:
    assert selectors.search_bundles("新生儿出生") == [bundle]
    assert selectors.search_bundles("出生登记") == [bundle]
    assert selectors.search_bundles("结婚") == []
    services.bundle_withdraw(bundle=bundle, by=administrator)
    assert selectors.search_bundles("新生儿出生") == []


def test_the_guide_sums_up_time_and_visits(bundle: Bundle) -> None:
    guide = selectors.bundle_guide(bundle)
    assert guide.total_promised_days == 5
    assert guide.visits_saved == 1
    assert [d.name for d in guide.departments] == ["六安市卫生健康委员会", "六安市公安局"]

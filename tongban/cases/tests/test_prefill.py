"""Materials the applicant no longer brings (免提交): licences fetched with consent, with provenance."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tongban.cases import prefill, selectors, services
from tongban.cases.choices import CaseStatus, MaterialOrigin
from tongban.cases.models import Case, CaseConsent
from tongban.cases.tests.factories import FORM_ANSWERS, material_ids, pdf_upload, published_item, stage
from tongban.catalog.models import Material, ServiceItem
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, StaffFactory, make_credit_code
from tongban.licences import selectors as licence_selectors
from tongban.licences import services as licence_services
from tongban.licences.choices import UseKind, Validity
from tongban.licences.models import Licence, LicenceAuthorisation, LicenceType, LicenceUse

pytestmark = pytest.mark.django_db

HOUSEHOLD = "11100000110068567G002"


@pytest.fixture
def issuer(department: Department) -> Department:
    if not department.credit_code:
        department.credit_code = make_credit_code("341500")
        department.save(update_fields=["credit_code"])
    licence_services.signing_key_rotate(department=department, by=None)
    return department


@pytest.fixture
def household_type(issuer: Department) -> LicenceType:
    return LicenceType.objects.create(
        code=HOUSEHOLD,
        name="居民户口簿",
        issuing_department=issuer,
        holder_kind="person",
        fields=[
            {"key": "name", "label": "姓名", "required": True, "from": "holder.name"},
            {"key": "address", "label": "住址", "required": False, "from": ""},
        ],
        validity=Validity.LONG_TERM,
    )


def _issue(type_: LicenceType, holder: User) -> Licence:
    new = licence_services.prepare(
        type_=type_,
        holder_id=holder.resident_id or "",
        holder_name=holder.name,
        data={"name": holder.name, "address": "六安市金安区皖西大道1号"},
    )
    licence_services.issue_prepared_batch([new], type_=type_, batch=None, origin="imported")
    return Licence.objects.get(holder_id=holder.resident_id, type=type_)


@pytest.fixture
def item(department: Department, household_type: LicenceType) -> ServiceItem:
    item = published_item(department)
    # The factory's 户口簿 is optional; here it is required, so it must be fetched or uploaded.
    Material.objects.filter(version=item.current_version, name="户口簿").update(required=True)
    return item


@pytest.fixture
def licence(household_type: LicenceType, citizen: User) -> Licence:
    return _issue(household_type, citizen)


def _uploads(item: ServiceItem) -> dict[int, Any]:
    ids = material_ids(item)
    return {ids["居民身份证"]: pdf_upload("身份证.pdf"), ids["申请表"]: pdf_upload("申请表.pdf")}


def _apply(item: ServiceItem, applicant: User, *, consent: bool, by: User | None = None, **kw: Any) -> Case:
    return services.case_apply(
        item=item,
        applicant=applicant,
        form_data=FORM_ANSWERS,
        files=_uploads(item),
        by=by or applicant,
        prefill_consent=consent,
        **kw,
    )


def test_the_applicant_sees_what_would_be_fetched_before_consenting(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    assert item.current_version is not None
    offers = prefill.offers(item.current_version, citizen, item.department)
    assert [(o.material.name, o.available, o.licence) for o in offers] == [("户口簿", True, licence)]
    assert offers[0].fields == ["姓名", "住址"]
    other: Any = CitizenFactory()
    (missing,) = prefill.offers(item.current_version, other, item.department)
    assert not missing.available
    assert "居民户口簿" in missing.reason


def test_with_consent_the_licence_is_attached_with_its_provenance_and_only_the_rest_is_uploaded(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    case = _apply(item, citizen, consent=True)
    assert case.status == CaseStatus.SUBMITTED
    row = case.materials.get(origin=MaterialOrigin.E_LICENCE)
    assert row.provenance["identifier"] == licence.identifier
    assert row.provenance["signature_valid"] is True
    assert row.provenance["data"]["name"] == citizen.name
    assert row.provider == licence.issuer.code
    auth = LicenceAuthorisation.objects.get(licence=licence)
    assert (auth.case_id, auth.case_number, auth.department_id) == (case.pk, case.number, case.department_id)
    use = LicenceUse.objects.get(licence=licence)
    assert (use.kind, use.case_number, use.department_id) == (
        UseKind.CASE_PREFILL,
        case.number,
        case.department_id,
    )
    consent = CaseConsent.objects.get(case=case)
    assert consent.materials[0]["fields"] == ["姓名", "住址"]
    assert AuditEvent.objects.filter(action="case.prefilled", subject_id=str(case.pk)).exists()


def test_without_consent_the_licence_material_must_be_uploaded(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _apply(item, citizen, consent=False)
    assert caught.value.code == "materials_missing"
    assert not Case.objects.exists()
    assert not LicenceAuthorisation.objects.exists()


def test_a_revoked_or_expired_licence_is_not_used(
    item: ServiceItem, citizen: User, licence: Licence, issuer: Department
) -> None:
    admin: Any = StaffFactory(department=issuer, roles=["approver"])
    licence_services.licence_revoke(licence=licence, reason="户口迁出", by=admin)
    assert item.current_version is not None
    (offer,) = prefill.offers(item.current_version, citizen, item.department)
    assert not offer.available
    with pytest.raises(ValidationFailed):
        _apply(item, citizen, consent=True)
    with pytest.raises(Conflict) as caught:
        licence_services.authorisation_for_case(
            licence=licence, case=Case(pk=1, department=item.department), purpose="办理", fields=[],
            by=citizen, holder=citizen,
        )  # fmt: skip
    assert caught.value.code == "licence_revoked"


def test_someone_elses_licence_is_refused_and_audited(item: ServiceItem, licence: Licence) -> None:
    other: Any = CitizenFactory()
    with pytest.raises(PermissionDenied) as caught:
        licence_services.authorisation_for_case(
            licence=licence, case=Case(pk=1, department=item.department), purpose="办理", fields=[],
            by=other, holder=other,
        )  # fmt: skip
    assert caught.value.code == "licence_not_yours"
    assert AuditEvent.objects.filter(action="licence.refused", outcome="denied").exists()


def test_approver_sees_provenance_and_that_consent_was_withdrawn(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    case = _apply(item, citizen, consent=True)
    (view,) = prefill.provenance_views(case)[Material.objects.get(version=case.version, name="户口簿").pk]
    assert view.ok
    assert view.identifier == licence.identifier
    auth = LicenceAuthorisation.objects.get(licence=licence)
    licence_services.authorisation_withdraw(authorisation=auth, by=citizen)
    (view,) = next(iter(prefill.provenance_views(case).values()))
    assert not view.ok
    assert view.consent_withdrawn
    staff: Any = StaffFactory(department=case.department, roles=["approver"])
    with pytest.raises(PermissionDenied) as caught:
        licence_services.licence_read_for_case(
            licence=licence, case_id=case.pk, case_number=case.number or "", by=staff
        )
    assert caught.value.code == "consent_withdrawn"


def test_a_licence_altered_after_it_was_attached_shows_as_forged(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    case = _apply(item, citizen, consent=True)
    Licence.objects.filter(pk=licence.pk).update(data={**licence.data, "address": "别处"})
    (view,) = next(iter(prefill.provenance_views(case).values()))
    assert not view.ok
    assert licence_selectors.verify_identifier(licence.identifier).verdict == "forged"


def test_draft_consent_fetches_and_removing_it_ends_the_authorisation(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    draft = services.case_draft_save(item=item, applicant=citizen, form_data=FORM_ANSWERS, by=citizen)
    fetched = prefill.prefill_draft(case=draft, by=citizen)
    assert [f.ok for f in fetched] == [True]
    row = draft.materials.get(origin=MaterialOrigin.E_LICENCE)
    # Consenting again replaces, never duplicates.
    prefill.prefill_draft(case=draft, by=citizen)
    assert draft.materials.filter(origin=MaterialOrigin.E_LICENCE).count() == 1
    row = draft.materials.get(origin=MaterialOrigin.E_LICENCE)
    services.case_material_remove(case=draft, case_material_id=row.pk, by=citizen)
    latest = LicenceAuthorisation.objects.filter(case_id=draft.pk).order_by("-pk").first()
    assert latest is not None
    assert latest.revoked_at is not None
    other: Any = CitizenFactory()
    with pytest.raises(NotFound) as caught:
        prefill.prefill_draft(case=draft, by=other)
    assert caught.value.code == "case_not_found"


def test_the_window_clerk_gets_the_same_prefill(
    item: ServiceItem, citizen: User, licence: Licence, city: Department
) -> None:
    clerk: Any = StaffFactory(department=item.department, roles=["window_clerk"])
    case = _apply(item, citizen, consent=True, by=clerk, channel="window")
    assert case.materials.filter(origin=MaterialOrigin.E_LICENCE).count() == 1
    assert LicenceUse.objects.get(licence=licence).actor == clerk


def test_approval_issues_the_licence_the_item_yields_and_needs_a_signing_key(
    department: Department, household_type: LicenceType, citizen: User, city: Department
) -> None:
    approver: Any = StaffFactory(department=department, roles=["approver"])
    clerk: Any = StaffFactory(department=department, roles=["window_clerk"])
    item = published_item(department, process=[stage("审查", 1, department)])
    household_type.items.add(item)
    case = services.case_accept(case=_apply(item, citizen, consent=False), by=clerk)
    task = case.tasks.get()
    services.task_decide(task=task, outcome="approve", opinion="同意", by=approver)
    issued = Licence.objects.get(case_id=case.pk)
    assert issued.holder_id == citizen.resident_id
    assert issued.case_number == case.number
    assert licence_selectors.verify_identifier(issued.identifier).verdict == "valid"
    assert case.events.filter(kind="licence_issued").exists()
    # A department with no signing key cannot approve such an item: the whole decision is refused.
    other = published_item(department, process=[stage("审查", 1, department)])
    household_type.items.add(other)
    second = services.case_accept(case=_apply(other, citizen, consent=False), by=clerk)
    department.signing_keys.update(status="retired")
    with pytest.raises(Conflict) as caught:
        services.task_decide(task=second.tasks.get(), outcome="approve", opinion="同意", by=approver)
    assert caught.value.code == "signing_key_missing"
    second.refresh_from_db()
    assert second.status == CaseStatus.IN_REVIEW
    assert not Licence.objects.filter(case_id=second.pk).exists()


def test_the_share_of_materials_fetched_and_the_visits_saved(
    item: ServiceItem, citizen: User, licence: Licence, city: Department
) -> None:
    _apply(item, citizen, consent=True)
    other: Any = CitizenFactory()
    ids = material_ids(item)
    services.case_apply(
        item=item, applicant=other, form_data=FORM_ANSWERS,
        files={**_uploads(item), ids["户口簿"]: pdf_upload("户口簿.pdf")}, by=other,
    )  # fmt: skip
    supervisor: Any = StaffFactory(department=city, roles=["supervisor"])
    overall, items = selectors.exemption_stats(supervisor)
    assert (overall.cases, overall.materials, overall.fetched, overall.visits_saved) == (2, 6, 1, 1)
    assert items[0].share == round(1 / 6, 4)
    today = timezone.localdate()
    overall, _ = selectors.exemption_stats(
        supervisor, date_from=today.replace(year=today.year - 1), date_to=today
    )
    assert overall.cases == 2
    nobody_user: Any = CitizenFactory()
    nobody, _ = selectors.exemption_stats(nobody_user)
    assert nobody.cases == 0


# --- shared data through the exchange --------------------------------------------------------


@pytest.fixture
def population_item(department: Department, settings: Any) -> tuple[ServiceItem, Any]:
    from django.core.cache import cache

    from tongban.exchange import gateway
    from tongban.exchange.tests import factories as xf

    cache.clear()
    gateway.forget_cached_items()
    population = xf.resource(xf.department("x-gaj", "六安市公安局户政"))
    item = published_item(department)
    assert item.current_version is not None
    Material.objects.create(
        version=item.current_version, name="户籍信息", source="shared_data", source_code=population.code,
        required=True, sort_order=9,
    )  # fmt: skip
    return item, population


def test_shared_data_is_fetched_through_the_exchange_under_the_departments_grant(
    population_item: tuple[ServiceItem, Any], department: Department
) -> None:
    from tongban.exchange.models import CallRecord
    from tongban.exchange.tests import factories as xf

    item, population = population_item
    person = xf.person(name="赵敏", gender="2")
    applicant: Any = CitizenFactory(resident_id=person.resident_id, name="赵敏")
    assert item.current_version is not None
    (offer,) = [o for o in prefill.offers(item.current_version, applicant, department) if not o.is_licence]
    assert not offer.available  # no grant yet: the applicant is told, and uploads it
    with pytest.raises(ValidationFailed):
        _apply(item, applicant, consent=True)
    xf.grant(department, population, items=("name", "gender", "household_address"))
    (offer,) = [o for o in prefill.offers(item.current_version, applicant, department) if not o.is_licence]
    assert offer.available
    assert offer.item_keys == ["name", "gender", "household_address"]
    case = _apply(item, applicant, consent=True)
    row = case.materials.get(origin=MaterialOrigin.SHARED_DATA)
    assert row.provenance["record"]["name"] == "赵敏"
    call = CallRecord.objects.get(call_id=row.provenance["call_id"])
    assert call.consumer_department_id == department.pk
    assert call.client_id == "tongban-prefill"
    (view,) = prefill.provenance_views(case)[row.material_id]
    assert view.ok
    assert ("姓名", "赵敏") in view.fields
    # Someone the population base does not know: the call is recorded, the material must be uploaded.
    stranger: Any = CitizenFactory()
    with pytest.raises(ValidationFailed):
        _apply(item, stranger, consent=True)
    assert CallRecord.objects.filter(outcome="not_found").count() == 1


# --- the filing's guarantees, with every licence authorised in one call ----------------------


def test_a_prefilled_application_audits_each_licence_then_the_attachment_and_the_submission(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    from tongban.core import audit

    case = _apply(item, citizen, consent=True)
    auth = LicenceAuthorisation.objects.get(licence=licence, case_id=case.pk)
    row = case.materials.get(origin=MaterialOrigin.E_LICENCE)
    assert row.provenance["authorisation_id"] == auth.pk
    assert LicenceUse.objects.get(authorisation=auth).case_number == case.number  # numbered when written
    trail = list(AuditEvent.objects.order_by("-seq")[:3])[::-1]
    assert [(e.action, e.subject_id) for e in trail] == [
        ("licence.authorised", str(licence.pk)),
        ("case.prefilled", str(case.pk)),
        ("case.submitted", str(case.pk)),
    ]
    assert trail[0].data["authorisation"] == auth.pk
    assert trail[1].data["licences"] == [licence.identifier]
    assert audit.verify().ok


def test_a_licence_revoked_while_the_application_is_fetched_files_nothing(
    item: ServiceItem, citizen: User, licence: Licence, issuer: Department, monkeypatch: Any
) -> None:
    approver: Any = StaffFactory(department=issuer, roles=["approver"])
    gather = prefill.gather

    def gather_then_revoked(*args: Any, **kwargs: Any) -> list[prefill.Fetched]:
        fetched = gather(*args, **kwargs)  # the licence checked and valid ...
        licence_services.licence_revoke(licence=licence, reason="户口迁出", by=approver)  # ... then revoked
        return fetched

    monkeypatch.setattr(prefill, "gather", gather_then_revoked)
    with pytest.raises(Conflict) as caught:
        _apply(item, citizen, consent=True, idempotency_key="revoked-meanwhile")
    assert caught.value.code == "licence_revoked"
    assert not Case.objects.exists()
    assert not CaseConsent.objects.exists()
    assert not LicenceAuthorisation.objects.exists()
    assert not LicenceUse.objects.filter(kind=UseKind.CASE_PREFILL).exists()
    assert not AuditEvent.objects.filter(action__in=["case.prefilled", "case.submitted"]).exists()


def test_the_same_key_again_answers_the_case_without_fetching_or_authorising_again(
    item: ServiceItem, citizen: User, licence: Licence
) -> None:
    first = _apply(item, citizen, consent=True, idempotency_key="once")
    again = _apply(item, citizen, consent=True, idempotency_key="once")
    assert again.pk == first.pk
    assert LicenceAuthorisation.objects.filter(licence=licence).count() == 1
    assert LicenceUse.objects.filter(licence=licence).count() == 1
    assert CaseConsent.objects.filter(case=first).count() == 1
    other = published_item(item.department)
    with pytest.raises(Conflict) as caught:
        _apply(other, citizen, consent=True, idempotency_key="once")
    assert caught.value.code == "idempotency_key_reused"
    assert LicenceUse.objects.filter(licence=licence).count() == 1

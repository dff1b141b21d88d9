"""The application page's 免提交 step: what can be fetched, consent, the fetched data, then submit;
the approver's view of provenance; the window clerk's pre-fill."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.cases.choices import CaseStatus, MaterialOrigin
from tongban.cases.models import Case
from tongban.cases.tests.factories import FORM_ANSWERS, material_ids, pdf_upload, published_item
from tongban.catalog.models import Material, ServiceItem
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, StaffFactory, make_credit_code
from tongban.licences import services as licence_services
from tongban.licences.choices import Validity
from tongban.licences.models import Licence, LicenceAuthorisation, LicenceType

pytestmark = pytest.mark.django_db

HOUSEHOLD = "11100000110068567G002"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STAFF_2FA = "optional"


@pytest.fixture
def item(department: Department) -> ServiceItem:
    if not department.credit_code:
        department.credit_code = make_credit_code("341500")
        department.save(update_fields=["credit_code"])
    licence_services.signing_key_rotate(department=department, by=None)
    type_ = LicenceType.objects.create(
        code=HOUSEHOLD,
        name="居民户口簿",
        issuing_department=department,
        holder_kind="person",
        fields=[{"key": "name", "label": "姓名", "required": True}, {"key": "address", "label": "住址"}],
        validity=Validity.LONG_TERM,
    )
    item = published_item(department)
    Material.objects.filter(version=item.current_version, name="户口簿").update(required=True)
    item.licence_type = type_  # type: ignore[attr-defined]
    return item


@pytest.fixture
def licence(item: ServiceItem, citizen: User) -> Licence:
    new = licence_services.prepare(
        type_=item.licence_type,  # type: ignore[attr-defined]
        holder_id=citizen.resident_id or "",
        holder_name=citizen.name,
        data={"name": citizen.name, "address": "六安市裕安区鼓楼街道1号"},
    )
    licence_services.issue_prepared_batch([new], type_=new.type, batch=None, origin="imported")
    return Licence.objects.get(holder_id=citizen.resident_id)


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _post(item: ServiceItem, action: str, **extra: Any) -> dict[str, Any]:
    ids = material_ids(item)
    return {
        **FORM_ANSWERS,
        "action": action,
        "idempotency_key": "p" * 24,
        f"material_{ids['居民身份证']}": pdf_upload("身份证.pdf"),
        f"material_{ids['申请表']}": pdf_upload("申请表.pdf"),
        **extra,
    }


def test_consent_fetches_the_licence_and_the_application_needs_nothing_else(
    client: Client, item: ServiceItem, citizen: User, licence: Licence
) -> None:
    client.force_login(citizen)
    url = reverse("hall:apply", args=[item.implementation_code])
    page = _page(client.get(url))
    assert 'name="prefill_consent"' in page
    assert "姓名、住址" in page  # the fields that will be used, before consent
    # Without the tick nothing is fetched and nothing is saved.
    refused = client.post(url, _post(item, "prefill"))
    assert refused.status_code == 400
    assert not Case.objects.exists()
    response = client.post(url, _post(item, "prefill", prefill_consent="1"), follow=True)
    case = Case.objects.get()
    assert case.status == CaseStatus.DRAFT
    page = _page(response)
    assert licence.identifier in page
    assert "六安市裕安区鼓楼街道1号" in page
    # Submit: the uploads are kept from the draft, the licence is attached, nothing else is asked.
    edit = reverse("hall:case_edit", args=[case.pk])
    response = client.post(
        edit, {**FORM_ANSWERS, "action": "submit", "idempotency_key": "q" * 24}, follow=True
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED, _page(response)[:3000]
    assert case.materials.filter(origin=MaterialOrigin.E_LICENCE).count() == 1
    assert LicenceAuthorisation.objects.get(licence=licence).case_number == case.number


def test_the_approver_sees_where_the_licence_came_from_and_a_withdrawn_consent(
    client: Client, item: ServiceItem, citizen: User, licence: Licence
) -> None:
    from tongban.cases import services

    ids = material_ids(item)
    case = services.case_apply(
        item=item, applicant=citizen, form_data=FORM_ANSWERS,
        files={ids["居民身份证"]: pdf_upload(), ids["申请表"]: pdf_upload()},
        by=citizen, prefill_consent=True,
    )  # fmt: skip
    approver: Any = StaffFactory(department=item.department, roles=["approver"])
    client.force_login(approver)
    url = reverse("casework:case_detail", args=[case.pk])
    response = client.get(url)
    assert response.status_code == 200, response
    page = _page(response)
    assert licence.identifier in page
    assert "六安市裕安区鼓楼街道1号" in page
    auth = LicenceAuthorisation.objects.get(licence=licence)
    licence_services.authorisation_withdraw(authorisation=auth, by=citizen)
    page = _page(client.get(url))
    assert "六安市裕安区鼓楼街道1号" not in page  # the data is no longer shown
    assert licence.identifier in page
    # Someone else's case is refused.
    other: Any = CitizenFactory()
    client.force_login(other)
    assert client.get(reverse("hall:case_detail", args=[case.pk])).status_code == 404

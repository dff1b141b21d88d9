"""The holder's wallet: pages and API, downloads, third-party authorisations, uses; others refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, StaffFactory, make_credit_code
from tongban.licences import rendering, selectors, services, signing
from tongban.licences.choices import UseKind, Validity
from tongban.licences.models import Licence, LicenceAuthorisation, LicenceType, LicenceUse

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence(department: Department, citizen: User) -> Licence:
    department.credit_code = make_credit_code("341500")
    department.save(update_fields=["credit_code"])
    services.signing_key_rotate(department=department, by=None)
    type_ = LicenceType.objects.create(
        code="11100000110068567G001",
        name="居民身份证",
        issuing_department=department,
        holder_kind="person",
        fields=[{"key": "name", "label": "姓名", "required": True}, {"key": "address", "label": "住址"}],
        validity=Validity.YEARS,
        validity_years=20,
    )
    new = services.prepare(
        type_=type_,
        holder_id=citizen.resident_id or "",
        holder_name=citizen.name,
        data={"name": citizen.name, "address": "六安市金安区梅山南路1号"},
    )
    services.issue_prepared_batch([new], type_=type_, batch=None, origin="imported")
    return Licence.objects.get(holder_id=citizen.resident_id)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_wallet_lists_and_shows_the_licence_with_its_qr_code(licence: Licence, citizen: User) -> None:
    client = _client(citizen)
    page = client.get(reverse("licences_wallet:list")).content.decode()
    assert "居民身份证" in page
    page = client.get(reverse("licences_wallet:detail", args=[licence.pk])).content.decode()
    assert licence.identifier in page
    assert "六安市金安区梅山南路1号" in page
    assert selectors.verification_url(licence.identifier) in page
    assert "<svg" in page


def test_downloads_are_recorded_as_uses_and_the_data_file_verifies(licence: Licence, citizen: User) -> None:
    client = _client(citizen)
    pdf = client.get(reverse("licences_wallet:pdf", args=[licence.pk]))
    assert pdf.content.startswith(b"%PDF")
    data = json.loads(client.get(reverse("licences_wallet:json", args=[licence.pk])).content)
    assert signing.verify(licence.key.public_key, signing.canonical(data["licence"]), data["signature"])
    assert selectors.verify_document(data["licence"], data["signature"]).verdict == "valid"
    assert LicenceUse.objects.filter(licence=licence, kind=UseKind.DOWNLOAD).count() == 2
    assert AuditEvent.objects.filter(action="licence.downloaded").count() == 2


def test_the_watermark_names_the_issuer_and_the_end_date(licence: Licence) -> None:
    text = rendering.watermark_text(licence)
    assert licence.issuer.name in text
    assert licence.valid_until is not None
    assert licence.valid_until.isoformat() in text
    assert rendering.qr(licence).designator  # a QR code of the verification URL


def test_third_party_authorisation_shows_the_code_once_and_can_be_withdrawn(
    licence: Licence, citizen: User
) -> None:
    client = _client(citizen)
    url = reverse("licences_wallet:authorise", args=[licence.pk])
    bad = client.post(url, {"grantee_name": "中国银行", "purpose": "开户核验", "days": 91})
    assert bad.status_code == 400
    assert not LicenceAuthorisation.objects.exists()
    page = client.post(url, {"grantee_name": "中国银行", "purpose": "开户核验", "days": 7}).content.decode()
    auth = LicenceAuthorisation.objects.get()
    assert auth.code_hash
    assert auth.code_hash not in page
    withdraw = reverse("licences_wallet:withdraw", args=[licence.pk, auth.pk])
    client.post(withdraw)
    auth.refresh_from_db()
    assert auth.revoked_at is not None


def test_someone_elses_licence_is_refused_everywhere(licence: Licence) -> None:
    other = _client(CitizenFactory())
    for name in ("detail", "pdf", "json"):
        assert other.get(reverse(f"licences_wallet:{name}", args=[licence.pk])).status_code == 404
    assert (
        other.post(
            reverse("licences_wallet:authorise", args=[licence.pk]), {"grantee_name": "x" * 3}
        ).status_code
        == 404
    )
    assert other.get(f"/api/v1/me/licences/{licence.pk}").json()["error"]["code"] == "licence_not_found"
    assert not LicenceUse.objects.exists()


def test_staff_have_no_wallet(licence: Licence, department: Department, settings: Any) -> None:
    settings.STAFF_2FA = "optional"
    staff = _client(StaffFactory(department=department, roles=["approver"]))
    assert staff.get(reverse("licences_wallet:list")).status_code == 403
    assert staff.get("/api/v1/me/licences").status_code == 403


def test_the_api_lists_authorises_and_withdraws(licence: Licence, citizen: User) -> None:
    client = _client(citizen)
    (row,) = client.get("/api/v1/me/licences").json()
    assert row["identifier"] == licence.identifier
    assert row["status"] == "valid"
    bad = client.post(
        f"/api/v1/me/licences/{licence.pk}/authorisations",
        {"grantee_name": "", "purpose": "开户", "days": 7},
        content_type="application/json",
    )
    assert bad.json()["error"]["code"] == "grantee_required"
    made = client.post(
        f"/api/v1/me/licences/{licence.pk}/authorisations",
        {"grantee_name": "中国银行", "purpose": "开户核验", "days": 7},
        content_type="application/json",
    )
    assert made.status_code == 201
    assert len(made.json()["code"]) == 10
    auth_id = made.json()["id"]
    assert client.delete(f"/api/v1/me/licence-authorisations/{auth_id}").status_code == 200
    again = client.delete(f"/api/v1/me/licence-authorisations/{auth_id}")
    assert again.json()["error"]["code"] == "authorisation_withdrawn"
    other = _client(CitizenFactory())
    assert other.delete(f"/api/v1/me/licence-authorisations/{auth_id}").status_code == 404
    document: dict[str, Any] = client.get(f"/api/v1/me/licences/{licence.pk}/document").json()
    assert document["licence"]["identifier"] == licence.identifier

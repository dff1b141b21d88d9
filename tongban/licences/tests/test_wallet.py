"""The holder's wallet (一人一档 / 一企一档), pages and API: the list by state, one licence in full
with its QR code, downloads recorded as uses, third-party authorisations shown once and withdrawn,
the record of uses; someone else's licence refused on every endpoint, staff refused, bad input
refused with its code and nothing written."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, EnterpriseFactory, StaffFactory
from tongban.licences import selectors, services, signing
from tongban.licences.choices import HolderKind, LicenceOrigin, UseKind, Validity
from tongban.licences.models import Licence, LicenceAuthorisation, LicenceType, LicenceUse
from tongban.licences.tests.staff_world import (
    ENTERPRISE_FIELDS,
    department,
    fake_case,
    issue,
    licence_type,
    person_data,
    staff,
)
from tongban.licences.views_wallet import NEW_CODE_SESSION_KEY

pytestmark = pytest.mark.django_db


def zh(msgid: str, context: str | None = None) -> str:
    with translation.override("zh-hans"):
        return pgettext(context, msgid) if context else gettext(msgid)


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@dataclass
class Wallet:
    mzj: Department
    approver: User
    marriage: LicenceType
    dated: LicenceType
    holder: User
    licence: Licence  # the holder's valid marriage certificate
    other: User  # another citizen, with a licence of their own
    others: Licence


@pytest.fixture
def w(db: None) -> Wallet:
    mzj = department("wl-mzj", "六安市民政局")
    services.signing_key_rotate(department=mzj, by=None)
    approver = staff(mzj, "approver", name="民政审批")
    marriage = licence_type(mzj)
    dated = licence_type(mzj, name="收养登记证", validity=Validity.GIVEN, serial=2)
    holder: Any = CitizenFactory(name="张三")
    other: Any = CitizenFactory(name="李四")
    mine = issue(marriage, approver, holder_id=holder.resident_id, name="张三")
    theirs = issue(marriage, approver, holder_id=other.resident_id, name="李四")
    return Wallet(mzj, approver, marriage, dated, holder, mine, other, theirs)


def ended(w: Wallet, holder: User, *, until: dt.date) -> Licence:
    """A licence of the holder's whose end date has passed (the nightly job has not marked it)."""
    new = services.prepare(
        type_=w.dated,
        holder_id=holder.resident_id or "",
        holder_name=holder.name,
        data=person_data(holder.name, holder.resident_id or ""),
        issued_on=until - dt.timedelta(days=300),
        valid_until=until,
    )
    services.issue_prepared_batch([new], type_=w.dated, batch=None, origin=LicenceOrigin.IMPORTED)
    return Licence.objects.get(type=w.dated, holder_id=holder.resident_id)


def grant(w: Wallet, **kw: Any) -> tuple[LicenceAuthorisation, str]:
    args = {"grantee_name": "中国银行", "purpose": "开户核验", "days": 7, **kw}
    return services.authorisation_for_third_party(licence=w.licence, by=w.holder, **args)


# --- the list -------------------------------------------------------------------------------------


def test_the_list_groups_the_holders_licences_by_state(w: Wallet) -> None:
    revoked = issue(w.marriage, w.approver, holder_id=w.holder.resident_id, name="张三")
    services.licence_revoke(licence=revoked, reason="登记错误", by=w.approver)
    expired = ended(w, w.holder, until=timezone.localdate() - dt.timedelta(days=1))
    response = client_for(w.holder).get(reverse("licences_wallet:list"))
    assert response.status_code == 200
    sections = {
        state: [row["licence"].pk for row in rows] for state, _label, rows in response.context["sections"]
    }
    assert sections == {"valid": [w.licence.pk], "revoked": [revoked.pk], "expired": [expired.pk]}
    page = text(response)
    assert zh("One file per person (一人一档)") in page
    for word in ("有效", "已撤销", "已过期"):
        assert word in page
    assert "长期" in page  # a long-term licence's validity
    assert w.others.holder_name not in page  # nothing of anyone else's


def test_an_enterprise_sees_its_own_file(w: Wallet) -> None:
    scj = department("wl-scj", "六安市市场监督管理局")
    services.signing_key_rotate(department=scj, by=None)
    food = licence_type(
        scj,
        name="食品经营许可证",
        holder=HolderKind.ENTERPRISE,
        fields=ENTERPRISE_FIELDS,
        validity=Validity.GIVEN,
    )
    company: Any = EnterpriseFactory(name="六安市某某茶业有限公司")
    until = timezone.localdate() + dt.timedelta(days=365)
    licence = services.licence_issue(
        type_=food,
        holder_id=company.credit_code,
        holder_name=company.name,
        data={"name": company.name, "credit_code": company.credit_code, "address": "金安区"},
        by=staff(scj, "approver"),
        valid_until=until,
    )
    client = client_for(company)
    page = text(client.get(reverse("licences_wallet:list")))
    assert zh("One file per enterprise (一企一档)") in page
    assert "食品经营许可证" in page
    assert until.isoformat() in page
    assert "结婚证" not in page
    assert client.get(reverse("licences_wallet:detail", args=[licence.pk])).status_code == 200


def test_an_empty_wallet_says_how_licences_arrive(w: Wallet) -> None:
    page = text(client_for(CitizenFactory()).get(reverse("licences_wallet:list")))
    assert (
        zh(
            "No licence has been issued to you yet. A licence issued to your ID number or credit code "
            "appears here by itself, for example when an application of yours is approved."
        )
        in page
    )


# --- one licence ----------------------------------------------------------------------------------


def test_the_detail_shows_the_licence_in_full_with_its_qr_code(w: Wallet) -> None:
    response = client_for(w.holder).get(reverse("licences_wallet:detail", args=[w.licence.pk]))
    assert response.status_code == 200
    page = text(response)
    assert w.licence.identifier in page
    assert f">{w.holder.resident_id}</dd>" in page  # the holder's own ID number, unmasked
    assert "配偶姓名" in page  # the type's labels with the data
    assert "李四" in page
    assert w.licence.key.key_id in page
    assert selectors.verification_url(w.licence.identifier) in page
    assert re.search(r"<svg[^>]*>", page)  # the QR code, inline: no inline script or style needed
    assert "style=" not in page.split("<main", 1)[1]  # the CSP forbids inline styles
    assert "no-store" in response["Cache-Control"]
    assert 'action="{}"'.format(reverse("licences_wallet:authorise", args=[w.licence.pk])) in page


def test_a_revoked_licence_says_so_and_cannot_be_authorised(w: Wallet) -> None:
    services.licence_revoke(licence=w.licence, reason="登记错误", by=w.approver)
    client = client_for(w.holder)
    page = text(client.get(reverse("licences_wallet:detail", args=[w.licence.pk])))
    assert "登记错误" in page
    assert zh("A revoked or expired licence cannot be shown to anyone.") in page
    response = client.post(
        reverse("licences_wallet:authorise", args=[w.licence.pk]),
        {"grantee_name": "中国银行", "purpose": "开户核验", "days": "7"},
    )
    assert response.status_code == 400
    assert response.context["form"].error_codes() == {"__all__": ["licence_revoked"]}
    assert not LicenceAuthorisation.objects.exists()


def test_downloads_are_recorded_as_uses_and_the_data_file_verifies(w: Wallet) -> None:
    client = client_for(w.holder)
    pdf = client.get(reverse("licences_wallet:pdf", args=[w.licence.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"] == f'attachment; filename="{w.licence.identifier}.pdf"'
    data = client.get(reverse("licences_wallet:json", args=[w.licence.pk]))
    assert data["Content-Disposition"] == f'attachment; filename="{w.licence.identifier}.json"'
    assert "no-store" in data["Cache-Control"]
    document = json.loads(data.content)
    assert signing.verify(
        w.licence.key.public_key, signing.canonical(document["licence"]), document["signature"]
    )
    assert selectors.verify_document(document["licence"], document["signature"]).verdict == "valid"
    uses = LicenceUse.objects.filter(licence=w.licence, kind=UseKind.DOWNLOAD)
    assert sorted(uses.values_list("purpose", flat=True)) == ["json", "pdf"]
    assert AuditEvent.objects.filter(action="licence.downloaded").count() == 2
    page = text(client.get(reverse("licences_wallet:detail", args=[w.licence.pk])))
    assert zh("Downloaded by the holder") in page


def test_the_record_of_uses_names_departments_and_third_parties(w: Wallet) -> None:
    _auth, code = grant(w, grantee_name="中国银行六安分行")
    services.licence_read_by_third_party(code=code, viewer_label="柜台三号")
    services.use_record(
        licence=w.licence, kind=UseKind.CASE_REVIEW, by=w.approver, case_number="SL2026000042"
    )
    page = text(client_for(w.holder).get(reverse("licences_wallet:detail", args=[w.licence.pk])))
    uses = page.split('id="h-uses"', 1)[1]
    assert "中国银行六安分行" in uses  # by the name the holder gave
    assert "柜台三号" in uses  # and what the viewer typed
    assert "六安市民政局" in uses  # the department by its name
    assert "SL2026000042" in uses
    assert "民政审批" not in uses  # not the officer's own name
    assert zh("Viewed by an authorised third party") in uses
    assert zh("Read by the department handling a case") in uses


def test_the_authorisations_show_cases_and_third_parties_in_each_state(w: Wallet) -> None:
    services.authorisation_for_case(
        licence=w.licence,
        case=fake_case(w.mzj, number="SL2026000042"),
        purpose="办理收养登记",
        fields=[],
        by=w.holder,
        holder=w.holder,
    )
    withdrawn, _ = grant(w, grantee_name="房东王先生")
    services.authorisation_withdraw(authorisation=withdrawn, by=w.holder)
    lapsed, _ = grant(w, grantee_name="某某中介")
    LicenceAuthorisation.objects.filter(pk=lapsed.pk).update(
        valid_until=timezone.now() - dt.timedelta(hours=1)
    )
    response = client_for(w.holder).get(reverse("licences_wallet:detail", args=[w.licence.pk]))
    states = {row["auth"].pk: row["state"] for row in response.context["authorisations"]}
    assert sorted(states.values()) == ["active", "expired", "withdrawn"]
    page = text(response)
    assert "SL2026000042" in page
    assert "房东王先生" in page
    # only the active one can be withdrawn
    (active,) = [pk for pk, state in states.items() if state == "active"]
    assert page.count("/withdraw/") == 1
    assert reverse("licences_wallet:withdraw", args=[w.licence.pk, active]) in page


# --- authorising a third party ----------------------------------------------------------------------


def test_a_third_party_authorisation_shows_its_code_once(w: Wallet) -> None:
    client = client_for(w.holder)
    response = client.post(
        reverse("licences_wallet:authorise", args=[w.licence.pk]),
        {"grantee_name": " 中国银行 ", "purpose": "开户核验", "days": "7"},
    )
    auth = LicenceAuthorisation.objects.get()
    target = reverse("licences_wallet:authorised", args=[w.licence.pk, auth.pk])
    assert response.status_code == 302
    assert response["Location"] == target
    assert auth.grantee_name == "中国银行"
    assert auth.kind == "third_party"
    assert abs(auth.valid_until - (timezone.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=1)
    shown = client.get(target)
    code = shown.context["code"]
    assert re.fullmatch(r"[0-9A-F]{10}", code)
    assert code in text(shown)
    assert "no-store" in shown["Cache-Control"]
    assert code not in auth.code_hash  # only a hash is kept
    assert NEW_CODE_SESSION_KEY not in client.session
    assert services.third_party_authorisation(code) == auth  # the code works
    again = client.get(target)
    assert again.status_code == 200
    assert again.context["code"] == ""
    assert code not in text(again)
    assert zh(
        "The code was shown once, when you made this authorisation. If it is lost, withdraw this "
        "authorisation and make a new one."
    ) in text(again)


@pytest.mark.parametrize(
    ("posted", "codes"),
    [
        ({"days": "0"}, {"days": ["days_invalid"]}),
        ({"days": "91"}, {"days": ["days_invalid"]}),
        ({"days": "七"}, {"days": ["days_invalid"]}),
        ({"days": ""}, {"days": ["days_invalid"]}),
        ({"grantee_name": ""}, {"grantee_name": ["grantee_required"]}),
        ({"grantee_name": "  "}, {"grantee_name": ["grantee_required"]}),
        ({"purpose": "x"}, {"purpose": ["purpose_required"]}),
        (
            {"grantee_name": "", "days": "91"},
            {"grantee_name": ["grantee_required"], "days": ["days_invalid"]},
        ),
    ],
)
def test_bad_authorisation_input_is_refused_on_its_field(
    w: Wallet, posted: dict[str, str], codes: dict[str, list[str]]
) -> None:
    data = {"grantee_name": "中国银行", "purpose": "开户核验", "days": "7", **posted}
    response = client_for(w.holder).post(reverse("licences_wallet:authorise", args=[w.licence.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].error_codes() == codes
    page = text(response)
    if "days" in codes:
        assert zh("An authorisation lasts from 1 to %(max)d days.") % {"max": 90} in page
    if "grantee_name" in codes:
        assert zh("Say who may see the licence.") in page
    assert not LicenceAuthorisation.objects.exists()
    assert not AuditEvent.objects.filter(action="licence.authorised").exists()


def test_withdrawing_ends_an_authorisation_and_twice_says_so(w: Wallet) -> None:
    auth, code = grant(w)
    client = client_for(w.holder)
    url = reverse("licences_wallet:withdraw", args=[w.licence.pk, auth.pk])
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("licences_wallet:detail", args=[w.licence.pk])
    auth.refresh_from_db()
    assert auth.revoked_at is not None
    assert services.third_party_authorisation(code) is None
    assert zh("The authorisation has been withdrawn: it can no longer be used.") in text(response)
    first = auth.revoked_at
    again = client.post(url, follow=True)
    assert zh("This authorisation has already been withdrawn.") in text(again)
    auth.refresh_from_db()
    assert auth.revoked_at == first
    assert AuditEvent.objects.filter(action="licence.authorisation_withdrawn").count() == 1


def test_withdrawing_needs_a_post_with_the_csrf_token(w: Wallet) -> None:
    auth, _code = grant(w)
    strict = client_for(w.holder, enforce_csrf_checks=True)
    url = reverse("licences_wallet:withdraw", args=[w.licence.pk, auth.pk])
    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403
    authorise = reverse("licences_wallet:authorise", args=[w.licence.pk])
    assert (
        strict.post(authorise, {"grantee_name": "某银行", "purpose": "开户", "days": "7"}).status_code == 403
    )
    auth.refresh_from_db()
    assert auth.revoked_at is None
    assert LicenceAuthorisation.objects.count() == 1


# --- refusals on the pages --------------------------------------------------------------------------


def test_someone_elses_licence_is_not_found_on_every_page(w: Wallet) -> None:
    theirs, _code = services.authorisation_for_third_party(
        licence=w.others, grantee_name="中国银行", purpose="开户核验", days=7, by=w.other
    )
    client = client_for(w.holder)
    pk = w.others.pk
    for name in ("detail", "pdf", "json"):
        assert client.get(reverse(f"licences_wallet:{name}", args=[pk])).status_code == 404
    data = {"grantee_name": "中国银行", "purpose": "开户核验", "days": "7"}
    assert client.post(reverse("licences_wallet:authorise", args=[pk]), data).status_code == 404
    assert client.get(reverse("licences_wallet:authorised", args=[pk, theirs.pk])).status_code == 404
    assert client.post(reverse("licences_wallet:withdraw", args=[pk, theirs.pk])).status_code == 404
    # their authorisation under my own licence's id
    mine = w.licence.pk
    assert client.get(reverse("licences_wallet:authorised", args=[mine, theirs.pk])).status_code == 404
    assert client.post(reverse("licences_wallet:withdraw", args=[mine, theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert LicenceAuthorisation.objects.count() == 1
    assert not LicenceUse.objects.exists()
    assert not AuditEvent.objects.filter(action="licence.downloaded").exists()
    # each attempt on their licence is audited as refused (detail, pdf, json, authorise)
    refused = AuditEvent.objects.filter(action="licence.refused", actor_id=w.holder.pk, subject_id=str(pk))
    assert refused.count() == 4
    assert {(e.outcome, e.data["why"], e.data["where"]) for e in refused} == {
        ("denied", "not_holder", "wallet")
    }
    # an id that names no licence refuses nothing of anyone's, so there is nothing to audit
    assert client.get(reverse("licences_wallet:detail", args=[pk + 1000])).status_code == 404
    assert AuditEvent.objects.filter(action="licence.refused").count() == 4


def test_my_authorisation_under_another_licence_of_mine_is_not_found(w: Wallet) -> None:
    second = issue(w.marriage, w.approver, holder_id=w.holder.resident_id, name="张三")
    auth, _code = grant(w)
    client = client_for(w.holder)
    assert client.post(reverse("licences_wallet:withdraw", args=[second.pk, auth.pk])).status_code == 404
    auth.refresh_from_db()
    assert auth.revoked_at is None


def test_staff_have_no_wallet(w: Wallet, settings: Any) -> None:
    settings.STAFF_2FA = "optional"
    client = client_for(w.approver)
    for url in (
        reverse("licences_wallet:list"),
        reverse("licences_wallet:detail", args=[w.licence.pk]),
        reverse("licences_wallet:pdf", args=[w.licence.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert zh("Staff accounts have no licence wallet; log in as a citizen or an enterprise.") in text(
            response
        )
    data = {"grantee_name": "中国银行", "purpose": "开户核验", "days": "7"}
    assert client.post(reverse("licences_wallet:authorise", args=[w.licence.pk]), data).status_code == 403
    assert not LicenceAuthorisation.objects.exists()
    assert not LicenceUse.objects.exists()


def test_the_wallet_asks_to_log_in(w: Wallet) -> None:
    response = Client().get(reverse("licences_wallet:detail", args=[w.licence.pk]))
    assert response.status_code == 302
    assert reverse("portal:login") in response["Location"]


# --- the API ----------------------------------------------------------------------------------------

API = "/api/v1/me/licences"


def test_the_api_lists_shows_and_downloads(w: Wallet) -> None:
    client = client_for(w.holder)
    (row,) = client.get(API).json()
    assert row["id"] == w.licence.pk
    assert row["identifier"] == w.licence.identifier
    assert row["status"] == "valid"
    assert row["valid_until"] is None
    assert row["verification_url"] == selectors.verification_url(w.licence.identifier)
    one = client.get(f"{API}/{w.licence.pk}").json()
    assert one["data"]["spouse_name"] == "李四"
    document = client.get(f"{API}/{w.licence.pk}/document").json()
    assert selectors.verify_document(document["licence"], document["signature"]).verdict == "valid"
    pdf = client.get(f"{API}/{w.licence.pk}/pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    uses = client.get(f"{API}/{w.licence.pk}/uses").json()
    assert sorted(u["purpose"] for u in uses) == ["json", "pdf"]
    assert {u["kind"] for u in uses} == {"download"}


def test_the_api_names_who_used_a_licence(w: Wallet) -> None:
    _auth, code = grant(w, grantee_name="中国银行六安分行")
    services.licence_read_by_third_party(code=code, viewer_label="柜台三号")
    services.use_record(licence=w.licence, kind=UseKind.CASE_REVIEW, by=w.approver, case_number="SL1")
    uses = {u["kind"]: u for u in client_for(w.holder).get(f"{API}/{w.licence.pk}/uses").json()}
    assert uses["third_party_view"]["by"] == "中国银行六安分行"
    assert uses["case_review"]["department"] == "六安市民政局"
    assert uses["case_review"]["by"] == "六安市民政局"
    assert uses["case_review"]["case_number"] == "SL1"


def test_the_api_authorises_once_and_withdraws(w: Wallet) -> None:
    client = client_for(w.holder)
    made = client.post(
        f"{API}/{w.licence.pk}/authorisations",
        {"grantee_name": "中国银行", "purpose": "开户核验", "days": 7},
        content_type="application/json",
    )
    assert made.status_code == 201
    body = made.json()
    assert services.third_party_authorisation(body["code"]).pk == body["id"]  # type: ignore[union-attr]
    assert body["kind"] == "third_party"
    assert body["withdrawn_at"] is None
    gone = client.delete(f"/api/v1/me/licence-authorisations/{body['id']}")
    assert gone.status_code == 200
    assert gone.json()["withdrawn_at"] is not None
    assert gone.json()["code"] == ""  # the code is given once, when it is made
    again = client.delete(f"/api/v1/me/licence-authorisations/{body['id']}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "authorisation_withdrawn"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"days": 0}, "days_invalid"),
        ({"days": 91}, "days_invalid"),
        ({"grantee_name": ""}, "grantee_required"),
        ({"purpose": ""}, "purpose_required"),
    ],
)
def test_the_api_refuses_bad_authorisations(w: Wallet, payload: dict[str, Any], code: str) -> None:
    body = {"grantee_name": "中国银行", "purpose": "开户核验", "days": 7, **payload}
    response = client_for(w.holder).post(
        f"{API}/{w.licence.pk}/authorisations", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not LicenceAuthorisation.objects.exists()


def test_the_api_refuses_someone_elses_licence_and_authorisation(w: Wallet) -> None:
    theirs, _code = services.authorisation_for_third_party(
        licence=w.others, grantee_name="中国银行", purpose="开户核验", days=7, by=w.other
    )
    client = client_for(w.holder)
    pk = w.others.pk
    for url in (f"{API}/{pk}", f"{API}/{pk}/document", f"{API}/{pk}/pdf", f"{API}/{pk}/uses"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "licence_not_found"
    post = client.post(
        f"{API}/{pk}/authorisations",
        {"grantee_name": "中国银行", "purpose": "开户核验", "days": 7},
        content_type="application/json",
    )
    assert post.status_code == 404
    assert post.json()["error"]["code"] == "licence_not_found"
    delete = client.delete(f"/api/v1/me/licence-authorisations/{theirs.pk}")
    assert delete.status_code == 404
    assert delete.json()["error"]["code"] == "authorisation_not_found"
    refused = AuditEvent.objects.filter(action="licence.refused", actor_id=w.holder.pk, subject_id=str(pk))
    assert refused.count() == 5  # four reads and the authorisation
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert LicenceAuthorisation.objects.count() == 1
    assert not LicenceUse.objects.exists()
    assert [row["id"] for row in client.get(API).json()] == [w.licence.pk]


def test_the_api_refuses_staff_and_strangers(w: Wallet, settings: Any) -> None:
    settings.STAFF_2FA = "optional"
    auth, _code = grant(w)
    staff_client = client_for(StaffFactory(department=w.mzj, roles=["approver"]))
    anonymous = Client()
    calls = [
        ("get", API, None),
        ("get", f"{API}/{w.licence.pk}", None),
        ("get", f"{API}/{w.licence.pk}/document", None),
        ("get", f"{API}/{w.licence.pk}/pdf", None),
        ("get", f"{API}/{w.licence.pk}/uses", None),
        (
            "post",
            f"{API}/{w.licence.pk}/authorisations",
            {"grantee_name": "某银行", "purpose": "开户", "days": 7},
        ),
        ("delete", f"/api/v1/me/licence-authorisations/{auth.pk}", None),
    ]
    for method, url, body in calls:
        kwargs: dict[str, Any] = {"data": body, "content_type": "application/json"} if body else {}
        refused = getattr(staff_client, method)(url, **kwargs)
        assert refused.status_code == 403, url
        assert refused.json()["error"]["code"] == "not_a_holder"
        assert getattr(anonymous, method)(url, **kwargs).status_code == 401, url
    auth.refresh_from_db()
    assert auth.revoked_at is None
    assert LicenceAuthorisation.objects.count() == 1


def test_the_api_needs_the_csrf_token_with_a_session(w: Wallet) -> None:
    strict = client_for(w.holder, enforce_csrf_checks=True)
    response = strict.post(
        f"{API}/{w.licence.pk}/authorisations",
        {"grantee_name": "中国银行", "purpose": "开户核验", "days": 7},
        content_type="application/json",
    )
    assert response.status_code in (401, 403)
    assert not LicenceAuthorisation.objects.exists()

"""The public side of licences: the page the QR code opens, the identifier and file verification,
the third party with the holder's code, the published keys and the public API."""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from tongban.core.audit import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    StaffFactory,
    make_credit_code,
)
from tongban.licences import identifiers, selectors, services
from tongban.licences.choices import HolderKind, KeyStatus, LicenceOrigin, LicenceStatus, UseKind, Validity
from tongban.licences.models import Licence, LicenceAuthorisation, LicenceType, LicenceUse, SigningKey

pytestmark = pytest.mark.django_db

FIELDS = [
    {"key": "name", "label": "姓名", "required": True, "from": "holder.name"},
    {"key": "id_number", "label": "公民身份号码", "required": True, "from": "holder.id"},
    {"key": "spouse_name", "label": "配偶姓名", "required": False, "from": ""},
    {"key": "registered_on", "label": "登记日期", "required": False, "from": ""},
]


def zh(msgid: str, context: str | None = None) -> str:
    with translation.override("zh-hans"):
        return pgettext(context, msgid) if context else gettext(msgid)


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


@dataclass
class World:
    issuer: Department
    officer: User
    holder: User
    type_: LicenceType
    licence: Licence


def issue(world: World, holder: User | None = None, data: dict[str, str] | None = None) -> Licence:
    holder = holder or world.holder
    assert holder.resident_id
    return services.licence_issue(
        type_=world.type_,
        holder_id=holder.resident_id,
        holder_name=holder.name,
        data={"name": holder.name, "id_number": holder.resident_id, **(data or {})},
        by=world.officer,
    )


def make_world(city: Department) -> World:
    issuer: Any = DepartmentFactory(
        name="六安市民政局", code="t-mzj", parent=city, credit_code=make_credit_code("341500")
    )
    officer: Any = StaffFactory(department=issuer, roles=["approver"])
    type_ = LicenceType.objects.create(
        code=f"{issuer.credit_code}001",
        name="结婚证",
        defining_agency="民政部",
        issuing_department=issuer,
        holder_kind=HolderKind.PERSON,
        fields=FIELDS,
        validity=Validity.LONG_TERM,
    )
    services.signing_key_rotate(department=issuer, by=None, reason="test")
    holder: Any = CitizenFactory(name="张晓明")
    licence = issue(
        World(issuer, officer, holder, type_, Licence()),
        data={"spouse_name": "李娜", "registered_on": "2020-05-01"},
    )
    return World(issuer=issuer, officer=officer, holder=holder, type_=type_, licence=licence)


@pytest.fixture
def world(city: Department) -> World:
    return make_world(city)


def expired_licence(world: World) -> Licence:
    """A licence whose validity ended yesterday (signed like any other; the nightly job has not run)."""
    type_ = LicenceType.objects.create(
        code=f"{world.issuer.credit_code}002",
        name="临时许可证",
        issuing_department=world.issuer,
        holder_kind=HolderKind.PERSON,
        fields=FIELDS[:2],
        validity=Validity.GIVEN,
    )
    today = timezone.localdate()
    assert world.holder.resident_id
    new = services.prepare(
        type_=type_,
        holder_id=world.holder.resident_id,
        holder_name=world.holder.name,
        data={"name": world.holder.name, "id_number": world.holder.resident_id},
        issued_on=today - dt.timedelta(days=400),
        valid_until=today - dt.timedelta(days=1),
    )
    services.issue_prepared_batch([new], type_=type_, batch=None, origin=LicenceOrigin.IMPORTED)
    return Licence.objects.get(type=type_)


def tamper(licence: Licence, key: str = "registered_on") -> None:
    """Change one byte of the licence's data in the registry, behind the services' back."""
    data = dict(licence.data)
    value = data[key]
    data[key] = value[:-1] + ("2" if value[-1] != "2" else "3")
    Licence.objects.filter(pk=licence.pk).update(data=data)


def verdict_of(response: Any) -> str:
    """The verdict the page shows (the class of its one verdict banner)."""
    found = re.findall(r'class="verdict verdict-([a-z_]+)"', response.content.decode())
    assert len(found) == 1, found
    return found[0]


def page(client: Client, licence: Licence | str) -> Any:
    identifier = licence if isinstance(licence, str) else licence.identifier
    return client.get(reverse("licences_public:verify", args=[identifier]))


def api_verify(client: Client, identifier: str) -> Any:
    return client.get(f"/api/v1/licences/verify/{identifier}")


def upload(client: Client, content: bytes, name: str = "licence.json") -> Any:
    file = SimpleUploadedFile(name, content, content_type="application/json")
    return client.post(reverse("licences_public:verify_form"), {"file": file})


NOT_JSON = "The file is not valid JSON, so it is not a licence file."
SHAPE = 'This JSON file is not a licence file: it must hold "licence" (the signed data) and "signature".'
TOO_BIG = "The file is larger than 64 KB, so it is not a licence file."


def signed_bytes(licence: Licence) -> bytes:
    return json.dumps(selectors.signed_document(licence), ensure_ascii=False).encode()


# --- the page the QR code opens ----------------------------------------------------------------


def test_qr_code_opens_the_verification_page(world: World) -> None:
    url = selectors.verification_url(world.licence.identifier)
    assert url.endswith(reverse("licences_public:verify", args=[world.licence.identifier]))


def test_a_valid_licence_says_valid_with_the_minimum_of_data(client: Client, world: World) -> None:
    response = page(client, world.licence)
    body = text(response)
    assert response.status_code == 200
    assert verdict_of(response) == "valid"
    assert zh("Valid", "licence verdict") in body
    assert zh("This licence is genuine and valid.") in body
    assert "结婚证" in body
    assert "六安市民政局" in body
    assert "张**" in body  # the holder's name, masked
    resident_id = world.holder.resident_id or ""
    assert f"{resident_id[:6]}********{resident_id[-4:]}" in body
    assert resident_id not in body
    assert "张晓明" not in body
    assert "李娜" not in body  # the licence's data is not public
    assert world.licence.issued_on.isoformat() in body
    assert zh("Long-term") in body
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_page_needs_no_login_and_is_mobile_ready(client: Client, world: World) -> None:
    body = text(page(client, world.licence))
    assert 'name="viewport"' in body
    assert "licences/public.css" in body
    assert reverse("portal:login") in body  # the portal's header, for a visitor


def test_a_revoked_licence_says_revoked(client: Client, world: World) -> None:
    services.licence_revoke(licence=world.licence, reason="登记信息有误", by=world.officer)
    response = page(client, world.licence)
    assert response.status_code == 200
    assert verdict_of(response) == "revoked"
    assert zh("Revoked", "licence verdict") in text(response)
    assert zh("This licence has been revoked by its issuer and may not be used.") in text(response)
    assert "登记信息有误" not in text(response)


def test_an_expired_licence_says_expired_before_and_after_the_nightly_job(
    client: Client, world: World
) -> None:
    licence = expired_licence(world)
    assert licence.status == LicenceStatus.VALID
    response = page(client, licence)
    body = text(response)
    assert verdict_of(response) == "expired"
    assert zh("Expired", "licence verdict") in body
    assert licence.valid_until is not None
    assert licence.valid_until.isoformat() in body
    services.licences_expire()
    assert zh("Expired", "licence verdict") in text(page(client, licence))


def test_one_byte_changed_in_the_registry_says_forged(client: Client, world: World) -> None:
    tamper(world.licence)
    response = page(client, world.licence)
    body = text(response)
    assert response.status_code == 200
    assert zh("Forged or altered", "licence verdict") in body
    assert verdict_of(response) == "forged"
    assert (
        zh(
            "What the registry holds now does not match what the issuer signed: "
            "do not rely on the data below."
        )
        in body
    )


def test_a_changed_signature_or_holder_says_forged(client: Client, world: World) -> None:
    second = issue(world)
    Licence.objects.filter(pk=world.licence.pk).update(holder_name="张晓亮")
    signature = second.signature
    Licence.objects.filter(pk=second.pk).update(
        signature=signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    )
    assert verdict_of(page(client, world.licence)) == "forged"
    assert verdict_of(page(client, second)) == "forged"


def test_a_licence_signed_with_a_rotated_key_still_verifies(client: Client, world: World) -> None:
    old_key = world.licence.key
    new_key = services.signing_key_rotate(department=world.issuer, by=None, reason="年度轮换")
    old_key.refresh_from_db()
    assert old_key.status == KeyStatus.RETIRED
    newer = issue(world)
    assert newer.key == new_key
    for licence in (world.licence, newer):
        assert verdict_of(page(client, licence)) == "valid"


def test_an_unknown_identifier_is_a_404_page(client: Client, world: World) -> None:
    parsed = identifiers.parse(world.licence.identifier)
    assert parsed is not None
    unknown = identifiers.make(parsed.type_code, parsed.issuer_code, parsed.serial + 1000)
    response = page(client, unknown)
    assert response.status_code == 404
    assert verdict_of(response) == "not_found"
    assert zh("No such licence", "licence verdict") in text(response)
    assert zh("No licence has this identifier.") in text(response)
    assert unknown in text(response)


@pytest.mark.parametrize("mangle", ["wrong_check", "junk", "long", "script"])
def test_a_malformed_identifier_is_a_404_page_not_a_500(client: Client, world: World, mangle: str) -> None:
    identifier = world.licence.identifier
    bad = {
        "wrong_check": identifier[:-1] + ("0" if identifier[-1] != "0" else "1"),
        "junk": "not-a-licence",
        "long": "1.2.156.3005.2." + "9" * 500,
        "script": '"><script>alert(1)<script>',
    }[mangle]
    response = client.get(f"/licences/v/{bad}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "<script>alert(1)" not in body
    assert verdict_of(response) == "not_found"
    assert zh("No such licence", "licence verdict") in html.unescape(body)


def test_the_identifier_is_read_case_insensitively(client: Client, world: World) -> None:
    assert verdict_of(page(client, world.licence.identifier.lower())) == "valid"


# --- the verification form: by identifier, by file ---------------------------------------------


def test_the_form_redirects_an_identifier_to_its_page(client: Client, world: World) -> None:
    url = reverse("licences_public:verify_form")
    assert client.get(url).status_code == 200
    response = client.get(url, {"identifier": f"  {world.licence.identifier.lower()} "})
    assert response.status_code == 302
    assert response["Location"] == reverse("licences_public:verify", args=[world.licence.identifier])


def test_the_form_refuses_a_malformed_identifier(client: Client, world: World) -> None:
    response = client.get(
        reverse("licences_public:verify_form"), {"identifier": world.licence.identifier[:-3]}
    )
    assert response.status_code == 400
    assert zh(
        "This is not a licence identifier: one of its characters is wrong or missing. "
        "Check what you typed, or scan the QR code again."
    ) in text(response)


def test_a_genuine_file_says_valid(client: Client, world: World) -> None:
    response = upload(client, signed_bytes(world.licence))
    assert response.status_code == 200
    assert verdict_of(response) == "valid"
    assert zh("Valid", "licence verdict") in text(response)
    assert "张**" in text(response)


def test_a_genuine_file_of_a_revoked_licence_says_revoked(client: Client, world: World) -> None:
    content = signed_bytes(world.licence)
    services.licence_revoke(licence=world.licence, reason="登记信息有误", by=world.officer)
    assert verdict_of(upload(client, content)) == "revoked"


@pytest.mark.parametrize("where", ["data", "holder_name", "valid_until", "signature", "key_id"])
def test_a_tampered_file_says_forged(client: Client, world: World, where: str) -> None:
    signed = selectors.signed_document(world.licence)
    changed = copy.deepcopy(signed)
    if where == "data":
        changed["licence"]["data"]["spouse_name"] = "李娟"
    elif where == "holder_name":
        changed["licence"]["holder_name"] = "张晓亮"
    elif where == "valid_until":
        changed["licence"]["valid_until"] = "2099-12-31"
    elif where == "signature":
        changed["signature"] = signed["signature"][:-1] + ("A" if signed["signature"][-1] != "A" else "B")
    else:
        changed["licence"]["key_id"] = "unknown-key"
    response = upload(client, json.dumps(changed, ensure_ascii=False).encode())
    assert response.status_code == 200
    assert zh("Forged or altered", "licence verdict") in text(response)
    assert verdict_of(response) == "forged"


def test_a_file_whose_registry_row_changed_says_forged(client: Client, world: World) -> None:
    content = signed_bytes(world.licence)
    tamper(world.licence)
    assert verdict_of(upload(client, content)) == "forged"


@pytest.mark.parametrize(
    ("content", "msgid"),
    [
        (b"{not json", NOT_JSON),
        ("签名".encode("gb18030"), NOT_JSON),
        (b"[1, 2, 3]", SHAPE),
        (b'{"licence": "x", "signature": "y"}', SHAPE),
        (b'{"licence": {}}', SHAPE),
        (b'{"licence": {}, "signature": 5}', SHAPE),
        (b" " * (64 * 1024 + 1), TOO_BIG),
    ],
)  # fmt: skip
def test_a_bad_file_gets_a_clear_error(client: Client, world: World, content: bytes, msgid: str) -> None:
    before = AuditEvent.objects.count()
    response = upload(client, content)
    assert response.status_code == 400
    assert zh(msgid) in text(response)
    assert AuditEvent.objects.count() == before


def test_a_file_of_exactly_64_kb_is_read(client: Client, world: World) -> None:
    content = signed_bytes(world.licence)
    padded = content + b" " * (64 * 1024 - len(content))
    assert len(padded) == 64 * 1024
    assert verdict_of(upload(client, padded)) == "valid"


def test_no_file_at_all_is_an_error(client: Client, world: World) -> None:
    response = client.post(reverse("licences_public:verify_form"), {})
    assert response.status_code == 400


# --- a third party with the holder's code ------------------------------------------------------


def grant(world: World, licence: Licence | None = None, days: int = 7) -> tuple[LicenceAuthorisation, str]:
    return services.authorisation_for_third_party(
        licence=licence or world.licence,
        grantee_name="徽商银行六安分行",
        purpose="办理房贷审核",
        days=days,
        by=world.holder,
    )


def shared(client: Client, code: str, viewer: str = "", **extra: Any) -> Any:
    return client.post(reverse("licences_public:shared"), {"code": code, "viewer": viewer}, **extra)


def test_the_code_form_renders(client: Client, world: World) -> None:
    response = client.get(reverse("licences_public:shared"))
    assert response.status_code == 200
    assert zh("Authorisation code") in text(response)


def test_a_valid_code_shows_the_full_licence_and_records_the_use(client: Client, world: World) -> None:
    other = issue(world, data={"spouse_name": "王芳"})  # another licence of the same holder: not shown
    auth, code = grant(world)
    response = shared(client, f" {code[:5].lower()}-{code[5:]} ", viewer="徽商银行信贷部")
    body = text(response)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    for label, value in (("姓名", "张晓明"), ("配偶姓名", "李娜"), ("登记日期", "2020-05-01")):
        assert label in body
        assert value in body
    assert (world.holder.resident_id or "-") in body
    assert world.licence.identifier in body
    assert other.identifier not in body
    assert "王芳" not in body
    assert verdict_of(response) == "valid"
    use = LicenceUse.objects.get(licence=world.licence)
    assert use.kind == UseKind.THIRD_PARTY_VIEW
    assert use.actor_label == "徽商银行信贷部"
    assert use.authorisation == auth
    assert not LicenceUse.objects.filter(licence=other).exists()


def test_a_valid_code_of_a_tampered_licence_says_forged(client: Client, world: World) -> None:
    _, code = grant(world)
    tamper(world.licence, "spouse_name")
    assert verdict_of(shared(client, code)) == "forged"


def _refused(response: Any) -> None:
    assert response.status_code == 403
    assert zh("This authorisation code is wrong, has expired or was withdrawn.") in text(response)
    assert "李娜" not in text(response)
    assert not LicenceUse.objects.exists()


def test_a_wrong_code_is_refused(client: Client, world: World) -> None:
    _, code = grant(world)
    _refused(shared(client, "0" * 10 if code != "0" * 10 else "1" * 10))


def test_a_wrong_code_is_audited(client: Client, world: World) -> None:
    shared(client, "0123456789")
    assert AuditEvent.objects.filter(action="licence.refused", outcome="denied").exists()


def test_a_withdrawn_code_is_refused(client: Client, world: World) -> None:
    auth, code = grant(world)
    services.authorisation_withdraw(authorisation=auth, by=world.holder)
    _refused(shared(client, code))


def test_an_expired_code_is_refused(client: Client, world: World) -> None:
    auth, code = grant(world)
    LicenceAuthorisation.objects.filter(pk=auth.pk).update(
        valid_until=timezone.now() - dt.timedelta(minutes=1)
    )
    _refused(shared(client, code))


def test_a_code_for_a_licence_revoked_since_is_refused(client: Client, world: World) -> None:
    _, code = grant(world)
    services.licence_revoke(licence=world.licence, reason="登记信息有误", by=world.officer)
    response = shared(client, code)
    assert response.status_code == 409
    assert zh("This licence has been revoked and cannot be used.") in text(response)
    assert "李娜" not in text(response)


def test_an_empty_code_is_a_form_error(client: Client, world: World) -> None:
    response = shared(client, "   ")
    assert response.status_code == 400
    assert not LicenceUse.objects.exists()


def test_codes_are_rate_limited_per_address(client: Client, world: World, settings: Any) -> None:
    settings.TONGBAN_LICENCE_CODE_RATE = "3/m"
    _, code = grant(world)
    for _ in range(3):
        assert shared(client, "FFFFFFFFFF").status_code == 403
    response = shared(client, code)
    assert response.status_code == 429
    assert zh("Too many attempts") in text(response)
    assert not LicenceUse.objects.exists()
    assert shared(client, code, REMOTE_ADDR="10.0.0.9").status_code == 200


# --- the published keys ------------------------------------------------------------------------


def test_keys_json_publishes_every_key_as_a_jwk(client: Client, world: World) -> None:
    old = world.licence.key
    new = services.signing_key_rotate(department=world.issuer, by=None)
    response = client.get(reverse("licences_public:keys_json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age=300" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    keys = {k["kid"]: k for k in response.json()["keys"]}
    assert set(keys) == {old.key_id, new.key_id}
    assert keys[old.key_id]["status"] == KeyStatus.RETIRED
    assert keys[old.key_id]["retired_at"]
    assert keys[new.key_id]["status"] == KeyStatus.ACTIVE
    assert keys[new.key_id]["retired_at"] is None
    for kid, key in keys.items():
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
        assert key["department"] == "六安市民政局"
        assert key["department_code"] == world.issuer.credit_code
        assert key["pem"] == SigningKey.objects.get(key_id=kid).public_key
        assert "private" not in json.dumps(key)
    assert "六安市民政局" in response.content.decode()  # readable UTF-8, not \\u escapes


def test_the_keys_page_lists_them(client: Client, world: World) -> None:
    services.signing_key_rotate(department=world.issuer, by=None)
    response = client.get(reverse("licences_public:keys"))
    body = text(response)
    assert response.status_code == 200
    for key in SigningKey.objects.all():
        assert key.key_id in body
        assert key.public_key.strip() in body
    assert str(KeyStatus.RETIRED.label) in body or zh(str(KeyStatus.RETIRED.label)) in body
    assert "<pre" in body


# --- the API -----------------------------------------------------------------------------------


def test_api_verify_valid(client: Client, world: World) -> None:
    response = api_verify(client, world.licence.identifier)
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "valid"
    assert body["message"] == zh("This licence is genuine and valid.")
    assert body["licence"] == {
        "identifier": world.licence.identifier,
        "type_name": "结婚证",
        "issuer_name": "六安市民政局",
        "holder_name": "张**",
        "holder_id": selectors.public_view(world.licence, "valid")["holder_id"],
        "issued_on": world.licence.issued_on.isoformat(),
        "valid_until": "",
        "verdict": "valid",
    }


def test_api_verify_revoked_expired_forged(client: Client, world: World) -> None:
    expired = expired_licence(world)
    forged = issue(world)
    tamper(forged, "name")
    services.licence_revoke(licence=world.licence, reason="登记信息有误", by=world.officer)
    for licence, verdict in ((world.licence, "revoked"), (expired, "expired"), (forged, "forged")):
        response = api_verify(client, licence.identifier)
        assert response.status_code == 200
        assert response.json()["verdict"] == verdict
        assert response.json()["licence"]["identifier"] == licence.identifier


@pytest.mark.parametrize("kind", ["unknown", "malformed"])
def test_api_verify_not_found_is_404_with_the_verdict_body(client: Client, world: World, kind: str) -> None:
    parsed = identifiers.parse(world.licence.identifier)
    assert parsed is not None
    identifier = (
        identifiers.make(parsed.type_code, parsed.issuer_code, parsed.serial + 7)
        if kind == "unknown"
        else "xyz"
    )
    response = api_verify(client, identifier)
    assert response.status_code == 404
    assert response.json() == {
        "verdict": "not_found",
        "message": zh("No licence has this identifier."),
        "licence": None,
    }


def test_api_verify_get_is_one_query_and_writes_nothing(client: Client, world: World) -> None:
    before = AuditEvent.objects.count()
    api_verify(client, world.licence.identifier)  # warm the process caches (key, SQL)
    with CaptureQueriesContext(connection) as queries:
        response = api_verify(client, world.licence.identifier)
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert AuditEvent.objects.count() == before
    assert not LicenceUse.objects.exists()
    assert "sessionid" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_api_verify_document(client: Client, world: World) -> None:
    signed = selectors.signed_document(world.licence)
    good = client.post("/api/v1/licences/verify", signed, content_type="application/json")
    assert good.status_code == 200
    assert good.json()["verdict"] == "valid"
    assert good.json()["licence"]["holder_name"] == "张**"
    changed = copy.deepcopy(signed)
    changed["licence"]["data"]["registered_on"] = "2020-05-02"
    bad = client.post("/api/v1/licences/verify", changed, content_type="application/json")
    assert bad.status_code == 200
    assert bad.json() == {"verdict": "forged", "message": zh(
        "This licence is not what its issuer signed: it is forged or has been altered."
    ), "licence": None}  # fmt: skip


@pytest.mark.parametrize(
    "body",
    ['{"licence": {}}', '{"signature": "x"}', '{"licence": "x", "signature": "y"}', "[]"],
)
def test_api_verify_document_malformed_is_422(client: Client, world: World, body: str) -> None:
    response = client.post("/api/v1/licences/verify", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "request_invalid"


def test_api_verify_document_not_json_is_a_400_not_a_500(client: Client, world: World) -> None:
    response = client.post("/api/v1/licences/verify", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_api_keys(client: Client, world: World) -> None:
    services.signing_key_rotate(department=world.issuer, by=None)
    response = client.get("/api/v1/licences/keys")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps({"keys": selectors.published_keys()}))


def test_verification_rate_is_off_by_default_and_a_setting(
    client: Client, world: World, settings: Any
) -> None:
    assert settings.TONGBAN_LICENCE_VERIFY_RATE == ""
    for _ in range(30):
        assert api_verify(client, world.licence.identifier).status_code == 200
    settings.TONGBAN_LICENCE_VERIFY_RATE = "2/m"
    cache.clear()
    assert api_verify(client, world.licence.identifier).status_code == 200
    assert page(client, world.licence).status_code == 200  # the page draws on the same allowance
    limited = api_verify(client, world.licence.identifier)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert page(client, world.licence).status_code == 429
    assert api_verify(client, world.licence.identifier).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.7")
    assert other.get(f"/api/v1/licences/verify/{world.licence.identifier}").status_code == 200


def test_api_answers_in_english_when_asked(client: Client, world: World) -> None:
    response = client.get(
        f"/api/v1/licences/verify/{world.licence.identifier}", headers={"accept-language": "en"}
    )
    assert response.json()["message"] == "This licence is genuine and valid."

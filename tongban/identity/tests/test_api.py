"""The identity API under /api/v1/: each bad input gets its HTTP status and its stable error code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.core.models import AuditEvent
from tongban.identity.models import User
from tongban.identity.tests.factories import (
    TEST_PASSWORD,
    StaffFactory,
    make_credit_code,
    make_resident_id,
)

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Qingshan-road-88"


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def citizen_body(**overrides: str) -> dict[str, str]:
    body = {
        "resident_id": make_resident_id(),
        "name": "李明",
        "phone": "13955012345",
        "password": GOOD_PASSWORD,
    }
    body.update(overrides)
    return body


def enterprise_body(**overrides: str) -> dict[str, str]:
    body = {
        "credit_code": make_credit_code(),
        "name": "六安市金寨山水旅游有限公司",
        "legal_rep_name": "王海燕",
        "legal_rep_resident_id": make_resident_id(),
        "phone": "13655012345",
        "password": GOOD_PASSWORD,
    }
    body.update(overrides)
    return body


# --- registration ----------------------------------------------------------------------------


def test_register_citizen(client: Client) -> None:
    body = citizen_body(resident_id=make_resident_id(region="110105", birth="19491231", seq=2))
    response = post(client, "/api/v1/accounts/citizen", body)
    assert response.status_code == 201
    data = response.json()
    assert data["kind"] == "citizen"
    assert data["resident_id_masked"] == body["resident_id"][:6] + "********" + body["resident_id"][-4:]
    assert body["resident_id"] not in response.content.decode()
    assert data["phone_masked"] == "139****2345"
    assert data["real_name_level"] == 1
    assert User.objects.filter(resident_id=body["resident_id"]).exists()


def test_resident_id_check_digit(client: Client) -> None:
    rid = make_resident_id()
    wrong = rid[:17] + ("1" if rid[17] != "1" else "2")
    error = error_of(
        post(client, "/api/v1/accounts/citizen", citizen_body(resident_id=wrong)), 400, "resident_id_checksum"
    )
    assert error["message"] == zh("The resident ID number's check digit is wrong; please check each digit.")
    assert error["fields"]["resident_id"] == [error["message"]]
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


def test_resident_id_length(client: Client) -> None:
    body = citizen_body(resident_id=make_resident_id()[:17])
    error = error_of(post(client, "/api/v1/accounts/citizen", body), 400, "resident_id_length")
    assert "resident_id" in error["fields"]
    assert not User.objects.exists()


def test_credit_code_check_character(client: Client) -> None:
    code = make_credit_code()
    wrong = code[:17] + next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != code[17])
    response = post(client, "/api/v1/accounts/enterprise", enterprise_body(credit_code=wrong))
    error = error_of(response, 400, "credit_code_checksum")
    assert "credit_code" in error["fields"]
    assert not User.objects.exists()


def test_register_enterprise(client: Client) -> None:
    body = enterprise_body()
    response = post(client, "/api/v1/accounts/enterprise", body)
    assert response.status_code == 201
    assert response.json()["credit_code"] == body["credit_code"]
    assert response.json()["kind"] == "enterprise"


def test_duplicate_account_is_a_conflict(client: Client, citizen: User, enterprise: User) -> None:
    assert citizen.resident_id
    assert enterprise.credit_code
    body = citizen_body(resident_id=citizen.resident_id.lower())
    error_of(post(client, "/api/v1/accounts/citizen", body), 409, "account_exists")
    body = enterprise_body(credit_code=enterprise.credit_code)
    error_of(post(client, "/api/v1/accounts/enterprise", body), 409, "account_exists")
    assert User.objects.count() == 2


@pytest.mark.parametrize("password", ["short1", "onlyletterspassword", "12345678901", "password1"])
def test_weak_password(client: Client, password: str) -> None:
    response = post(client, "/api/v1/accounts/citizen", citizen_body(password=password))
    error = error_of(response, 400, "password_weak")
    assert error["fields"]["password"], "the validators' messages say what to change"
    assert not User.objects.exists()


def test_missing_field_is_request_invalid(client: Client) -> None:
    body = citizen_body()
    del body["password"]
    error = error_of(post(client, "/api/v1/accounts/citizen", body), 422, "request_invalid")
    assert "password" in error["fields"]
    assert not User.objects.exists()


def test_wrong_type_is_request_invalid(client: Client) -> None:
    error = error_of(
        post(client, "/api/v1/auth/login", {"identifier": ["x"], "password": 1}), 422, "request_invalid"
    )
    assert set(error["fields"]) >= {"identifier"}


# --- login, lockout, logout, me --------------------------------------------------------------


def test_login_then_me_then_logout(client: Client, citizen: User) -> None:
    response = post(
        client, "/api/v1/auth/login", {"identifier": citizen.resident_id, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["sub"] == str(citizen.pk)
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["resident_id_masked"] == citizen.masked_resident_id
    assert post(client, "/api/v1/auth/logout", {}).status_code == 200
    error_of(client.get("/api/v1/me"), 401, "not_authenticated")


def test_invalid_credentials(client: Client, citizen: User) -> None:
    body = {"identifier": citizen.resident_id, "password": "Wrong-pass-1"}
    error = error_of(post(client, "/api/v1/auth/login", body), 401, "invalid_credentials")
    assert error["message"] == zh("The account or password is wrong.")
    unknown = {"identifier": "nobody", "password": "Wrong-pass-1"}
    assert error_of(post(client, "/api/v1/auth/login", unknown), 401, "invalid_credentials") == error
    error_of(client.get("/api/v1/me"), 401, "not_authenticated")


def test_account_locked_with_unlock_time(client: Client, citizen: User) -> None:
    body = {"identifier": citizen.resident_id, "password": "Wrong-pass-1"}
    for _ in range(4):
        error_of(post(client, "/api/v1/auth/login", body), 401, "invalid_credentials")
    fifth = error_of(post(client, "/api/v1/auth/login", body), 429, "account_locked")
    unlock_at = datetime.fromisoformat(fifth["unlock_at"])
    assert unlock_at > timezone.now()
    assert timezone.localtime(unlock_at).strftime("%Y-%m-%d %H:%M") in fifth["message"]
    sixth = error_of(post(client, "/api/v1/auth/login", body), 429, "account_locked")
    assert sixth["unlock_at"] == fifth["unlock_at"]
    good = {"identifier": citizen.resident_id, "password": TEST_PASSWORD}
    refused = error_of(post(client, "/api/v1/auth/login", good), 429, "account_locked")
    assert refused["unlock_at"] == fifth["unlock_at"]
    error_of(client.get("/api/v1/me"), 401, "not_authenticated")


def test_me_and_logout_need_authentication(client: Client) -> None:
    error_of(client.get("/api/v1/me"), 401, "not_authenticated")
    error_of(post(client, "/api/v1/auth/logout", {}), 401, "not_authenticated")
    error_of(client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not-a-token"), 401, "not_authenticated")


def test_errors_speak_english_when_asked(client: Client, citizen: User) -> None:
    body = {"identifier": citizen.resident_id, "password": "Wrong-pass-1"}
    response = client.post(
        "/api/v1/auth/login", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.json()["error"]["message"] == "The account or password is wrong."


def test_staff_login_through_the_api_reports_and_settles_the_second_factor(
    department: Any, settings: Any
) -> None:
    settings.STAFF_2FA = "required"
    staff = StaffFactory(department=department, roles=["approver"])
    device = TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
    client = Client()
    login = client.post(
        "/api/v1/auth/login",
        {"identifier": staff.username, "password": TEST_PASSWORD},
        content_type="application/json",
    )
    assert login.status_code == 200
    assert login.json()["second_factor_pending"] == "verify"
    assert client.get("/api/v1/me").status_code == 401

    wrong = client.post("/api/v1/auth/totp", {"token": "000000"}, content_type="application/json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "totp_invalid"

    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    ok = client.post("/api/v1/auth/totp", {"token": code}, content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["second_factor_pending"] is None
    assert client.get("/api/v1/me").json()["roles"] == ["approver"]


def test_totp_endpoint_needs_a_password_login_first(db: None) -> None:
    response = Client().post("/api/v1/auth/totp", {"token": "123456"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"

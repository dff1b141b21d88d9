"""The staff second factor: enrolment, verification, throttling, policy, login flow and the API."""

from __future__ import annotations

from base64 import b32encode
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.http import urlencode
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.core.errors import Locked, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity import services
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import TEST_PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

SETUP = "/staff/otp/setup/"
VERIFY = "/staff/otp/verify/"
STAFF_PAGE = "/staff/people/"


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now for this device's key."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{value:0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    accepted = {code_for(device, steps_ahead=s) for s in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


@pytest.fixture(autouse=True)
def _required_policy(settings: Any) -> None:
    settings.STAFF_2FA = "required"


@pytest.fixture
def clerk(department: Department) -> Any:
    return StaffFactory(department=department, roles=["window_clerk"])


@pytest.fixture
def enrolled_admin(admin_user: User) -> User:
    TOTPDevice.objects.create(user=admin_user, name="authenticator", confirmed=True)
    return admin_user


def _client_for(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _device(user: User, *, confirmed: bool) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=confirmed)


# --- enrolment ------------------------------------------------------------------------------


def test_enrol_start_replaces_an_earlier_unconfirmed_device(clerk: User) -> None:
    first = services.totp_enrol_start(user=clerk)
    second = services.totp_enrol_start(user=clerk)
    assert list(TOTPDevice.objects.filter(user=clerk).values_list("pk", flat=True)) == [second.pk]
    assert first.pk != second.pk
    assert not second.confirmed


def test_enrol_start_is_for_staff_only(citizen: User) -> None:
    with pytest.raises(PermissionDenied):
        services.totp_enrol_start(user=citizen)
    assert not TOTPDevice.objects.exists()


def test_setup_page_shows_qr_and_grouped_secret_then_confirms_with_a_real_code(clerk: User) -> None:
    client = _client_for(clerk)
    intro = client.get(SETUP)
    assert intro.status_code == 200
    assert b"<svg" not in intro.content  # nothing is created by looking at the page

    assert client.post(SETUP, {"action": "start"}).status_code == 302
    device = _device(clerk, confirmed=False)
    page = client.get(SETUP)
    secret = b32encode(device.bin_key).decode()
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert page.status_code == 200
    assert b"<svg" in page.content
    assert grouped in page.content.decode()

    response = client.post(SETUP, {"action": "confirm", "token": code_for(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    event = AuditEvent.objects.get(action="auth.totp_enrol")
    assert event.outcome == "success"
    assert event.actor_id == clerk.pk
    # The enrolment verified this session: the API accepts it.
    assert client.get("/api/v1/me").status_code == 200


def test_enrol_confirm_refuses_a_wrong_code_and_keeps_the_device_unconfirmed(clerk: User) -> None:
    client = _client_for(clerk)
    client.post(SETUP, {"action": "start"})
    device = _device(clerk, confirmed=False)
    response = client.post(SETUP, {"action": "confirm", "token": wrong_code_for(device)})
    assert response.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    assert device.throttling_failure_count == 1
    failure = AuditEvent.objects.get(action="auth.totp_enrol")
    assert failure.outcome == "failure"


def test_confirming_a_new_device_replaces_the_old_one(enrolled_admin: User) -> None:
    old = _device(enrolled_admin, confirmed=True)
    client = _client_for(enrolled_admin)
    client.post(VERIFY, {"token": code_for(old)})
    client.post(SETUP, {"action": "start"})
    new = _device(enrolled_admin, confirmed=False)
    assert TOTPDevice.objects.filter(pk=old.pk, confirmed=True).exists()  # still in use meanwhile
    assert client.post(SETUP, {"action": "confirm", "token": code_for(new)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=enrolled_admin).values_list("pk", flat=True)) == [new.pk]
    assert AuditEvent.objects.get(action="auth.totp_enrol").data["replaced_devices"] == 1


def test_replacing_a_device_needs_a_verified_session(enrolled_admin: User) -> None:
    client = _client_for(enrolled_admin)
    response = client.get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    # and the service refuses it as well, whatever the page does
    pending = TOTPDevice.objects.create(user=enrolled_admin, name="new", confirmed=False)
    request = client.get("/api/v1/ping").wsgi_request
    request.user = enrolled_admin
    enrolled_admin.is_verified = lambda: False  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied) as info:
        services.totp_enrol_confirm(
            user=enrolled_admin, device=pending, token=code_for(pending), request=request
        )
    assert info.value.code == "totp_verification_required"
    pending.refresh_from_db()
    assert not pending.confirmed


def test_someone_elses_pending_device_cannot_be_confirmed(clerk: User, admin_user: User) -> None:
    foreign = services.totp_enrol_start(user=admin_user)
    request = Client().get("/api/v1/ping").wsgi_request
    request.user = clerk
    with pytest.raises(NotFound) as info:
        services.totp_enrol_confirm(user=clerk, device=foreign, token=code_for(foreign), request=request)
    assert info.value.code == "totp_enrolment_not_found"
    foreign.refresh_from_db()
    assert not foreign.confirmed


# --- verification and throttling ---------------------------------------------------------------


def test_verify_accepts_the_current_code_once_and_refuses_a_replay(enrolled_admin: User) -> None:
    device = _device(enrolled_admin, confirmed=True)
    code = code_for(device)
    client = _client_for(enrolled_admin)
    response = client.post(VERIFY, {"token": code, "next": STAFF_PAGE})
    assert response.status_code == 302
    assert response["Location"] == STAFF_PAGE
    assert AuditEvent.objects.filter(action="auth.totp_verify", outcome="success").count() == 1

    other = _client_for(enrolled_admin)
    replay = other.post(VERIFY, {"token": code})
    assert replay.status_code == 400
    assert AuditEvent.objects.filter(action="auth.totp_verify", outcome="failure").count() == 1


def test_wrong_codes_are_throttled_and_the_wait_is_reported(enrolled_admin: User, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device = _device(enrolled_admin, confirmed=True)
    client = _client_for(enrolled_admin)
    assert client.post(VERIFY, {"token": wrong_code_for(device)}).status_code == 400

    blocked = client.post(VERIFY, {"token": code_for(device)})  # even the right code must wait
    assert blocked.status_code == 429
    assert "seconds" in blocked.content.decode()
    assert client.get(STAFF_PAGE)["Location"].startswith(VERIFY)
    denied = AuditEvent.objects.get(action="auth.totp_verify", outcome="denied")
    assert denied.data["retry_at"]

    request = client.get("/api/v1/ping").wsgi_request
    with pytest.raises(Locked) as info:
        services.totp_verify(request=request, user=enrolled_admin, token=code_for(device))
    assert info.value.code == "totp_throttled"
    assert 0 < info.value.extra["retry_after"] <= 60

    # A long wait is told as the time it ends.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=5)
    with pytest.raises(Locked) as long_wait, translation.override("en"):
        services.totp_verify(request=request, user=enrolled_admin, token=code_for(device))
    assert long_wait.value.extra["retry_after"] > 900
    assert "Try again after" in str(long_wait.value.message)

    # Once the wait is over, the right code is accepted.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=1, throttling_failure_timestamp=timezone.now() - timedelta(seconds=61)
    )
    assert client.post(VERIFY, {"token": code_for(device)}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_verify_without_a_device_is_refused(clerk: User) -> None:
    request = Client().get("/api/v1/ping").wsgi_request
    with pytest.raises(ValidationFailed) as info:
        services.totp_verify(request=request, user=clerk, token="123456")
    assert info.value.code == "totp_not_enrolled"


def test_verify_page_ignores_a_foreign_next(enrolled_admin: User) -> None:
    device = _device(enrolled_admin, confirmed=True)
    client = _client_for(enrolled_admin)
    response = client.post(VERIFY, {"token": code_for(device), "next": "https://evil.example/steal"})
    assert response.status_code == 302
    assert response["Location"] == "/workbench/"


# --- policy and the login flow --------------------------------------------------------------


def test_required_policy_sends_unenrolled_staff_to_setup(admin_user: User) -> None:
    response = _client_for(admin_user).get(STAFF_PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?{urlencode({'next': STAFF_PAGE})}"


def test_optional_policy_lets_unenrolled_staff_in(admin_user: User, settings: Any) -> None:
    settings.STAFF_2FA = "optional"
    assert _client_for(admin_user).get(STAFF_PAGE).status_code == 200


@pytest.mark.parametrize("policy", ["required", "optional"])
def test_enrolled_staff_must_verify_under_either_policy(
    enrolled_admin: User, settings: Any, policy: str
) -> None:
    settings.STAFF_2FA = policy
    response = _client_for(enrolled_admin).get(STAFF_PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?{urlencode({'next': STAFF_PAGE})}"


def test_login_with_next_goes_through_verify_to_the_target(enrolled_admin: User) -> None:
    device = _device(enrolled_admin, confirmed=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    login = client.post(
        f"/login/?next={STAFF_PAGE}",
        {"identifier": enrolled_admin.username, "password": TEST_PASSWORD, "next": STAFF_PAGE},
    )
    assert login.status_code == 302
    assert login["Location"] == STAFF_PAGE
    to_verify = client.get(STAFF_PAGE)
    assert to_verify["Location"] == f"{VERIFY}?{urlencode({'next': STAFF_PAGE})}"
    page = client.get(to_verify["Location"])
    assert page.status_code == 200
    assert f'value="{STAFF_PAGE}"' in page.content.decode()
    verified = client.post(VERIFY, {"token": code_for(device), "next": STAFF_PAGE})
    assert verified["Location"] == STAFF_PAGE
    assert client.get(STAFF_PAGE).status_code == 200


def test_setup_and_verify_pages_are_for_staff(citizen: User) -> None:
    client = _client_for(citizen)
    assert client.get(SETUP).status_code == 403
    assert client.get(VERIFY).status_code == 403
    anonymous = Client().get(VERIFY)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")


# --- the API ---------------------------------------------------------------------------------


def test_session_api_refuses_an_unverified_staff_session(enrolled_admin: User) -> None:
    client = _client_for(enrolled_admin)
    refused = client.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"
    client.post(VERIFY, {"token": code_for(_device(enrolled_admin, confirmed=True))})
    accepted = client.get("/api/v1/me")
    assert accepted.status_code == 200
    assert accepted.json()["sub"] == str(enrolled_admin.pk)


def test_session_api_serves_citizens_and_unenrolled_staff_under_the_optional_policy(
    citizen: User, clerk: User, settings: Any
) -> None:
    settings.STAFF_2FA = "optional"
    assert _client_for(citizen).get("/api/v1/me").status_code == 200
    assert _client_for(clerk).get("/api/v1/me").status_code == 200


def test_session_api_refuses_unenrolled_staff_under_the_required_policy(
    citizen: User, clerk: User, settings: Any
) -> None:
    settings.STAFF_2FA = "required"
    assert _client_for(citizen).get("/api/v1/me").status_code == 200
    response = _client_for(clerk).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- reset by an administrator ----------------------------------------------------------------


def test_administrator_reset_removes_the_device_and_ends_verified_sessions(
    admin_user: User, clerk: User
) -> None:
    device = TOTPDevice.objects.create(user=clerk, name="authenticator", confirmed=True)
    clerk_client = _client_for(clerk)
    clerk_client.post(VERIFY, {"token": code_for(device)})
    assert clerk_client.get("/api/v1/me").status_code == 200

    removed = services.totp_reset(user=clerk, by=admin_user)
    assert removed == 1
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    event = AuditEvent.objects.get(action="auth.totp_reset")
    assert (event.actor_id, event.subject_id) == (admin_user.pk, str(clerk.pk))
    # The session named the deleted device: the next staff page asks for a new set-up.
    after = clerk_client.get(VERIFY)
    assert after.status_code == 302
    assert after["Location"].startswith(SETUP)


def test_reset_is_refused_to_non_administrators_and_for_oneself(admin_user: User, clerk: User) -> None:
    TOTPDevice.objects.create(user=admin_user, name="authenticator", confirmed=True)
    with pytest.raises(PermissionDenied):
        services.totp_reset(user=admin_user, by=clerk)
    with pytest.raises(ValidationFailed) as info:
        services.totp_reset(user=admin_user, by=admin_user)
    assert info.value.code == "totp_reset_self"
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1

"""The portal pages through Django's test client: every bad input gets its message, nothing half-written."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.views.defaults import server_error

from tongban.core.models import AuditEvent
from tongban.identity import selectors
from tongban.identity.models import EnterpriseAgent, User
from tongban.identity.tests.factories import (
    TEST_PASSWORD,
    CitizenFactory,
    EnterpriseFactory,
    StaffFactory,
    make_credit_code,
    make_resident_id,
)

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Qingshan-road-88"


def zh(msgid: str) -> str:
    """The text a visitor sees for ``msgid`` in the default language (Chinese once translated)."""
    with translation.override("zh-hans"):
        return gettext(msgid)


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def wrong_check_digit(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


def input_tag(response: Any, field_id: str) -> str:
    match = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', response.content.decode())
    assert match, f"no input #{field_id}"
    return match.group(0)


def assert_field_error(response: Any, field: str, message: str) -> None:
    """The message is shown next to the field, which points at it for screen readers."""
    page = response.content.decode()
    error_list = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    assert error_list, f"no error list for {field}"
    assert message in html.unescape(error_list.group(1))
    tag = input_tag(response, f"id_{field}")
    assert 'aria-invalid="true"' in tag
    assert f"id_{field}_error" in re.search(r'aria-describedby="([^"]*)"', tag).group(1)  # type: ignore[union-attr]
    # ... and listed in the summary at the top with a link to the field.
    assert f'href="#id_{field}"' in page


def citizen_form(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "citizen",
        "name": "周晓梅",
        "resident_id": make_resident_id(birth="19900307"),
        "phone": "13955012345",
        "password": GOOD_PASSWORD,
        "password_confirm": GOOD_PASSWORD,
    }
    data.update(overrides)
    return data


def enterprise_form(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "enterprise",
        "name": "六安皖西茶业有限公司",
        "credit_code": make_credit_code(),
        "legal_rep_name": "陈国华",
        "legal_rep_resident_id": make_resident_id(),
        "phone": "13655012345",
        "password": GOOD_PASSWORD,
        "password_confirm": GOOD_PASSWORD,
    }
    data.update(overrides)
    return data


def create(factory: Any, **fields: Any) -> User:
    """A saved account from a factory (typed for mypy: factory_boy's classes are not)."""
    user: User = factory(**fields)
    return user


def logged_in_user_id(client: Client) -> Any:
    return client.session.get("_auth_user_id")


# --- layout, language, accessibility ---------------------------------------------------------


def test_home_is_chinese_by_default_with_skip_link_first(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-CN">' in page
    first_focusable = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", page.split("<body>", 1)[1])
    assert first_focusable
    assert 'class="skip-link"' in first_focusable.group(0)
    assert 'href="#main"' in first_focusable.group(0)
    assert '<main id="main"' in page


def test_language_switch_to_english_and_back(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    page = client.get("/login/").content.decode()
    assert '<html lang="en">' in page
    assert '<option value="en" lang="en" selected>' in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert '<html lang="zh-CN">' in client.get("/").content.decode()


@pytest.mark.parametrize(
    "url", ["/login/", "/register/", "/register/?kind=enterprise", "/account/phone/", "/account/password/"]
)
def test_every_input_has_a_label(client: Client, citizen: User, url: str) -> None:
    client.force_login(citizen)
    page = client.get(url).content.decode()
    ids = re.findall(r'<(?:input|select|textarea)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page)
    assert len(ids) >= 2
    for field_id in ids:
        assert f'<label for="{field_id}"' in page, f"{url}: #{field_id} has no label"


def test_help_text_is_linked_to_its_input(client: Client) -> None:
    response = client.get("/register/")
    tag = input_tag(response, "id_resident_id")
    assert 'aria-describedby="id_resident_id_helptext"' in tag
    assert 'id="id_resident_id_helptext"' in response.content.decode()


# --- citizen registration --------------------------------------------------------------------


def test_citizen_registers_and_is_logged_in(client: Client) -> None:
    data = citizen_form()
    response = client.post("/register/", data)
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get(resident_id=data["resident_id"])
    assert user.kind == "citizen"
    assert user.real_name_level == 1
    assert str(logged_in_user_id(client)) == str(user.pk)
    assert AuditEvent.objects.filter(action="account.register", actor_id=user.pk).exists()
    profile = client.get("/account/")
    page = text(profile)
    assert user.masked_resident_id in page
    assert data["resident_id"] not in page
    assert "139****2345" in page
    assert "13955012345" not in page


def test_wrong_check_digit_is_a_field_error_and_writes_nothing(client: Client) -> None:
    response = client.post("/register/", citizen_form(resident_id=wrong_check_digit(make_resident_id())))
    assert response.status_code == 400
    assert_field_error(
        response, "resident_id", zh("The resident ID number's check digit is wrong; please check each digit.")
    )
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()
    assert logged_in_user_id(client) is None


def test_short_resident_id_says_how_long_it_must_be(client: Client) -> None:
    response = client.post("/register/", citizen_form(resident_id=make_resident_id()[:17]))
    assert response.status_code == 400
    assert_field_error(response, "resident_id", zh("A resident ID number has 18 characters."))
    assert not User.objects.exists()


def test_duplicate_registration_is_refused(client: Client, citizen: User) -> None:
    assert citizen.resident_id
    response = client.post("/register/", citizen_form(resident_id=citizen.resident_id.lower()))
    assert response.status_code == 409
    assert_field_error(
        response,
        "resident_id",
        zh("An account with this resident ID number already exists. Log in, or reset the password."),
    )
    assert User.objects.count() == 1
    assert logged_in_user_id(client) is None


def test_weak_password_shows_the_validators_messages(client: Client) -> None:
    response = client.post("/register/", citizen_form(password="password1", password_confirm="password1"))
    assert response.status_code == 400
    with translation.override("zh-hans"):
        common = str(CommonPasswordValidator().get_error_message())
    assert_field_error(response, "password", common)
    assert not User.objects.exists()


def test_mismatched_confirmation_is_a_field_error(client: Client) -> None:
    response = client.post("/register/", citizen_form(password_confirm=GOOD_PASSWORD + "x"))
    assert response.status_code == 400
    assert_field_error(response, "password_confirm", zh("The two passwords do not match."))
    assert not User.objects.exists()


def test_missing_fields_are_reported(client: Client) -> None:
    response = client.post("/register/", {"kind": "citizen"})
    assert response.status_code == 400
    for field in ("name", "resident_id", "phone", "password"):
        assert_field_error(response, field, zh("This field is required."))
    assert not User.objects.exists()


def test_bad_phone_is_a_field_error(client: Client) -> None:
    response = client.post("/register/", citizen_form(phone="2345"))
    assert response.status_code == 400
    assert_field_error(response, "phone", zh("Enter an 11-digit mainland mobile number starting with 1."))
    assert not User.objects.exists()


# --- enterprise registration -----------------------------------------------------------------


def test_enterprise_registers_and_is_logged_in(client: Client) -> None:
    data = enterprise_form()
    response = client.post("/register/", data)
    assert response.status_code == 302
    user = User.objects.get(credit_code=data["credit_code"])
    assert user.kind == "enterprise"
    assert str(logged_in_user_id(client)) == str(user.pk)
    page = text(client.get("/account/"))
    assert data["credit_code"] in page
    assert data["legal_rep_resident_id"] not in page
    assert data["legal_rep_resident_id"][:6] + "********" in page


def test_wrong_credit_code_check_character_is_a_field_error(client: Client) -> None:
    code = make_credit_code()
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    wrong = code[:17] + next(c for c in alphabet if c != code[17])
    response = client.post("/register/", enterprise_form(credit_code=wrong))
    assert response.status_code == 400
    assert_field_error(
        response, "credit_code", zh("The credit code's check character is wrong; please check each one.")
    )
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


def test_wrong_legal_representative_id_is_a_field_error(client: Client) -> None:
    response = client.post(
        "/register/", enterprise_form(legal_rep_resident_id=wrong_check_digit(make_resident_id()))
    )
    assert response.status_code == 400
    assert_field_error(
        response,
        "legal_rep_resident_id",
        zh("The resident ID number's check digit is wrong; please check each digit."),
    )
    assert not User.objects.exists()


def test_duplicate_enterprise_is_refused(client: Client, enterprise: User) -> None:
    response = client.post("/register/", enterprise_form(credit_code=enterprise.credit_code or ""))
    assert response.status_code == 409
    assert_field_error(response, "credit_code", zh("An account with this credit code already exists."))
    assert User.objects.count() == 1


# --- login, lockout, logout ------------------------------------------------------------------


def test_login_with_resident_id_in_lower_case(client: Client) -> None:
    user = create(CitizenFactory, resident_id=make_resident_id(birth="19851111", seq=1))
    assert user.resident_id
    response = client.post("/login/", {"identifier": user.resident_id.lower(), "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert str(logged_in_user_id(client)) == str(user.pk)


def test_login_follows_a_local_next_but_not_a_foreign_one(client: Client, citizen: User) -> None:
    data = {"identifier": citizen.resident_id, "password": TEST_PASSWORD}
    response = client.post("/login/?next=/account/password/", data)
    assert response["Location"] == "/account/password/"
    client.logout()
    response = client.post("/login/", {**data, "next": "https://evil.example/"})
    assert response["Location"] == "/account/"


def test_wrong_password_is_refused_with_a_clear_message(client: Client, citizen: User) -> None:
    response = client.post("/login/", {"identifier": citizen.resident_id, "password": "Wrong-pass-1"})
    assert response.status_code == 401
    assert zh("The account or password is wrong.") in text(response)
    assert logged_in_user_id(client) is None


def test_unknown_account_gets_the_same_message(client: Client) -> None:
    response = client.post("/login/", {"identifier": make_resident_id(), "password": "Wrong-pass-1"})
    assert response.status_code == 401
    assert zh("The account or password is wrong.") in text(response)


def test_fifth_wrong_password_locks_and_shows_the_unlock_time(client: Client, citizen: User) -> None:
    data = {"identifier": citizen.resident_id, "password": "Wrong-pass-1"}
    for _ in range(4):
        assert client.post("/login/", data).status_code == 401
    fifth = client.post("/login/", data)
    assert fifth.status_code == 429
    assert citizen.resident_id
    unlock_at = selectors.lockout_unlock_at(citizen.resident_id)
    assert unlock_at is not None
    assert unlock_at > timezone.now()
    when = timezone.localtime(unlock_at).strftime("%Y-%m-%d %H:%M")
    expected = zh("Too many wrong passwords. This account is locked until %(when)s.") % {"when": when}
    assert expected in text(fifth)
    assert zh("Account locked") in text(fifth)
    assert AuditEvent.objects.filter(action="auth.lockout").count() == 1

    sixth = client.post("/login/", data)
    assert sixth.status_code == 429
    assert expected in text(sixth)

    correct = client.post("/login/", {"identifier": citizen.resident_id, "password": TEST_PASSWORD})
    assert correct.status_code == 429
    assert expected in text(correct)
    assert logged_in_user_id(client) is None
    assert client.get("/account/").status_code == 302


def test_lockout_ends_after_the_cool_off(client: Client, citizen: User, settings: Any) -> None:
    from axes.models import AccessAttempt

    data = {"identifier": citizen.resident_id, "password": "Wrong-pass-1"}
    for _ in range(5):
        client.post("/login/", data)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME * 2)
    response = client.post("/login/", {"identifier": citizen.resident_id, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert str(logged_in_user_id(client)) == str(citizen.pk)


def test_empty_login_form_is_a_400_with_field_errors(client: Client) -> None:
    response = client.post("/login/", {"identifier": "", "password": ""})
    assert response.status_code == 400
    assert_field_error(response, "identifier", zh("This field is required."))


def test_logout_asks_on_get_and_ends_the_session_on_post(client: Client, citizen: User) -> None:
    client.force_login(citizen)
    confirm = client.get("/logout/")
    assert confirm.status_code == 200
    assert logged_in_user_id(client) is not None
    response = client.post("/logout/")
    assert response.status_code == 302
    assert logged_in_user_id(client) is None
    assert AuditEvent.objects.filter(action="auth.logout", actor_id=citizen.pk).exists()
    assert zh("You have logged out.") in text(client.get("/"))


# --- profile, phone, password ----------------------------------------------------------------


def test_account_pages_need_a_login(client: Client) -> None:
    for url in ("/account/", "/account/phone/", "/account/password/", "/account/agents/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_profile_masks_the_resident_id(client: Client) -> None:
    user = create(CitizenFactory, resident_id="11010519491231002X", phone="13812345678")
    client.force_login(user)
    page = text(client.get("/account/"))
    assert "110105********002X" in page
    assert "11010519491231002X" not in page
    assert "138****5678" in page
    assert "13812345678" not in page


def test_phone_change(client: Client, citizen: User) -> None:
    client.force_login(citizen)
    bad = client.post("/account/phone/", {"phone": "12345"})
    assert bad.status_code == 400
    assert_field_error(bad, "phone", zh("Enter an 11-digit mainland mobile number starting with 1."))
    citizen.refresh_from_db()
    old_phone = citizen.phone
    assert old_phone != "12345"
    good = client.post("/account/phone/", {"phone": "137 0000 1111"})
    assert good.status_code == 302
    citizen.refresh_from_db()
    assert citizen.phone == "13700001111"
    assert AuditEvent.objects.filter(action="account.profile_update", actor_id=citizen.pk).exists()
    assert "137****1111" in text(client.get("/account/"))


def test_password_change_wrong_current_password(client: Client, citizen: User) -> None:
    client.force_login(citizen)
    data = {
        "old_password": "Not-the-password-1",
        "password": GOOD_PASSWORD,
        "password_confirm": GOOD_PASSWORD,
    }
    response = client.post("/account/password/", data)
    assert response.status_code == 400
    assert_field_error(response, "old_password", zh("The current password is wrong."))
    citizen.refresh_from_db()
    assert citizen.check_password(TEST_PASSWORD)
    failed = AuditEvent.objects.get(action="account.password_change", actor_id=citizen.pk)
    assert failed.outcome == "failure"


def test_password_change_weak_and_mismatched(client: Client, citizen: User) -> None:
    client.force_login(citizen)
    weak = client.post(
        "/account/password/",
        {"old_password": TEST_PASSWORD, "password": "12345678", "password_confirm": "12345678"},
    )
    assert weak.status_code == 400
    with translation.override("zh-hans"):
        numeric = gettext("This password is entirely numeric.")
    assert_field_error(weak, "password", numeric)
    mismatched = client.post(
        "/account/password/",
        {"old_password": TEST_PASSWORD, "password": GOOD_PASSWORD, "password_confirm": "Other-pass-99"},
    )
    assert mismatched.status_code == 400
    assert_field_error(mismatched, "password_confirm", zh("The two passwords do not match."))
    citizen.refresh_from_db()
    assert citizen.check_password(TEST_PASSWORD)


def test_password_change_keeps_the_session_and_takes_effect(client: Client, citizen: User) -> None:
    client.force_login(citizen)
    data = {"old_password": TEST_PASSWORD, "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD}
    response = client.post("/account/password/", data)
    assert response.status_code == 302
    profile = client.get("/account/")
    assert profile.status_code == 200
    assert zh("Your password has been changed.") in text(profile)
    client.post("/logout/")
    old = client.post("/login/", {"identifier": citizen.resident_id, "password": TEST_PASSWORD})
    assert old.status_code == 401
    new = client.post("/login/", {"identifier": citizen.resident_id, "password": GOOD_PASSWORD})
    assert new.status_code == 302


# --- enterprise agents -----------------------------------------------------------------------


def test_enterprise_adds_and_revokes_an_agent(client: Client, enterprise: User, citizen: User) -> None:
    client.force_login(enterprise)
    added = client.post("/account/agents/", {"agent_resident_id": citizen.resident_id})
    assert added.status_code == 302
    link = EnterpriseAgent.objects.get(enterprise=enterprise, agent=citizen)
    page = text(client.get("/account/agents/"))
    assert citizen.masked_resident_id in page
    assert str(citizen.resident_id) not in page
    assert f"/account/agents/{link.pk}/revoke" in page

    client.force_login(citizen)
    assert enterprise.name in text(client.get("/account/"))

    client.force_login(enterprise)
    revoked = client.post(f"/account/agents/{link.pk}/revoke")
    assert revoked.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert AuditEvent.objects.filter(action="enterprise.agent_revoke", actor_id=enterprise.pk).exists()
    client.force_login(citizen)
    assert enterprise.name not in text(client.get("/account/"))


def test_agent_add_bad_inputs(client: Client, enterprise: User, citizen: User) -> None:
    client.force_login(enterprise)
    bad = client.post("/account/agents/", {"agent_resident_id": wrong_check_digit(str(citizen.resident_id))})
    assert bad.status_code == 400
    assert_field_error(
        bad,
        "agent_resident_id",
        zh("The resident ID number's check digit is wrong; please check each digit."),
    )
    unknown = client.post("/account/agents/", {"agent_resident_id": make_resident_id(region="110105")})
    assert unknown.status_code == 404
    assert_field_error(
        unknown,
        "agent_resident_id",
        zh("No citizen account has this resident ID number; the agent must register first."),
    )
    assert not EnterpriseAgent.objects.exists()
    client.post("/account/agents/", {"agent_resident_id": citizen.resident_id})
    again = client.post("/account/agents/", {"agent_resident_id": citizen.resident_id})
    assert again.status_code == 409
    assert zh("This person is already an authorised agent.") in text(again)
    assert EnterpriseAgent.objects.count() == 1


def test_another_enterprise_cannot_revoke_the_link(client: Client, citizen: User) -> None:
    enterprise_a = create(EnterpriseFactory)
    enterprise_b = create(EnterpriseFactory)
    link = EnterpriseAgent.objects.create(enterprise=enterprise_a, agent=citizen)
    client.force_login(enterprise_b)
    response = client.post(f"/account/agents/{link.pk}/revoke")
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None
    assert str(citizen.masked_resident_id) not in text(client.get("/account/agents/"))


def test_citizen_cannot_use_the_agent_pages(client: Client, citizen: User) -> None:
    enterprise = create(EnterpriseFactory)
    link = EnterpriseAgent.objects.create(enterprise=enterprise, agent=citizen)
    client.force_login(citizen)
    page = client.get("/account/agents/")
    assert page.status_code == 403
    assert zh("Only enterprise accounts authorise agents.") in text(page)
    revoke = client.post(f"/account/agents/{link.pk}/revoke")
    assert revoke.status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None


def test_revoke_needs_post(client: Client, enterprise: User, citizen: User) -> None:
    link = EnterpriseAgent.objects.create(enterprise=enterprise, agent=citizen)
    client.force_login(enterprise)
    assert client.get(f"/account/agents/{link.pk}/revoke").status_code == 405
    link.refresh_from_db()
    assert link.revoked_at is None


# --- error pages -----------------------------------------------------------------------------


def test_unknown_page_gets_the_portal_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = text(response)
    assert zh("Page not found") in page
    assert 'class="skip-link"' in page


@pytest.mark.parametrize("url_name", ["portal:workbench", "identity:staff_list", "staffpages:audit_list"])
def test_staff_page_requested_by_a_citizen_is_a_403_with_the_reason(
    client: Client, citizen: User, url_name: str
) -> None:
    client.force_login(citizen)
    response = client.get(reverse(url_name))
    assert response.status_code == 403
    page = text(response)
    assert zh("Access denied") in page
    assert zh("This page is for government staff only.") in page


def test_staff_reach_the_workbench(client: Client, department: Any, settings: Any) -> None:
    settings.STAFF_2FA = "optional"
    staff = create(StaffFactory, department=department, roles=["window_clerk"])
    client.force_login(staff)
    response = client.get("/workbench/")
    assert response.status_code == 200
    assert department.name in text(response)


def test_server_error_page_needs_no_request_context() -> None:
    rendered = loader.get_template("500.html").render()
    assert zh("Something went wrong") in html.unescape(rendered)
    assert "csrfmiddlewaretoken" not in rendered
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert zh("Something went wrong") in text(response)


def test_csrf_failure_gets_a_portal_page() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"identifier": "x", "password": "y"})
    assert response.status_code == 403
    assert zh("The form has expired") in text(response)

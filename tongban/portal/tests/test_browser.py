"""The portal in a real browser: Debian's Chromium driven by Playwright against a live server.

Set ``TONGBAN_SHOTS_DIR`` (e.g. ``var/portal/shots``) to keep desktop and 390px-wide screenshots.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright import sync_api

from tongban.identity import selectors
from tongban.identity.models import EnterpriseAgent, User
from tongban.identity.tests.factories import (
    TEST_PASSWORD,
    CitizenFactory,
    EnterpriseFactory,
    make_resident_id,
)

# Playwright's sync API runs an event loop in this thread; the ORM calls made here are still sync.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
FIRST_PASSWORD = "Huaihe-river-2026"
NEW_PASSWORD = "Dabie-mountain-77"
SHOTS = os.environ.get("TONGBAN_SHOTS_DIR", "")
# After a POST-redirect-GET the browser keeps the fragment the form page had (e.g. "#id_resident_id").
PROFILE = re.compile(r"^http://[^/]+/account/(#.*)?$")
HOME = re.compile(r"^http://[^/]+/(#.*)?$")


def tr(msgid: str, language: str) -> str:
    with translation.override(language):
        return gettext(msgid)


def create(factory: Any, **fields: Any) -> User:
    user: User = factory(**fields)
    return user


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run scripts/ensure-browser")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def register_form(page: Any, *, resident_id: str) -> None:
    page.fill("#id_name", "孙丽娟")
    page.fill("#id_resident_id", resident_id)
    page.fill("#id_phone", "13855016688")
    page.fill("#id_password", FIRST_PASSWORD)
    page.fill("#id_password_confirm", FIRST_PASSWORD)
    page.click("main form button[type=submit]")


def switch_language(page: Any, code: str) -> None:
    page.select_option("#lang-select", code)
    page.click(".lang-form button[type=submit]")
    page.wait_for_load_state()


def test_citizen_registers_logs_in_and_changes_password(live_server: Any, page: Any) -> None:
    base = live_server.url
    rid = make_resident_id(region="341502", birth="19920815", seq=37)
    wrong = rid[:17] + ("1" if rid[17] != "1" else "2")
    checksum_msgid = "The resident ID number's check digit is wrong; please check each digit."

    # Keyboard only: the first Tab reaches the skip link, which moves focus to the main content.
    page.goto(f"{base}/register/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").bounding_box()["x"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # A wrong check digit: the error is on the field, in Chinese (the default language).
    register_form(page, resident_id=wrong)
    error = page.locator("#id_resident_id_error")
    assert error.inner_text().strip() == tr(checksum_msgid, "zh-hans")
    assert page.locator("#id_resident_id").get_attribute("aria-invalid") == "true"
    assert "id_resident_id_error" in (page.locator("#id_resident_id").get_attribute("aria-describedby") or "")
    assert page.locator("#id_resident_id").input_value() == wrong
    shot(page, "register-error-desktop")
    assert not User.objects.exists()

    # The same mistake in English, after switching the language in the header.
    switch_language(page, "en")
    assert page.locator("html").get_attribute("lang") == "en"
    register_form(page, resident_id=wrong)
    assert page.locator("#id_resident_id_error").inner_text().strip() == tr(checksum_msgid, "en")
    # The summary link moves focus to the field.
    page.locator(".error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "id_resident_id"

    # Corrected: the account is created and the citizen is logged in on the profile page.
    page.fill("#id_resident_id", rid)
    page.fill("#id_password", FIRST_PASSWORD)
    page.fill("#id_password_confirm", FIRST_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(PROFILE)
    masked = rid[:6] + "********" + rid[-4:]
    assert masked in page.locator("dl.facts").inner_text()
    assert rid not in page.content()
    assert "138****6688" in page.locator("dl.facts").inner_text()
    shot(page, "profile-desktop")

    # Log out from the header, log in again.
    page.click(".site-nav button[type=submit]")
    page.wait_for_url(HOME)
    assert page.locator(".site-nav a[href='/login/']").count() == 1
    page.goto(f"{base}/login/")
    page.fill("#id_identifier", rid)
    page.fill("#id_password", FIRST_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(PROFILE)

    # Change the password, then prove the new one works and the old one does not.
    page.click("a[href='/account/password/']")
    page.fill("#id_old_password", FIRST_PASSWORD)
    page.fill("#id_password", NEW_PASSWORD)
    page.fill("#id_password_confirm", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(PROFILE)
    assert tr("Your password has been changed.", "en") in page.locator(".messages").inner_text()
    page.click(".site-nav button[type=submit]")
    page.wait_for_url(HOME)
    page.goto(f"{base}/login/")
    page.fill("#id_identifier", rid)
    page.fill("#id_password", FIRST_PASSWORD)
    page.click("main form button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    page.fill("#id_password", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(PROFILE)
    user = User.objects.get(resident_id=rid)
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("path", ["/", "/login/", "/register/", "/register/?kind=enterprise"])
def test_pages_fit_a_390px_phone(live_server: Any, browser: Any, path: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "horizontal scrolling"
        for selector in ("main", ".site-header"):
            box = page.locator(selector).first.bounding_box()
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 390
        name = path.strip("/").replace("/", "-").replace("?kind=", "-") or "home"
        shot(page, f"{name}-390")
    finally:
        context.close()


def test_enterprise_manages_agents_on_a_phone(live_server: Any, browser: Any) -> None:
    citizen = create(CitizenFactory, name="吴建国")
    enterprise = create(EnterpriseFactory)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        base = live_server.url
        page.goto(f"{base}/login/")
        page.fill("#id_identifier", str(enterprise.credit_code))
        page.fill("#id_password", TEST_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(PROFILE)
        page.click("a[href='/account/agents/']")
        page.fill("#id_agent_resident_id", str(citizen.resident_id))
        page.click("main form button[type=submit]")
        row = page.locator("tbody tr")
        assert row.count() == 1
        assert citizen.masked_resident_id in row.inner_text()
        assert str(citizen.resident_id) not in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "horizontal scrolling"
        shot(page, "agents-390")
        row.locator("button").click()
        page.wait_for_load_state()
        assert page.locator("tbody tr").count() == 0
        assert EnterpriseAgent.objects.get(agent=citizen).revoked_at is not None
    finally:
        context.close()


def test_repeated_wrong_passwords_show_the_unlock_time(live_server: Any, page: Any) -> None:
    citizen = create(CitizenFactory)
    page.goto(f"{live_server.url}/login/")
    for attempt in range(1, 6):
        page.fill("#id_identifier", str(citizen.resident_id))
        page.fill("#id_password", f"Wrong-pass-{attempt}")
        with page.expect_navigation() as navigation:
            page.click("main form button[type=submit]")
        status = navigation.value.status if navigation.value else None
        if attempt < 5:
            assert status == 401
            assert page.locator(".error-summary").is_visible()
    assert status == 429
    unlock_at = selectors.lockout_unlock_at(str(citizen.resident_id))
    assert unlock_at is not None
    when = timezone.localtime(unlock_at).strftime("%Y-%m-%d %H:%M")
    message = tr("Too many wrong passwords. This account is locked until %(when)s.", "zh-hans") % {
        "when": when
    }
    assert page.locator("[role=alert]").inner_text().strip() == message
    shot(page, "locked-desktop")
    # The right password does not open a locked account.
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_identifier", str(citizen.resident_id))
    page.fill("#id_password", TEST_PASSWORD)
    page.click("main form button[type=submit]")
    assert page.locator("[role=alert]").inner_text().strip() == message
    assert page.locator(".site-nav a[href='/login/']").count() == 1

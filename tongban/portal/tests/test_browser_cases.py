"""The issue's acceptance walk in a real browser, on the demo city as ``./scripts/run`` seeds it.

A citizen finds 新生儿出生 by search, applies for the bundle, receives a one-time notice on one of
its cases, corrects it, is accepted; the four departments approve in parallel; the citizen sees the
result and downloads the notices. A window clerk then does the same for a walk-in applicant.
Set ``TONGBAN_SHOTS_DIR`` to keep screenshots of each step.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from playwright import sync_api

from tongban.cases.models import Case

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.environ.get("TONGBAN_SHOTS_DIR", "")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Demo citizens (tongban/identity/demo.py): 张伟 applies online, 王建国 walks in.
APPLICANT = "341502198603122150"
WALK_IN = ("341522196811239835", "王建国")
MOTHER_ID = "341503199207087120"


@pytest.fixture
def demo(settings: Any) -> dict[str, str]:
    settings.STAFF_2FA = "optional"  # the demo's policy (scripts/run)
    # An earlier transactional test may have flushed the themes the catalogue's data migration made.
    importlib.import_module("tongban.catalog.migrations.0002_seed_themes").seed(django_apps, None)
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out, stderr=io.StringIO())
    return {a["username"]: a["password"] for a in json.loads(out.getvalue())}


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


class Session:
    """One person's browser context, logged in."""

    def __init__(self, browser: Any, base: str, username: str, password: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.page.goto(f"{base}/login/")
        self.page.fill("input[name=identifier]", username)
        self.page.fill("input[name=password]", password)
        self.page.press("input[name=password]", "Enter")
        self.page.wait_for_url(re.compile(r"/(account|workbench)/"))

    def goto(self, path: str) -> Any:
        self.page.goto(f"{self.base}{path}")
        return self.page

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)

    def pdf(self, href: str) -> bytes:
        response = self.context.request.get(f"{self.base}{href}")
        assert response.status == 200, href
        assert response.headers["content-type"] == "application/pdf"
        body: bytes = response.body()
        return body

    def close(self) -> None:
        self.context.close()


def _fill_form(page: Any, form: str, files: dict[str, bytes] | None = None) -> None:
    """Answer every field of a form generated from an item's schema, and attach a file to each upload."""
    for field in page.query_selector_all(f"{form} input, {form} select, {form} textarea"):
        name = field.get_attribute("name") or ""
        kind = (field.get_attribute("type") or field.evaluate("e => e.tagName")).lower()
        if name in ("csrfmiddlewaretoken", "idempotency_key", "action", "remove") or kind == "hidden":
            continue
        if kind == "file":
            payload = (files or {}).get(name, PDF)
            mime = "image/png" if payload.startswith(b"\x89PNG") else "application/pdf"
            field.set_input_files({"name": f"{name}.pdf", "mimeType": mime, "buffer": payload})
        elif kind == "select":
            values = [o.get_attribute("value") for o in field.query_selector_all("option")]
            field.select_option(next(v for v in values if v))
        elif kind == "checkbox":
            if field.get_attribute("required") is not None:
                field.check()
        elif kind == "date":
            field.fill("2026-11-20")
        elif kind == "number":
            field.fill("1")
        elif "resident_id" in name or name.endswith("_id_number"):
            field.fill(MOTHER_ID)
        elif "credit_code" in name:
            field.fill("91341502066129878D")
        elif "phone" in name:
            field.fill("13800001234")
        elif "email" in name:
            field.fill("zhangwei@example.cn")
        elif not field.input_value():
            field.fill("六安市金安区梅山南路1号" if "address" in name else "张小宝")


def _case_links(page: Any) -> list[int]:
    hrefs = [a.get_attribute("href") or "" for a in page.query_selector_all("main a[href^='/my/cases/']")]
    return sorted({int(m.group(1)) for h in hrefs if (m := re.match(r"^/my/cases/(\d+)/$", h))})


def _approve_all(browser: Any, base: str, demo: dict[str, str], cases: list[Case]) -> None:
    """Each case's department approves its own task, in its own browser, none waiting for another."""
    sessions: dict[str, Session] = {}
    try:
        for case in cases:
            task = case.tasks.get(status="open")
            approver = f"approver.{task.department.code.removeprefix('luan-')}"
            if approver not in sessions:
                sessions[approver] = Session(browser, base, approver, demo[approver])
            page = sessions[approver].goto(f"/staff/cases/{case.pk}/")
            page.click(f"form[action$='/tasks/{task.pk}/decide/'] button[value=approve]")
            page.wait_for_load_state()
            sessions[approver].shot(f"approve-{approver}")
    finally:
        for session in sessions.values():
            session.close()


def test_newborn_bundle_online_from_search_to_result(
    live_server: Any, browser: Any, demo: dict[str, str]
) -> None:
    base = live_server.url
    citizen = Session(browser, base, APPLICANT, demo[APPLICANT])
    clerk = Session(browser, base, "clerk", demo["clerk"])
    try:
        # The citizen finds the bundle by searching from the home page.
        page = citizen.goto("/")
        page.fill("main input[name=q]", "新生儿出生")
        page.press("main input[name=q]", "Enter")
        page.click("main a[href^='/bundles/']")
        citizen.shot("01-bundle-guide")
        page.click("main a[href$='/apply/']")
        _fill_form(page, "main form[enctype]")
        citizen.shot("02-bundle-apply")
        page.click("main form[enctype] button[type=submit]")
        page.wait_for_url(re.compile(r"/my/bundles/\d+/$"))
        citizen.shot("03-bundle-progress")
        case_ids = _case_links(page)
        assert len(case_ids) == 4
        cases = list(Case.objects.filter(pk__in=case_ids).order_by("pk"))
        assert {c.status for c in cases} == {"submitted"}
        assert len({c.department_id for c in cases}) == 4

        # Pre-review at the city's window: a one-time notice on the registration, the rest accepted.
        registration = next(c for c in cases if c.department.code == "luan-gaj")
        page = clerk.goto(f"/staff/cases/{registration.pk}/")
        page.fill("#correction-form input[name='corr-0-other']", "联系电话")
        page.fill("#correction-form input[name='corr-0-instruction']", "请填写父母一方本人的手机号码")
        page.click("#correction-form button[type=submit]")
        page.wait_for_load_state()
        clerk.shot("04-correction-sent")
        registration.refresh_from_db()
        assert registration.status == "correction"
        for case in cases:
            if case.pk != registration.pk:
                clerk.goto(f"/staff/cases/{case.pk}/").click("form[action$='/accept/'] button[type=submit]")
                clerk.page.wait_for_load_state()

        # The citizen reads the notice, corrects, resubmits; the clerk accepts.
        page = citizen.goto(f"/my/cases/{registration.pk}/")
        assert "请填写父母一方本人的手机号码" in page.inner_text("main")
        notice = page.get_attribute("main a[href$='.pdf']", "href")
        assert notice is not None
        assert citizen.pdf(notice).startswith(b"%PDF-")
        citizen.shot("05-one-time-notice")
        page.click(f"main a[href='/my/cases/{registration.pk}/edit/']")
        page.fill("input[name=contact_phone]", "13900005678")
        page.click("button[name=action][value=submit]")
        page.wait_for_url(re.compile(rf"/my/cases/{registration.pk}/$"))
        registration.refresh_from_db()
        assert registration.status == "submitted"
        assert registration.form_data["contact_phone"] == "13900005678"
        clerk.goto(f"/staff/cases/{registration.pk}/").click("form[action$='/accept/'] button[type=submit]")
        clerk.page.wait_for_load_state()
        assert set(Case.objects.filter(pk__in=case_ids).values_list("status", flat=True)) == {"in_review"}

        # The four departments approve side by side.
        _approve_all(browser, base, demo, list(Case.objects.filter(pk__in=case_ids)))
        assert set(Case.objects.filter(pk__in=case_ids).values_list("status", flat=True)) == {"result_ready"}

        # The birth certificate is collected at the window (统一出件).
        birth = next(c for c in cases if c.department.code == "luan-wjw")
        page = clerk.goto(f"/staff/cases/{birth.pk}/")
        page.check("form[action$='/deliver/'] input[name=method][value=pickup]")
        page.click("form[action$='/deliver/'] button[type=submit]")
        page.wait_for_load_state()

        # The citizen sees the result and downloads the notices.
        page = citizen.goto(f"/my/cases/{birth.pk}/")
        citizen.shot("06-case-completed")
        assert "已办结" in page.inner_text("main")
        hrefs = [a.get_attribute("href") or "" for a in page.query_selector_all("main a[href$='.pdf']")]
        assert len(hrefs) >= 2  # 受理通知书 and 办结通知书
        for href in hrefs:
            assert citizen.pdf(href).startswith(b"%PDF-")
        page = citizen.goto("/my/bundles/")
        page.click("main a[href^='/my/bundles/']")
        citizen.shot("07-bundle-result")
        assert page.inner_text("main").count("已准予，待出件") == 3
    finally:
        citizen.close()
        clerk.close()


def test_walk_in_applicant_files_the_bundle_at_the_window(
    live_server: Any, browser: Any, demo: dict[str, str]
) -> None:
    base = live_server.url
    clerk = Session(browser, base, "clerk", demo["clerk"])
    try:
        page = clerk.goto("/staff/window/")
        page.fill("main input[name=q]", "新生儿出生")
        page.press("main input[name=q]", "Enter")
        page.click("main a[href^='/staff/window/bundles/']")
        # The name must match the ID card of the person at the counter.
        page.fill("input[name=id_number]", WALK_IN[0])
        page.fill("input[name=name]", "王建")
        page.click("main form button[type=submit]")
        assert "不一致" in page.inner_text("main")
        page.fill("input[name=id_number]", WALK_IN[0])
        page.fill("input[name=name]", WALK_IN[1])
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r"/staff/window/bundles/[\w-]+/apply/$"))
        _fill_form(page, "main form[enctype]")
        clerk.shot("11-window-bundle-apply")
        page.click("main form[enctype] button[type=submit]")
        page.wait_for_url(re.compile(r"/staff/window/bundles/filed/\d+/$"))
        clerk.shot("12-window-bundle-filed")
        hrefs = [
            a.get_attribute("href") or "" for a in page.query_selector_all("main a[href^='/staff/cases/']")
        ]
        case_ids = sorted({int(m.group(1)) for h in hrefs if (m := re.match(r"^/staff/cases/(\d+)/$", h))})
        assert len(case_ids) == 4
        cases = list(Case.objects.filter(pk__in=case_ids))
        assert {c.channel for c in cases} == {"bundle"}
        assert {c.applicant_name for c in cases} == {WALK_IN[1]}
        assert {c.submitted_by.username for c in cases if c.submitted_by} == {"clerk"}

        # Accepted at once, the 受理通知书 printed for the applicant.
        for case in cases:
            page = clerk.goto(f"/staff/cases/{case.pk}/")
            page.click("form[action$='/accept/'] button[type=submit]")
            page.wait_for_load_state()
        receipt = page.get_attribute("main a[href*='/notices/acceptance']", "href")
        assert receipt is not None
        assert clerk.pdf(receipt).startswith(b"%PDF-")
        clerk.shot("13-window-accepted")

        _approve_all(browser, base, demo, list(Case.objects.filter(pk__in=case_ids)))
        for case in cases:
            page = clerk.goto(f"/staff/cases/{case.pk}/")
            page.check("form[action$='/deliver/'] input[name=method][value=pickup]")
            page.click("form[action$='/deliver/'] button[type=submit]")
            page.wait_for_load_state()
        clerk.shot("14-window-delivered")
        done = Case.objects.filter(pk__in=case_ids)
        assert set(done.values_list("status", flat=True)) == {"completed"}
        assert set(done.values_list("delivery_method", flat=True)) == {"pickup"}
    finally:
        clerk.close()

"""In Chromium: the dashboard draws its charts, a bar opens the cases behind it, the tables export.
Set ``TONGBAN_SHOTS_DIR`` to keep screenshots."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright import sync_api

from tongban.dashboards.tests.conftest import END, START, World
from tongban.identity.tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
CHROMIUM = "/usr/bin/chromium"
SHOTS = os.environ.get("TONGBAN_SHOTS_DIR")


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


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_charts_drill_down_and_export(live_server: Any, browser: Any, refreshed: World) -> None:
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=identifier]", refreshed.supervisor.username)
        page.fill("input[name=password]", TEST_PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(re.compile(r"/(account|workbench)/"))
        page.goto(f"{live_server.url}/staff/dashboards/?start={START}&end={END}")
        page.wait_for_selector("#chart-departments canvas")
        assert page.locator(".chart canvas").count() == 6
        assert "办件量" in page.inner_text("main")
        _shot(page, "d01-dashboard")
        # the "late" bar of department A: ask ECharts where it is, click there
        x, y = page.evaluate(
            """() => {
                const el = document.getElementById('chart-departments');
                el.scrollIntoView({block: 'center'});
                const chart = echarts.getInstanceByDom(el);
                const bar = chart.getModel().getSeriesByIndex(1).getData().getItemLayout(0);
                const box = el.getBoundingClientRect();
                return [box.left + bar.x + bar.width / 2, box.top + bar.y + bar.height / 2];
            }"""
        )
        page.mouse.click(x, y)
        page.wait_for_url(re.compile(r"/staff/dashboards/cases/\?"))
        assert "kind=late" in page.url
        listing = page.inner_text("main")
        assert str(refreshed.cases["late"].number) in listing
        assert str(refreshed.cases["on_time"].number) not in listing
        _shot(page, "d02-drill-down")
        page.goto(f"{live_server.url}/staff/dashboards/?start={START}&end={END}")
        with page.expect_download() as download:
            page.click("text=导出全部表格为 Excel")
        workbook = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
        assert "按部门" in workbook.sheetnames
        assert not [e for e in errors if "favicon" not in e and "404" not in e], errors
    finally:
        context.close()

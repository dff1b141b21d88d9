"""Issue 6's acceptance walk in a real browser, on the demo city as ``seed_demo`` leaves it: the
supervisor's board shows the demo's overdue cases in red; 李娜 rates her concluded case badly and
the 公安局 finds the rectification task on its workbench; the dashboard draws its charts and exports
its tables to Excel. Set ``TONGBAN_SHOTS_DIR`` to keep screenshots.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tongban.cases.demo import KEY_PREFIX
from tongban.cases.models import Case
from tongban.identity.models import User
from tongban.portal.tests.test_browser_cases import (  # noqa: F401 - the fixtures are used by name
    Session,
    browser,
    demo,
)
from tongban.reviews.models import Rectification, Review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_board_is_red_a_bad_rating_reaches_the_department_and_the_dashboard_draws(
    live_server: Any,
    browser: Any,  # noqa: F811
    demo: dict[str, str],  # noqa: F811
) -> None:
    base = live_server.url
    supervisor = Session(browser, base, "supervisor", demo["supervisor"])
    lina = User.objects.get(name="李娜", kind="citizen")
    assert lina.resident_id  # citizens log in with their resident ID
    citizen = Session(browser, base, lina.resident_id, demo[lina.resident_id])
    approver = Session(browser, base, "approver.gaj", demo["approver.gaj"])
    try:
        # The board: the demo's overdue cases are red cards, listed with their rows in red.
        page = supervisor.goto("/staff/supervision/")
        assert "红牌" in page.inner_text("main")
        page = supervisor.goto("/staff/supervision/cases/?level=red")
        red_rows = page.locator("tr.sv-row-red")
        assert red_rows.count() > 0
        colour = page.evaluate(
            "() => getComputedStyle(document.querySelector('tr.sv-row-red .sv-badge-red')).backgroundColor"
        )
        assert colour == "rgb(179, 38, 30)"  # the red card's red (supervision.css)
        number = red_rows.first.locator("td a").inner_text()
        red = Case.objects.get(number=number)
        assert red.status == "in_review"
        assert red.due_at is not None
        assert red.due_at < timezone.now()
        supervisor.shot("o01-board-red")
        page.click(f"text={number}")
        page.wait_for_url(re.compile(r"/staff/supervision/cases/\d+/$"))
        assert "红牌" in page.inner_text("main")  # the case's timeline shows its card

        # 李娜 rates her concluded case 非常不满意; the 公安局 gets the rectification task.
        case = Case.objects.get(idempotency_key=f"{KEY_PREFIX}idcard-reissue-pickup")
        page = citizen.goto(f"/my/cases/{case.pk}/")
        page.click("text=去评价")
        page.wait_for_url(re.compile(rf"/reviews/case/{case.pk}/$"))
        page.click("label.level-button.level-1")
        page.fill("textarea[name=comment]", "补领等了很久，窗口说明不清楚。")
        citizen.shot("o02-bad-rating")
        page.click("text=提交评价")
        page.wait_for_load_state()
        review = Review.objects.get(case=case)
        assert review.level == 1
        rectification = Rectification.objects.get(review=review)
        assert rectification.department_id == case.department_id
        assert rectification.status == "open"

        page = approver.goto("/workbench/")
        assert "待整改" in page.inner_text("main") or "整改" in page.inner_text("main")
        page = approver.goto("/reviews/staff/")
        assert case.number in page.inner_text("main")
        approver.shot("o03-rectification-task")

        # The dashboard: charts drawn from the year of history, and every table to Excel.
        errors: list[str] = []
        page = supervisor.page
        page.on("pageerror", lambda error: errors.append(str(error)))
        page = supervisor.goto("/staff/dashboards/")
        page.wait_for_selector(".chart canvas")
        assert page.locator(".chart canvas").count() >= 6
        supervisor.shot("o04-dashboard")
        with page.expect_download() as download:
            page.click("text=导出全部表格为 Excel")
        workbook = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
        sheet = workbook["按部门"]
        assert sheet.max_row > 2  # a heading and the demo's departments
        assert not errors, errors
    finally:
        for session in (supervisor, citizen, approver):
            session.context.close()

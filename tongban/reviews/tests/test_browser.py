"""In Chromium: a citizen rates a concluded case badly from its case page, the department receives
the rectification on its workbench, records the callback and closes it; the citizen rates again.
Then the window tablet: the clerk starts a visit and the visitor taps a level."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api

from tongban.cases.models import Case
from tongban.identity.models import User
from tongban.identity.tests.factories import TEST_PASSWORD
from tongban.reviews.choices import RectificationStatus
from tongban.reviews.models import Rectification, Review

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.environ.get("TONGBAN_SHOTS_DIR", "")  # set it to keep screenshots of the pages


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"reviews-{name}.png"), full_page=True)


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


def session(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login/")
    page.fill("input[name=identifier]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r"/(account|workbench)/"))
    return page


def test_bad_rating_reaches_the_department_and_is_rectified(
    browser: Any, live_server: Any, completed: Case, citizen: User, approver: User, clerk: User
) -> None:
    base = live_server.url
    page = session(browser, base, citizen.username)
    page.goto(f"{base}/my/cases/{completed.pk}/")
    page.get_by_role("link", name="去评价").click()
    page.get_by_text("非常不满意", exact=True).click()
    page.locator("label.score-button[for=id_score_overall_4]").click()  # the 5th button: score 1
    page.fill("textarea[name=comment]", "材料被退回三次，每次说法不同。")
    shot(page, "rating")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_url(re.compile(rf"/reviews/case/{completed.pk}/$"))
    assert "整改并回访" in page.content()
    review = Review.objects.get(case=completed)
    assert review.level == 1
    assert review.scores == {"overall": 1}

    staff = session(browser, base, approver.username)
    staff.goto(f"{base}/workbench/")
    staff.get_by_role("link", name="待整改").click()
    staff.get_by_role("link", name="非常不满意").click()
    assert "材料被退回三次" in staff.content()
    shot(staff, "rectification")
    staff.fill("textarea[name=applicant_said]", "已电话致歉，办事人表示理解。")
    staff.get_by_role("button", name="保存回访记录").click()
    staff.get_by_role("button", name="办结整改").click()  # without a result: refused
    assert "办结整改须填写整改结果" in staff.content()
    staff.fill("textarea[name=result]", "统一了材料清单口径，并对承办人员进行培训。")
    staff.get_by_role("button", name="办结整改").click()
    assert "整改已办结" in staff.content()
    rectification = Rectification.objects.get(review=review)
    assert rectification.status == RectificationStatus.CLOSED
    assert rectification.callbacks.count() == 1

    page.goto(f"{base}/reviews/case/{completed.pk}/")
    page.locator("label.level-button[for=id_again-level_0]").click()  # 非常满意
    page.get_by_role("button", name="提交重新评价").click()
    assert Review.objects.filter(re_rating_of=review, level=5).exists()

    tablet = session(browser, base, clerk.username)
    tablet.goto(f"{base}/reviews/staff/visits/")
    tablet.get_by_role("button", name="显示评价页面").click()
    tablet.wait_for_url(re.compile(r"/reviews/visit/"))
    tablet.locator("label.level-button[for=id_level_1]").click()  # 满意
    shot(tablet, "tablet")
    tablet.get_by_role("button", name="提交").click()
    assert "谢谢您的评价" in tablet.content()
    assert Review.objects.filter(channel="onsite", level=4).count() == 1

"""The public service catalogue pages: browse, search, the service guide and what they refuse."""

from __future__ import annotations

import html
import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import Material, ServiceItem, Theme
from tongban.catalog.tests.factories import ServiceItemFactory
from tongban.identity.models import Department
from tongban.identity.tests.factories import DepartmentFactory, make_credit_code

pytestmark = pytest.mark.django_db

LIST = "/services/"
SEARCH = "/services/search/"


@pytest.fixture(autouse=True)
def _seeded_themes() -> None:
    """The themes a migration seeds: a transactional test elsewhere (live server) flushes them."""
    seed = importlib.import_module("tongban.catalog.migrations.0002_seed_themes")
    for order, (code, name, kind) in enumerate(seed.THEMES):
        Theme.objects.update_or_create(code=code, defaults={"name": name, "kind": kind, "sort_order": order})


def zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def department(name: str, code: str, sort_order: int = 0) -> Department:
    factory: Any = DepartmentFactory
    dept: Department = factory(
        name=name, code=code, credit_code=make_credit_code("341500"), sort_order=sort_order
    )
    return dept


def item(dept: Department, name: str, *, published: bool = True, **version: Any) -> ServiceItem:
    themes = version.pop("themes", [])
    factory: Any = ServiceItemFactory
    obj: ServiceItem = factory(
        department=dept,
        published=published,
        version__name=name,
        **{f"version__{k}": v for k, v in version.items()},
    )
    if themes:
        obj.versions.get().themes.set(Theme.objects.filter(code__in=themes))
    return obj


def guide_url(obj: ServiceItem) -> str:
    return reverse("portal:service_guide", args=[obj.implementation_code])


def names_listed(response: Any) -> list[str]:
    return re.findall(r'<h3><a href="/services/[^"]+/">([^<]+)</a></h3>', response.content.decode())


@pytest.fixture
def catalogue() -> dict[str, ServiceItem]:
    psb = department("六安市公安局", "t-psb", 1)
    health = department("六安市卫生健康委员会", "t-health", 2)
    market = department("六安市市场监督管理局", "t-market", 3)
    return {
        "id_card": item(
            psb,
            "居民身份证换领",
            conditions="居民身份证有效期满或损坏的本市户籍居民。",
            themes=["employment"],
        ),
        "birth": item(health, "出生医学证明签发", themes=["birth"], visits=0),
        "both": item(psb, "户口迁移", service_object="both"),
        "company": item(market, "企业设立登记", service_object="enterprise", themes=["start-up"]),
        "draft": item(psb, "身份证草稿事项", published=False),
    }


# --- browse ---------------------------------------------------------------------------------


def test_person_tab_lists_person_and_both_items_with_badges(client: Client, catalogue: Any) -> None:
    response = client.get(LIST)
    assert response.status_code == 200
    assert sorted(names_listed(response)) == sorted(["居民身份证换领", "出生医学证明签发", "户口迁移"])
    page = text(response)
    assert "六安市公安局" in page
    assert zh("No visit needed") in page
    assert zh("Level 3: online application and pre-review") in page
    assert re.search(r'aria-current="page">' + re.escape(zh("Services for individuals")), page)


def test_enterprise_tab_lists_enterprise_and_both_items(client: Client, catalogue: Any) -> None:
    response = client.get(LIST, {"obj": "enterprise"})
    assert sorted(names_listed(response)) == sorted(["企业设立登记", "户口迁移"])
    # The theme choices are the enterprise stages, not the life events.
    page = text(response)
    assert ">开办</option>" in page
    assert ">出生</option>" not in page


def test_filter_by_theme(client: Client, catalogue: Any) -> None:
    response = client.get(LIST, {"obj": "person", "theme": "birth"})
    assert names_listed(response) == ["出生医学证明签发"]
    assert '<option value="birth" selected>' in response.content.decode()


def test_filter_by_department(client: Client, catalogue: Any) -> None:
    psb = catalogue["id_card"].department
    response = client.get(LIST, {"department": str(psb.pk)})
    assert sorted(names_listed(response)) == sorted(["居民身份证换领", "户口迁移"])


def test_department_choices_only_offer_departments_with_published_items(
    client: Client, catalogue: Any
) -> None:
    department("没有事项的部门", "t-empty")
    page = text(client.get(LIST))
    assert "六安市卫生健康委员会" in page
    assert "没有事项的部门" not in page
    # The market regulator only has an enterprise item: not offered on the person tab.
    assert "六安市市场监督管理局" not in page


def test_bad_filter_values_are_ignored_not_errors(client: Client, catalogue: Any) -> None:
    response = client.get(LIST, {"obj": "martian", "theme": "nope", "department": "x1", "page": "zz"})
    assert response.status_code == 200
    assert len(names_listed(response)) == 3


def test_empty_filter_result_says_so(client: Client, catalogue: Any) -> None:
    response = client.get(LIST, {"theme": "after-death"})
    assert names_listed(response) == []
    assert zh(
        "No published service matches these filters. Try another theme or department, or search by name."
    ) in text(response)


def test_pagination_keeps_the_filters(client: Client) -> None:
    dept = department("六安市人力资源和社会保障局", "t-hr")
    for n in range(23):
        item(dept, f"社保事项{n:02d}")
    first = client.get(LIST, {"department": str(dept.pk)})
    assert len(names_listed(first)) == 20
    assert f"department={dept.pk}" in first.content.decode().split('rel="next"')[1].split(">")[0]
    second = client.get(LIST, {"department": str(dept.pk), "page": "2"})
    assert len(names_listed(second)) == 3


def test_drafts_and_retired_items_are_not_listed(client: Client, catalogue: Any) -> None:
    retire(catalogue["birth"])
    names = names_listed(client.get(LIST))
    assert "出生医学证明签发" not in names
    assert "身份证草稿事项" not in names


def test_list_query_count_is_bounded(client: Client, django_assert_max_num_queries: Any) -> None:
    dept = department("六安市民政局", "t-civil")
    for n in range(20):
        item(dept, f"民政事项{n:02d}", themes=["marriage-childbirth"])
    # Themes, departments offered, the page count and the page itself (department joined).
    with django_assert_max_num_queries(4):
        response = client.get(LIST, {"theme": "marriage-childbirth"})
    assert len(names_listed(response)) == 20


# --- search ---------------------------------------------------------------------------------


def test_search_finds_items_by_a_segment_of_their_name(client: Client, catalogue: Any) -> None:
    response = client.get(SEARCH, {"q": "身份证"})
    assert response.status_code == 200
    # The draft also has 身份证 in its name: the public never sees it.
    assert names_listed(response) == ["居民身份证换领"]
    assert 'value="身份证"' in response.content.decode()


def test_search_without_results_says_what_to_do(client: Client, catalogue: Any) -> None:
    response = client.get(SEARCH, {"q": "宇宙飞船"})
    assert response.status_code == 200
    assert names_listed(response) == []
    assert zh(
        "Nothing matches. Try fewer or shorter words, or browse the services by life event or department."
    ) in text(response)


@pytest.mark.parametrize("q", ["", "   ", None])
def test_empty_search_asks_for_words(client: Client, q: str | None) -> None:
    response = client.get(SEARCH, {"q": q} if q is not None else {})
    assert response.status_code == 200
    assert zh("Type a few words describing the service you need, for example 身份证 or 开办企业.") in text(
        response
    )


def test_overlong_search_is_refused_politely(client: Client, catalogue: Any) -> None:
    response = client.get(SEARCH, {"q": "身份证" * 40})
    assert response.status_code == 400
    page = text(response)
    assert zh("Your search is too long: please use at most %(max)d characters.") % {"max": 100} in page
    assert names_listed(response) == []


def test_search_of_punctuation_only_finds_nothing_without_error(client: Client, catalogue: Any) -> None:
    response = client.get(SEARCH, {"q": "%%%_'\""})
    assert response.status_code == 200
    assert names_listed(response) == []


# --- service guide ----------------------------------------------------------------------------


def test_guide_shows_the_published_version(client: Client, catalogue: Any) -> None:
    obj = catalogue["id_card"]
    version = obj.current_version
    assert version is not None
    version.legal_basis = "《中华人民共和国居民身份证法》第十一条"
    version.window_address = "六安市政务服务中心一楼公安窗口"
    version.window_hours = "工作日 9:00-17:00"
    version.consultation_phone = "0564-3377110"
    version.fee_charged = True
    version.fee_amount = "20元"
    version.fee_basis = "发改价格〔2003〕2322号"
    version.save()
    Material.objects.create(
        version=version, name="户口簿", source="e_licence", source_code="hukou", sort_order=5, required=False
    )
    response = client.get(guide_url(obj))
    assert response.status_code == 200
    page = text(response)
    for expected in [
        "居民身份证换领",
        "六安市公安局",
        "居民身份证有效期满或损坏的本市户籍居民。",
        "居民身份证",
        "申请表",
        "户口簿",
        "《中华人民共和国居民身份证法》第十一条",
        "六安市政务服务中心一楼公安窗口",
        "工作日 9:00-17:00",
        "0564-3377110",
        "20元",
        "发改价格〔2003〕2322号",
        obj.implementation_code,
        zh("No need to submit"),
        zh("Electronic licence"),
        zh("Statutory time limit"),
    ]:
        assert expected in page, expected
    # Only the e-licence material is marked as not to be submitted.
    assert page.count(zh("No need to submit")) == 2  # the badge and the explanation above the table
    assert zh("Level 3: online application and pre-review") in page


def test_guide_without_online_application_sends_the_applicant_to_the_window(
    client: Client, catalogue: Any
) -> None:
    obj = catalogue["birth"]
    version = obj.current_version
    assert version is not None
    version.window_address = "六安市妇幼保健院门诊二楼"
    version.online_depth = 1
    version.channels = ["window"]
    version.save()
    page = text(client.get(guide_url(obj)))
    assert zh("Apply in person at:") in page
    assert "六安市妇幼保健院门诊二楼" in page
    assert zh("Apply online") not in page


def test_guide_links_to_the_online_hall(client: Client, catalogue: Any) -> None:
    obj = catalogue["id_card"]
    version = obj.current_version
    assert version is not None
    version.window_address = "六安市政务服务中心一楼"
    version.save()
    page = client.get(guide_url(obj)).content.decode()
    apply_url = reverse("hall:apply", args=[obj.implementation_code])
    assert f'<a class="button" href="{apply_url}">{zh("Apply online")}</a>' in page
    assert zh("Or apply in person at:") in html.unescape(page)
    # An item that cannot be applied for online (level 1, window only) keeps the window.
    version.online_depth = 1
    version.channels = ["window"]
    version.save()
    page = html.unescape(client.get(guide_url(obj)).content.decode())
    assert zh("Apply online") not in page
    assert zh("Apply in person at:") in page


def test_guide_shows_the_current_version_not_an_older_one(client: Client, catalogue: Any) -> None:
    obj = catalogue["company"]
    old = obj.versions.get()
    new = old.__class__.objects.create(
        item=obj,
        number=2,
        status=VersionStatus.DRAFT,
        name="企业设立登记（第二版）",
        item_type=old.item_type,
        level=old.level,
        statutory_days=10,
        promised_days=1,
        service_object="enterprise",
    )
    old.status = VersionStatus.RETIRED
    old.save(update_fields=["status"])
    new.status = VersionStatus.PUBLISHED
    new.published_at = timezone.now()
    new.save(update_fields=["status", "published_at"])
    obj.current_version = new
    obj.save(update_fields=["current_version"])
    page = text(client.get(guide_url(obj)))
    assert "企业设立登记（第二版）" in page
    assert "居民身份证" not in page  # v1's materials stay with v1


def retire(obj: ServiceItem) -> None:
    version = obj.versions.get(status=VersionStatus.PUBLISHED)
    version.status = VersionStatus.RETIRED
    version.save(update_fields=["status"])
    obj.current_version = None
    obj.retired_at = timezone.now()
    obj.save(update_fields=["current_version", "retired_at"])


@pytest.mark.parametrize("which", ["draft", "retired", "unknown", "overlong"])
def test_unavailable_items_get_the_portal_404(client: Client, catalogue: Any, which: str) -> None:
    if which == "retired":
        retire(catalogue["birth"])
        url = guide_url(catalogue["birth"])
    elif which == "draft":
        url = guide_url(catalogue["draft"])
    elif which == "unknown":
        url = "/services/91341500MA2XXXXX0X000001/"
    else:
        url = "/services/" + "9" * 300 + "/"
    response = client.get(url)
    assert response.status_code == 404
    assert zh("Page not found") in text(response)
    assert "身份证草稿事项" not in text(response)


def test_guide_query_count_is_bounded(
    client: Client, catalogue: Any, django_assert_max_num_queries: Any
) -> None:
    obj = catalogue["id_card"]
    # The item's id, its version (department joined), the materials and the themes.
    with django_assert_max_num_queries(4):
        response = client.get(guide_url(obj))
    assert response.status_code == 200


def test_guide_in_english(client: Client, catalogue: Any) -> None:
    obj = catalogue["id_card"]
    version = obj.current_version
    assert version is not None
    Material.objects.create(version=version, name="户口簿", source="shared_data", source_code="population")
    response = client.get(guide_url(obj), HTTP_ACCEPT_LANGUAGE="en")
    page = text(response)
    assert '<html lang="en">' in page
    assert "Service guide" in page
    assert "No need to submit" in page
    assert "Shared data resource" in page


def test_pages_refuse_post(client: Client, catalogue: Any) -> None:
    assert client.post(LIST).status_code == 405
    assert client.post(guide_url(catalogue["id_card"])).status_code == 405


# --- home -------------------------------------------------------------------------------------


def test_home_has_a_labelled_search_box_and_catalogue_links(client: Client) -> None:
    page = client.get("/").content.decode()
    assert re.search(r'<label for="home-q">', page)
    assert re.search(r'<input type="search" id="home-q" name="q"', page)
    assert 'action="/services/search/"' in page
    assert 'href="/services/?obj=enterprise"' in page
    assert 'href="/services/?obj=person&amp;theme=birth"' in page


def test_theme_link_from_home_works(client: Client, catalogue: Any) -> None:
    response = client.get("/services/?obj=person&theme=birth")
    assert names_listed(response) == ["出生医学证明签发"]


# --- in a real browser ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.environ.get("TONGBAN_SHOTS_DIR", "")


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Debian's Chromium through Playwright, as in test_browser.py."""
    from playwright import sync_api

    # Playwright's sync API runs an event loop in this thread; the ORM calls made here are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
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


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "horizontal scrolling"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_citizen_searches_and_reads_the_guide(live_server: Any, chromium: Any) -> None:
    psb = department("六安市公安局", "b-psb", 1)
    obj = item(
        psb,
        "居民身份证换领",
        conditions="居民身份证有效期满、损坏或登记内容变更的本市户籍居民。",
        themes=["employment"],
        window_address="六安市政务服务中心一楼公安综合窗口（梅山南路 1 号）",
        window_hours="周一至周五 9:00-12:00，13:30-17:00",
        consultation_phone="0564-3377110",
    )
    version = obj.versions.get()
    Material.objects.create(
        version=version, name="居民户口簿", source="e_licence", source_code="hukou-book", sort_order=2
    )
    item(department("六安市民政局", "b-civil", 2), "内地居民婚姻登记", themes=["marriage-childbirth"])
    base = live_server.url

    for width, suffix in [(1280, "desktop"), (390, "390")]:
        context = chromium.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/")
        fits(page, width)
        shot(page, f"catalog-home-{suffix}")
        # The search box is labelled, and reached by its label.
        page.get_by_label(zh("Search services")).fill("身份证")
        page.locator(".home-search button[type=submit]").click()
        page.wait_for_url(re.compile(r"/services/search/\?q="))
        assert page.locator("h1").inner_text() == zh("Search services")
        results = page.locator(".service-entry h3 a")
        assert results.all_inner_texts() == ["居民身份证换领"]
        fits(page, width)
        shot(page, f"catalog-search-{suffix}")

        results.first.click()
        page.wait_for_url(f"{base}{guide_url(obj)}")
        assert page.locator("h1").inner_text() == "居民身份证换领"
        materials = page.locator("table.stack tbody tr")
        assert materials.count() == 3
        assert zh("No need to submit") in materials.nth(2).inner_text()
        assert zh("No need to submit") not in materials.nth(0).inner_text()
        assert "六安市政务服务中心一楼公安综合窗口" in page.locator(".guide-apply").inner_text()
        fits(page, width)
        shot(page, f"catalog-guide-{suffix}")

        page.goto(f"{base}/services/")
        assert page.locator(".service-entry").count() == 2
        page.select_option("#filter-theme", "marriage-childbirth")
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url(re.compile(r"theme=marriage-childbirth"))
        assert page.locator(".service-entry h3 a").all_inner_texts() == ["内地居民婚姻登记"]
        fits(page, width)
        shot(page, f"catalog-list-{suffix}")
        context.close()

"""Themed bundle pages: list, guide, the one application, combined progress, search, administration."""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.bundles import selectors, services
from tongban.bundles.choices import BundleStatus
from tongban.bundles.models import Bundle, BundleApplication
from tongban.cases.choices import Channel
from tongban.cases.models import Case
from tongban.cases.tests.factories import pdf_upload, published_item
from tongban.catalog.models import ServiceItem
from tongban.catalog.tests.factories import DEFAULT_FORM
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db

CHILD_NAME: dict[str, Any] = {
    "key": "child_name",
    "label": "新生儿姓名",
    "type": "text",
    "required": True,
    "help_text": "",
    "options": [],
    "validation": {"max_length": 20},
}


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def items(city: Department, department: Department) -> list[ServiceItem]:
    health: Any = DepartmentFactory(
        name="六安市卫生健康委员会", code="city-wjw", division_code="341500", parent=city
    )
    first = published_item(health, name="出生医学证明签发")
    version = first.current_version
    assert version is not None
    version.form_schema = [*copy.deepcopy(DEFAULT_FORM), CHILD_NAME]
    version.save(update_fields=["form_schema"])
    return [first, published_item(department, name="出生登记", promised_days=10)]


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


@pytest.fixture
def administrator(city: Department) -> Any:
    return StaffFactory(department=city, roles=["administrator"])


@pytest.fixture
def bundle(items: list[ServiceItem], administrator: User) -> Bundle:
    draft = services.bundle_create(
        by=administrator, code="newborn", name="新生儿出生一件事", description="出生一次办。", items=items
    )
    return services.bundle_publish(bundle=draft, by=administrator)


def _post(bundle: Bundle, **overrides: Any) -> dict[str, Any]:
    keys = {m.name: m.input_name for m in selectors.bundle_guide(bundle).uploads}
    data: dict[str, Any] = {
        "applicant_name": "李娜",
        "contact_phone": "13905640102",
        "remarks": "",
        "child_name": "王小宝",
        "idempotency_key": "k" * 24,
        keys["居民身份证"]: pdf_upload("身份证.pdf"),
        keys["申请表"]: pdf_upload("申请表.pdf"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_list_and_the_guide(client: Client, bundle: Bundle) -> None:
    listing = text(client.get(reverse("bundles:list")))
    assert "新生儿出生一件事" in listing
    page = client.get(reverse("bundles:detail", args=["newborn"]))
    assert page.status_code == 200
    body = text(page)
    assert "出生医学证明签发" in body
    assert "六安市卫生健康委员会" in body
    assert "六安市公安局" in body
    assert body.count("<strong>居民身份证</strong>") == 1  # once for both items
    assert "10 个工作日" in body  # the longest item
    assert reverse("bundles:apply", args=["newborn"]) in body


def test_an_unpublished_or_unknown_bundle_is_not_found(
    client: Client, bundle: Bundle, administrator: User
) -> None:
    services.bundle_withdraw(bundle=bundle, by=administrator)
    assert client.get(reverse("bundles:detail", args=["newborn"])).status_code == 404
    assert client.get(reverse("bundles:detail", args=["nothing"])).status_code == 404
    assert "新生儿出生一件事" not in text(client.get(reverse("bundles:list")))


def test_applying_needs_a_login(client: Client, bundle: Bundle) -> None:
    response = client.get(reverse("bundles:apply", args=["newborn"]))
    assert response.status_code == 302
    assert reverse("portal:login") in response["Location"]


def test_one_submission_files_every_case(client: Client, bundle: Bundle, citizen: User) -> None:
    client.force_login(citizen)
    form = client.get(reverse("bundles:apply", args=["newborn"]))
    body = text(form)
    assert body.count('name="contact_phone"') == 1
    assert 'name="child_name"' in body
    response = client.post(reverse("bundles:apply", args=["newborn"]), _post(bundle))
    application = BundleApplication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bundles:progress", args=[application.pk])
    assert Case.objects.filter(channel=Channel.BUNDLE).count() == 2
    # The same form sent again (a double click) gives the same application.
    again = client.post(reverse("bundles:apply", args=["newborn"]), _post(bundle))
    assert again["Location"] == response["Location"]
    assert Case.objects.count() == 2
    progress = text(client.get(response["Location"]))
    for case in Case.objects.all():
        assert reverse("hall:case_detail", args=[case.pk]) in progress
        assert str(case.number) in progress
    assert "六安市公安局" in progress
    assert "办理中" in progress or "进行中" in progress


def test_bad_input_shows_every_problem_and_files_nothing(
    client: Client, bundle: Bundle, citizen: User
) -> None:
    client.force_login(citizen)
    keys = {m.name: m.input_name for m in selectors.bundle_guide(bundle).uploads}
    response = client.post(
        reverse("bundles:apply", args=["newborn"]),
        _post(bundle, contact_phone="12", **{keys["居民身份证"]: None}),
    )
    assert response.status_code == 400
    body = text(response)
    assert "居民身份证" in body
    assert "11 位手机号" in body or "手机号码" in body
    assert not Case.objects.exists()
    assert not BundleApplication.objects.exists()


def test_staff_cannot_apply(client: Client, bundle: Bundle, administrator: User) -> None:
    client.force_login(administrator)
    assert client.get(reverse("bundles:apply", args=["newborn"])).status_code == 403


def test_another_users_application_is_404(client: Client, bundle: Bundle, citizen: User) -> None:
    application = services.bundle_apply(
        bundle=bundle,
        applicant=citizen,
        form_data={"applicant_name": "李娜", "contact_phone": "13905640102", "child_name": "王小宝"},
        files={m.key: pdf_upload() for m in selectors.bundle_guide(bundle).uploads},
        by=citizen,
    )
    url = reverse("bundles:progress", args=[application.pk])
    other: Any = CitizenFactory()
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert "新生儿出生一件事" not in text(client.get(reverse("bundles:mine")))
    client.force_login(citizen)
    assert client.get(url).status_code == 200
    assert "新生儿出生一件事" in text(client.get(reverse("bundles:mine")))


def test_the_service_search_shows_matching_bundles_first(client: Client, bundle: Bundle) -> None:
    body = text(client.get(reverse("portal:service_search"), {"q": "新生儿出生"}))
    assert reverse("bundles:detail", args=["newborn"]) in body
    assert body.index("新生儿出生一件事") < body.index("出生医学证明签发")


def test_home_and_services_pages_link_the_bundles(client: Client) -> None:
    for name in ("portal:home", "portal:service_list"):
        assert reverse("bundles:list") in text(client.get(reverse(name)))


def test_administrators_publish_and_withdraw(
    client: Client, items: list[ServiceItem], administrator: User
) -> None:
    draft = services.bundle_create(by=administrator, code="newborn", name="新生儿出生一件事", items=items)
    client.force_login(administrator)
    assert "新生儿出生一件事" in text(client.get(reverse("bundles:admin_list")))
    client.post(reverse("bundles:admin_publish", args=[draft.pk]), {"action": "publish"})
    draft.refresh_from_db()
    assert draft.status == BundleStatus.PUBLISHED
    client.post(reverse("bundles:admin_publish", args=[draft.pk]), {"action": "withdraw"})
    draft.refresh_from_db()
    assert draft.status == BundleStatus.DRAFT


def test_the_administration_is_for_administrators_only(client: Client, bundle: Bundle, citizen: User) -> None:
    clerk: Any = StaffFactory(roles=["window_clerk"])
    client.force_login(clerk)
    assert client.get(reverse("bundles:admin_list")).status_code == 403
    assert client.post(reverse("bundles:admin_publish", args=[bundle.pk])).status_code == 403
    client.force_login(citizen)
    assert client.get(reverse("bundles:admin_list")).status_code == 403

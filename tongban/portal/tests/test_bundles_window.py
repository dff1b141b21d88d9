"""A themed bundle at the one window: find it, identify the applicant, form and scans, accept each case."""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext

from tongban.bundles import selectors, services
from tongban.bundles.models import Bundle, BundleApplication
from tongban.cases.choices import CaseStatus, Channel, MaterialOrigin
from tongban.cases.models import Case
from tongban.cases.tests.factories import pdf_upload, published_item
from tongban.catalog.models import ServiceItem
from tongban.catalog.tests.factories import DEFAULT_FORM
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory
from tongban.portal.views_casework import WINDOW_SESSION_KEY

pytestmark = pytest.mark.django_db

WINDOW = reverse("casework:window_search")
IDENTIFY = reverse("casework:window_bundle_identify", args=["newborn"])
APPLY = reverse("casework:window_bundle_apply", args=["newborn"])
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
def _setup(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STAFF_2FA = "optional"


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
    return [first, published_item(department, name="出生登记")]


@pytest.fixture
def bundle(items: list[ServiceItem], city: Department) -> Bundle:
    administrator: Any = StaffFactory(department=city, roles=["administrator"])
    draft = services.bundle_create(
        by=administrator, code="newborn", name="新生儿出生一件事", description="出生一次办。", items=items
    )
    return services.bundle_publish(bundle=draft, by=administrator)


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(
        name="六安市政务服务中心", code="city-centre", division_code="341500", parent=city
    )
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def county_clerk(db: None) -> Any:
    county = DepartmentFactory(
        name="金安区数据资源局", code="jinan-centre", level="county", division_code="341502"
    )
    return StaffFactory(department=county, roles=["window_clerk"])


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def identify(client: Client, person: User, name: str | None = None) -> Any:
    return client.post(IDENTIFY, {"id_number": person.resident_id, "name": name or person.name})


def answers(client: Client, bundle: Bundle, **overrides: Any) -> dict[str, Any]:
    """The form as the clerk sends it: the key the page gave, the answers, the ID card scanned only."""
    page = client.get(APPLY)
    assert page.status_code == 200
    keys = {m.name: m.input_name for m in selectors.bundle_guide(bundle).uploads}
    data: dict[str, Any] = {
        "idempotency_key": page.context["idempotency_key"],
        "applicant_name": "李娜",
        "contact_phone": "13905640102",
        "remarks": "",
        "child_name": "王小宝",
        keys["居民身份证"]: pdf_upload("身份证扫描.pdf"),
    }
    data.update(overrides)
    return data


def test_the_window_search_lists_the_bundle(clerk: User, bundle: Bundle) -> None:
    response = logged_in(clerk).get(WINDOW, {"q": "出生"})
    assert response.status_code == 200
    assert [b.code for b in response.context["bundles"]] == ["newborn"]
    assert IDENTIFY in text(response)


def test_happy_path_files_every_case_for_the_applicant(clerk: User, citizen: User, bundle: Bundle) -> None:
    client = logged_in(clerk)
    response = identify(client, citizen)
    assert response.status_code == 302
    assert response["Location"] == APPLY
    page = client.get(APPLY)
    body = text(page)
    assert citizen.name in body
    assert body.count('name="contact_phone"') == 1  # the merged form asks once
    response = client.post(APPLY, answers(client, bundle))
    application = BundleApplication.objects.get()
    filed = reverse("casework:window_bundle_filed", args=[application.pk])
    assert response.status_code == 302
    assert response["Location"] == filed
    assert (application.applicant_id, application.submitted_by_id) == (citizen.pk, clerk.pk)
    cases = list(Case.objects.order_by("pk"))
    assert len(cases) == 2
    for case in cases:
        assert (case.channel, case.status) == (Channel.BUNDLE, CaseStatus.SUBMITTED)
        assert (case.applicant_id, case.submitted_by_id) == (citizen.pk, clerk.pk)
        assert [m.origin for m in case.materials.all()] == [MaterialOrigin.WINDOW_SCAN]
    assert AuditEvent.objects.get(action="bundle.applied").actor_id == clerk.pk
    assert WINDOW_SESSION_KEY not in client.session  # the next applicant is identified anew
    # The clerk goes on to each case to accept it, the missing 申请表 deferred (容缺).
    listing = text(client.get(filed))
    for case in cases:
        assert reverse("casework:case_detail", args=[case.pk]) in listing
        assert str(case.number) in listing
    first = cases[0]
    assert client.get(reverse("casework:case_detail", args=[first.pk])).context["submitted_by_clerk"]
    form_id = first.version.materials.get(name="申请表").pk
    accept = reverse("casework:case_accept", args=[first.pk])
    assert client.post(accept, {"deferred": [form_id]}).status_code == 302
    first.refresh_from_db()
    assert first.status == CaseStatus.IN_REVIEW


def test_identification_mismatch_is_refused(clerk: User, citizen: User, bundle: Bundle) -> None:
    client = logged_in(clerk)
    response = identify(client, citizen, name="某某某")
    assert response.status_code == 400
    assert gettext("The ID number and the name do not match.") in text(response)
    assert WINDOW_SESSION_KEY not in client.session
    response = client.get(APPLY)
    assert response.status_code == 302
    assert response["Location"] == IDENTIFY


def test_identification_for_an_item_does_not_open_the_bundle(
    clerk: User, citizen: User, bundle: Bundle, items: list[ServiceItem]
) -> None:
    client = logged_in(clerk)
    item_url = reverse("casework:window_identify", args=[items[0].pk])
    assert client.post(item_url, {"id_number": citizen.resident_id, "name": citizen.name}).status_code == 302
    assert client.get(APPLY).status_code == 302


def test_a_county_clerk_cannot_file_a_city_bundle(county_clerk: User, citizen: User, bundle: Bundle) -> None:
    client = logged_in(county_clerk)
    assert client.get(WINDOW, {"q": "出生"}).context["bundles"] == []
    assert client.get(IDENTIFY).status_code == 404
    assert identify(client, citizen).status_code == 404
    assert client.post(APPLY, {"idempotency_key": "k" * 24}).status_code == 404
    assert not BundleApplication.objects.exists()


@pytest.mark.parametrize("role", ["approver", "supervisor", "administrator"])
def test_a_non_clerk_gets_403(role: str, department: Department, citizen: User, bundle: Bundle) -> None:
    client = logged_in(StaffFactory(department=department, roles=[role]))
    assert client.get(IDENTIFY).status_code == 403
    assert client.post(APPLY, {"idempotency_key": "k" * 24}).status_code == 403


def test_a_citizen_gets_403(citizen: User, bundle: Bundle) -> None:
    assert logged_in(citizen).get(IDENTIFY).status_code == 403


def test_double_submit_files_one_application(clerk: User, citizen: User, bundle: Bundle) -> None:
    client = logged_in(clerk)
    identify(client, citizen)
    data = answers(client, bundle)
    first = client.post(APPLY, data)
    assert first.status_code == 302
    # The same form again (a double click, a reload): the one application's page, nothing new filed.
    data = {**data, next(k for k in data if k.startswith("material_")): pdf_upload("身份证扫描.pdf")}
    again = client.post(APPLY, data)
    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    assert BundleApplication.objects.count() == 1
    assert Case.objects.count() == 2


def test_a_refused_application_shows_on_the_form_and_files_nothing(
    clerk: User, citizen: User, bundle: Bundle
) -> None:
    client = logged_in(clerk)
    identify(client, citizen)
    response = client.post(APPLY, answers(client, bundle, child_name=""))
    assert response.status_code == 400
    assert response.context["form"].errors["child_name"]
    assert not Case.objects.exists()
    # Still identified: the clerk corrects the answer and submits again.
    assert client.post(APPLY, answers(client, bundle)).status_code == 302


def test_another_clerks_filed_application_is_not_shown(
    clerk: User, citizen: User, bundle: Bundle, city: Department
) -> None:
    client = logged_in(clerk)
    identify(client, citizen)
    client.post(APPLY, answers(client, bundle))
    application = BundleApplication.objects.get()
    url = reverse("casework:window_bundle_filed", args=[application.pk])
    colleague: Any = StaffFactory(department=clerk.department, roles=["window_clerk"])
    assert logged_in(colleague).get(url).status_code == 404
    other = CitizenFactory()
    assert logged_in(other).get(url).status_code == 403

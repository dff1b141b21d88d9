"""The catalogue's pages: they work, they show errors on fields, and they refuse what is not yours.

Every id-taking page is tried with another department's draft (404: it does not exist for you) and
every review step with a provider's data officer (403: only the catalogue office reviews).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from tongban.catalog.tests.factories import ServiceItemFactory
from tongban.identity.tests.factories import StaffFactory
from tongban.resources import excel, services
from tongban.resources.choices import CorrectionStatus, DemandStatus, Duty, ResourceStatus
from tongban.resources.models import DataResource, ResourceCorrection, ResourceDemand, ResourceResponsibility
from tongban.resources.tests import factories

pytestmark = pytest.mark.django_db

BASE = "/staff/resources/"


def _as(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def _post_data(
    values: dict[str, Any], items: list[dict[str, Any]], *, initial: int = 0, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        k: v for k, v in values.items() if k not in ("items", "related_codes", "sharing_modes")
    }
    data["sharing_modes"] = values.get("sharing_modes", [])
    data["related_codes"] = "、".join(values.get("related_codes", []))
    data.update(
        {
            "items-TOTAL_FORMS": str(len(items)),
            "items-INITIAL_FORMS": str(initial),
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
        }
    )
    for index, item in enumerate(items):
        for name, value in item.items():
            if isinstance(value, bool):
                if value:
                    data[f"items-{index}-{name}"] = "on"
            elif value is not None:
                data[f"items-{index}-{name}"] = value
    data.update(extra)
    return data


@pytest.fixture
def world(police_officer: Any, civil_officer: Any, reviewer: Any) -> dict[str, Any]:
    """A draft of the civil-affairs bureau (invisible to the police) and what hangs off it."""
    civil_draft = factories.draft(civil_officer, name="民政草稿")
    civil_published = factories.published(civil_officer, reviewer, name="民政已发布", heading_code="002")
    entry = services.responsibility_set(
        resource=civil_published,
        by=civil_officer,
        department=civil_officer.department,
        duty=Duty.COLLECT,
        contact_name="刘红梅",
        contact_phone="13905640202",
    )
    police_published = factories.published(police_officer, reviewer, name="公安已发布")
    demand = services.demand_create(
        by=civil_officer,
        department=civil_officer.department,
        resource=police_published,
        purpose="核对身份",
    )
    return {
        "civil_draft": civil_draft,
        "civil_published": civil_published,
        "entry": entry,
        "police_published": police_published,
        "demand": demand,
    }


# --- access ---------------------------------------------------------------------------------


def test_the_pages_are_for_data_officers_and_administrators(client: Client, police: Any) -> None:
    assert client.get(BASE).status_code == 302  # to the login page
    clerk = StaffFactory(department=police, roles=["window_clerk"])
    assert _as(client, clerk).get(BASE).status_code == 403
    administrator = factories.officer(police, role="administrator")
    assert _as(client, administrator).get(BASE).status_code == 200


GET_PAGES = ["{pk}/", "{pk}/edit/", "{pk}/correction/", "demands/new/?resource={pk}"]
POST_PAGES = [
    "{pk}/submit/",
    "{pk}/withdraw/",
    "{pk}/publish/",
    "{pk}/return/",
    "{pk}/retire/",
    "{pk}/discard/",
    "{pk}/correction/",
    "{pk}/correction/submit/",
    "{pk}/correction/withdraw/",
    "{pk}/correction/apply/",
    "{pk}/correction/return/",
    "{pk}/correction/discard/",
    "{pk}/responsibilities/",
    "{pk}/responsibilities/1/remove/",
]


@pytest.mark.parametrize("path", GET_PAGES)
def test_another_departments_draft_is_not_found_get(
    client: Client, world: dict[str, Any], police_officer: Any, path: str
) -> None:
    response = _as(client, police_officer).get(BASE + path.format(pk=world["civil_draft"].pk))
    assert response.status_code == 404


@pytest.mark.parametrize("path", POST_PAGES)
def test_another_departments_draft_is_not_found_post(
    client: Client, world: dict[str, Any], police_officer: Any, path: str
) -> None:
    draft = world["civil_draft"]
    response = _as(client, police_officer).post(BASE + path.format(pk=draft.pk), {"reason": "x", "note": "x"})
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == ResourceStatus.DRAFT


def test_another_departments_demand_and_entry_are_not_found(
    client: Client, world: dict[str, Any], police_officer: Any, reviewer: Any
) -> None:
    other = services.demand_create(
        by=reviewer,
        department=reviewer.department,
        resource=world["civil_published"],
        purpose="办事核验",
    )
    _as(client, police_officer)
    for path in (f"demands/{other.pk}/", f"demands/{other.pk}/answer/", f"demands/{other.pk}/withdraw/"):
        method = client.get if path.endswith(f"{other.pk}/") else client.post
        assert method(BASE + path, {"status": "satisfied"}).status_code == 404, path
    # A responsibility entry is only reached through its own resource.
    police_resource = world["police_published"]
    response = client.post(f"{BASE}{police_resource.pk}/responsibilities/{world['entry'].pk}/remove/")
    assert response.status_code == 404
    assert ResourceResponsibility.objects.filter(pk=world["entry"].pk).exists()
    other.refresh_from_db()
    assert other.status == DemandStatus.OPEN


def test_only_the_office_reviews(client: Client, police_officer: Any, reviewer: Any) -> None:
    resource = factories.draft(police_officer)
    services.resource_submit(resource=resource, by=police_officer)
    _as(client, police_officer)
    assert client.get(BASE + "review/").status_code == 403
    assert client.post(f"{BASE}{resource.pk}/publish/").status_code == 403
    assert client.post(f"{BASE}{resource.pk}/return/", {"reason": "x"}).status_code == 403
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.IN_REVIEW
    _as(client, reviewer)
    assert resource.name in client.get(BASE + "review/").content.decode()
    assert client.post(f"{BASE}{resource.pk}/publish/", {"note": "同意"}).status_code == 302
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PUBLISHED
    _as(client, police_officer)
    assert client.post(f"{BASE}{resource.pk}/retire/", {"reason": "x"}).status_code == 403
    correction = services.correction_save(resource=resource, by=police_officer, reason="补", summary="新摘要")
    services.correction_submit(correction=correction, by=police_officer)
    assert client.post(f"{BASE}{resource.pk}/correction/apply/").status_code == 403
    assert client.post(f"{BASE}{resource.pk}/correction/return/", {"reason": "x"}).status_code == 403
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.IN_REVIEW


def test_a_published_resource_of_another_department_is_read_only(
    client: Client, world: dict[str, Any], police_officer: Any
) -> None:
    resource = world["civil_published"]
    _as(client, police_officer)
    page = client.get(f"{BASE}{resource.pk}/")
    assert page.status_code == 200
    assert "刘红梅" not in page.content.decode()  # the contact is masked for the police
    assert "刘**" in page.content.decode()
    assert client.get(f"{BASE}{resource.pk}/edit/").status_code == 403
    assert client.get(f"{BASE}{resource.pk}/correction/").status_code == 403
    assert client.post(f"{BASE}{resource.pk}/correction/", {}).status_code == 403
    assert client.post(f"{BASE}{resource.pk}/submit/").status_code == 403
    assert client.post(f"{BASE}{resource.pk}/responsibilities/{world['entry'].pk}/remove/").status_code == 403


# --- working through the pages -----------------------------------------------------------------


def test_a_data_officer_registers_edits_and_submits(client: Client, police: Any, police_officer: Any) -> None:
    _as(client, police_officer)
    assert client.get(BASE + "new/").status_code == 200
    values = factories.values(name="页面登记的资源")
    items = [*factories.items(), {"key": "", "name": "", "data_type": "string"}]  # an empty row is ignored
    response = client.post(BASE + "new/", _post_data({**values, "provider": police.pk}, items))
    assert response.status_code == 302, response.content.decode()[:2000]
    resource = DataResource.objects.get(name="页面登记的资源")
    assert response["Location"] == f"{BASE}{resource.pk}/"
    assert resource.items.count() == 3
    edit = client.get(f"{BASE}{resource.pk}/edit/")
    assert edit.status_code == 200
    items = factories.items()
    items[2] = {**items[2], "DELETE": True}
    response = client.post(
        f"{BASE}{resource.pk}/edit/", _post_data({**values, "summary": "改过的摘要"}, items, initial=3)
    )
    assert response.status_code == 302
    resource.refresh_from_db()
    assert resource.summary == "改过的摘要"
    assert list(resource.items.values_list("key", flat=True)) == ["resident_id", "name"]
    assert client.post(f"{BASE}{resource.pk}/submit/").status_code == 302
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.IN_REVIEW


def test_errors_land_on_their_fields_and_rows(client: Client, police: Any, police_officer: Any) -> None:
    _as(client, police_officer)
    values = factories.values(sharing_conditions="")
    items = [*factories.items(), {"key": "Bad Key", "name": "坏标识", "data_type": "string", "length": "10"}]
    response = client.post(BASE + "new/", _post_data({**values, "provider": police.pk}, items))
    assert response.status_code == 400
    page = response.content.decode()
    assert "有条件共享的信息资源须填写共享条件。" in page
    assert "标识由小写字母、数字和下划线组成" in page
    assert response.context["form"].errors["sharing_conditions"]
    assert response.context["formset"].forms[3].errors["key"]
    assert not DataResource.objects.exists()


def test_a_correction_through_the_page(client: Client, police_officer: Any, reviewer: Any) -> None:
    resource = factories.published(police_officer, reviewer)
    _as(client, police_officer)
    assert client.get(f"{BASE}{resource.pk}/correction/").status_code == 200
    items = factories.items()
    # A tampered key or type of a published item is ignored (the fields are disabled), removal too.
    items[0] = {**items[0], "key": "hacked", "data_type": "integer", "DELETE": True}
    items.append({"key": "gender", "name": "性别", "data_type": "code", "length": "1"})
    values = {**factories.values(), "reason": "增加性别"}
    response = client.post(f"{BASE}{resource.pk}/correction/", _post_data(values, items, initial=3))
    assert response.status_code == 302, response.content.decode()[:3000]
    correction = ResourceCorrection.objects.get(resource=resource)
    assert [i["key"] for i in correction.items] == ["resident_id", "name", "birth_date", "gender"]
    assert correction.items[0]["data_type"] == "string"
    detail = client.get(f"{BASE}{resource.pk}/").content.decode()
    assert "信息项 gender" in detail
    assert client.post(f"{BASE}{resource.pk}/correction/submit/").status_code == 302
    _as(client, reviewer)
    assert client.post(f"{BASE}{resource.pk}/correction/apply/", {"note": "同意"}).status_code == 302
    assert list(resource.items.values_list("key", flat=True))[-1] == "gender"


def test_return_without_a_reason_is_explained(client: Client, police_officer: Any, reviewer: Any) -> None:
    resource = factories.draft(police_officer)
    services.resource_submit(resource=resource, by=police_officer)
    response = _as(client, reviewer).post(f"{BASE}{resource.pk}/return/", {"reason": ""}, follow=True)
    assert "请说明提供方需要修改什么。" in response.content.decode()
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.IN_REVIEW


def test_the_list_filters_and_searches(client: Client, world: dict[str, Any], police_officer: Any) -> None:
    _as(client, police_officer)
    page = client.get(BASE, {"q": "民政"}).content.decode()
    assert "民政已发布" in page
    assert "民政草稿" not in page
    assert "公安已发布" not in page
    page = client.get(BASE, {"sharing_type": "not_shared"}).content.decode()
    assert "民政已发布" not in page


def test_demands_through_the_pages(
    client: Client, world: dict[str, Any], civil: Any, civil_officer: Any, police_officer: Any
) -> None:
    resource = world["police_published"]
    item: Any = ServiceItemFactory(department=civil, published=True, version__name="最低生活保障审核确认")
    _as(client, civil_officer)
    form = client.get(f"{BASE}demands/new/", {"resource": resource.pk})
    assert form.status_code == 200
    response = client.post(
        f"{BASE}demands/new/?resource={resource.pk}",
        {
            "department": civil.pk,
            "resource": resource.pk,
            "items": ["resident_id", "name"],
            "service_items": [item.pk],
            "purpose": "低保审核核对身份",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    demand = ResourceDemand.objects.get(purpose="低保审核核对身份")
    assert demand.items == ["resident_id", "name"]
    response = client.post(f"{BASE}demands/new/", {"department": civil.pk, "purpose": "x"})
    assert response.status_code == 400
    assert "请选择已编目的信息资源，或描述所需数据。" in response.content.decode()
    _as(client, police_officer)
    detail = client.get(f"{BASE}demands/{demand.pk}/")
    assert "答复需求" in detail.content.decode()
    response = client.post(
        f"{BASE}demands/{demand.pk}/answer/", {"status": "declined", "answer": ""}, follow=True
    )
    assert "请说明驳回原因。" in response.content.decode()
    client.post(f"{BASE}demands/{demand.pk}/answer/", {"status": "satisfied", "answer": "请申请授权。"})
    demand.refresh_from_db()
    assert demand.status == DemandStatus.SATISFIED
    assert client.get(f"{BASE}demands/", {"status": "satisfied"}).status_code == 200


def test_responsibilities_through_the_pages(
    client: Client, world: dict[str, Any], police: Any, police_officer: Any, civil_officer: Any
) -> None:
    resource = world["police_published"]
    _as(client, police_officer)
    response = client.post(
        f"{BASE}{resource.pk}/responsibilities/",
        {
            "department": police.pk,
            "duty": Duty.QUALITY,
            "contact_name": "李秀英",
            "contact_phone": "0564-3378102",
        },
    )
    assert response.status_code == 302
    entry = ResourceResponsibility.objects.get(resource=resource)
    assert "0564-3378102" in client.get(f"{BASE}responsibilities/").content.decode()
    _as(client, civil_officer)
    listing = client.get(f"{BASE}responsibilities/").content.decode()
    assert "0564-3378102" not in listing
    assert "056*****8102" in listing
    _as(client, police_officer)
    assert client.post(f"{BASE}{resource.pk}/responsibilities/{entry.pk}/remove/").status_code == 302
    assert not ResourceResponsibility.objects.filter(pk=entry.pk).exists()


def test_import_and_export_through_the_pages(
    client: Client, police: Any, police_officer: Any, reviewer: Any
) -> None:
    factories.published(police_officer, reviewer)
    _as(client, police_officer)
    assert client.get(BASE + "import/").status_code == 200
    exported = client.get(BASE + "export.xlsx")
    assert exported.status_code == 200
    assert exported["Content-Type"] == excel.XLSX_CONTENT_TYPE
    assert client.get(BASE + "template.xlsx").status_code == 200
    assert client.get(BASE + "import/errors.xlsx").status_code == 404
    workbook = load_workbook(io.BytesIO(exported.content))
    workbook[excel.SHEET]["J2"] = "VARCHAR"
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.name = "目录.xlsx"
    buffer.seek(0)
    response = client.post(BASE + "import/", {"file": buffer})
    assert response.status_code == 400
    assert "全部未导入" in response.content.decode()
    report = client.get(BASE + "import/errors.xlsx")
    assert report.status_code == 200
    rows = list(load_workbook(io.BytesIO(report.content))["错误"].iter_rows(values_only=True))
    assert rows[1][:2] == (2, "数据类型")
    good = io.BytesIO(exported.content)
    good.name = "目录.xlsx"
    response = client.post(BASE + "import/", {"file": good})
    assert response.status_code == 200
    assert "导入完成" in response.content.decode()

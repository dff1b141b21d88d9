"""The administrators' catalogue pages: who may use them, what each editor changes and refuses."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext
from openpyxl import load_workbook

from tongban.catalog import excel
from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import ServiceItem, ServiceItemVersion
from tongban.catalog.tests.conftest import make_item
from tongban.catalog.tests.factories import DEFAULT_FORM
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory, make_credit_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any, tmp_path: Any) -> None:
    settings.STAFF_2FA = "optional"
    settings.MEDIA_ROOT = tmp_path


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, *args: Any) -> str:
    return reverse(f"catalogadmin:{name}", args=args)


@pytest.fixture
def city_bureau(city: Department) -> Any:
    return DepartmentFactory(
        name="六安市市场监督管理局",
        code="city-amr",
        level="city",
        division_code="341500",
        parent=city,
        credit_code=make_credit_code("341500"),
    )


@pytest.fixture
def county_bureau(city: Department) -> Any:
    return DepartmentFactory(
        name="金安区公安分局",
        code="jinan-psb",
        level="county",
        division_code="341502",
        parent=city,
        credit_code=make_credit_code("341502"),
    )


@pytest.fixture
def city_admin(city_bureau: Department) -> Any:
    return StaffFactory(department=city_bureau, roles=["administrator"])


@pytest.fixture
def county_admin(county_bureau: Department) -> Any:
    return StaffFactory(department=county_bureau, roles=["administrator"])


@pytest.fixture
def published(city_admin: User, city_bureau: Department) -> ServiceItem:
    return make_item(city_admin, city_bureau, name="食品经营许可", level="city")


@pytest.fixture
def drafted(city_admin: User, city_bureau: Department) -> ServiceItem:
    return make_item(city_admin, city_bureau, name="药品零售许可", level="city", publish=False)


def draft_of(item: ServiceItem) -> ServiceItemVersion:
    return item.versions.get(status=VersionStatus.DRAFT)


def test_pages_work_for_an_administrator(
    city_admin: User, published: ServiceItem, drafted: ServiceItem
) -> None:
    client = logged_in(city_admin)
    response = client.get(url("item_list"))
    assert response.status_code == 200
    assert [i.pk for i in response.context["page"].object_list] == sorted(
        [published.pk, drafted.pk], key=lambda pk: ServiceItem.objects.get(pk=pk).implementation_code
    )
    assert client.get(url("item_list"), {"q": "药品"}).context["page"].object_list[0].pk == drafted.pk
    assert [i.pk for i in client.get(url("item_list"), {"status": "draft"}).context["page"].object_list] == [
        drafted.pk
    ]
    for name in ("item_detail", "version_edit", "material_add", "form_editor", "form_field_add"):
        assert client.get(url(name, drafted.pk)).status_code == 200, name
    for name in ("process_editor", "stage_add"):
        assert client.get(url(name, drafted.pk)).status_code == 200, name
    assert client.get(url("form_field_edit", drafted.pk, "applicant_name")).status_code == 200
    assert client.get(url("stage_edit", drafted.pk, 1)).status_code == 200
    material = draft_of(drafted).materials.get()
    assert client.get(url("material_edit", drafted.pk, material.pk)).status_code == 200
    assert client.get(url("item_detail", published.pk)).status_code == 200
    assert client.get(url("item_create")).status_code == 200
    assert client.get(url("import")).status_code == 200
    export = client.get(url("export"))
    assert export.status_code == 200
    assert export["Content-Type"] == excel.XLSX_CONTENT_TYPE


def test_the_workbench_links_administrators_to_the_editor(city_admin: User) -> None:
    response = logged_in(city_admin).get(reverse("portal:workbench"))
    assert url("item_list") in response.content.decode()


def test_create_edit_and_publish(city_admin: User, city_bureau: Department) -> None:
    client = logged_in(city_admin)
    response = client.post(
        url("item_create"),
        {
            "department": city_bureau.pk,
            "basic_code": "000201001000",
            "item_digits": "201001",
            "name": "营业执照办理",
            "item_type": "licensing",
            "level": "city",
        },
    )
    item = ServiceItem.objects.get(basic_code="000201001000")
    assert response.status_code == 302
    assert item.implementation_code == f"{city_bureau.credit_code}201001"
    edit = {
        "name": "营业执照办理",
        "item_type": "licensing",
        "level": "city",
        "service_object": "enterprise",
        "statutory_days": "20",
        "promised_days": "5",
        "visits": "0",
        "online_depth": "4",
        "result_type": "licence",
        "channels": ["online", "window"],
    }
    assert client.post(url("version_edit", item.pk), edit).status_code == 302
    draft = draft_of(item)
    assert (draft.promised_days, draft.channels, draft.service_object) == (
        5,
        ["online", "window"],
        "enterprise",
    )
    blank = SimpleUploadedFile("申请表.pdf", b"%PDF-1.4 blank", content_type="application/pdf")
    response = client.post(
        url("material_add", item.pk),
        {
            "name": "营业执照",
            "form": "electronic",
            "copies": "1",
            "source": "e_licence",
            "source_code": "biz-licence",
            "may_follow_later": "on",
            "required": "on",
            "sort_order": "0",
            "blank_form": blank,
        },
    )
    assert response.status_code == 302
    material = draft.materials.get()
    assert (material.source, material.source_code, material.may_follow_later) == (
        "e_licence",
        "biz-licence",
        True,
    )
    assert (material.blank_form.name or "").startswith("catalog/forms/")
    response = client.post(
        url("material_edit", item.pk, material.pk),
        {"name": "营业执照副本", "form": "copy", "copies": "2", "source": "applicant", "sort_order": "0"},
    )
    assert response.status_code == 302
    material.refresh_from_db()
    assert (material.name, material.copies, material.may_follow_later) == ("营业执照副本", 2, False)
    assert material.blank_form  # an untouched file stays
    field = {"key": "shop_name", "label": "店铺名称", "type": "text", "required": "on", "max_length": "50"}
    assert client.post(url("form_field_add", item.pk), field).status_code == 302
    stage = {"name": "审查决定", "days": "3", "departments": [city_bureau.code]}
    assert client.post(url("stage_add", item.pk), stage).status_code == 302
    response = client.post(url("version_publish", item.pk), follow=True)
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.current_version is not None
    assert item.current_version.number == 1
    assert item.current_version.form_schema[0]["key"] == "shop_name"
    assert client.post(url("version_draft", item.pk)).status_code == 302
    assert draft_of(item).number == 2
    assert client.post(url("item_retire", item.pk)).status_code == 302
    item.refresh_from_db()
    assert item.current_version is None
    assert item.retired_at is not None


def test_publishing_an_incomplete_draft_shows_why(city_admin: User, city_bureau: Department) -> None:
    client = logged_in(city_admin)
    item = make_item(city_admin, city_bureau, publish=False, materials=())
    response = client.post(url("version_publish", item.pk), follow=True)
    assert gettext("List at least one material.") in response.content.decode()
    assert draft_of(item).status == VersionStatus.DRAFT


def test_material_delete(city_admin: User, drafted: ServiceItem) -> None:
    material = draft_of(drafted).materials.get()
    assert logged_in(city_admin).post(url("material_delete", drafted.pk, material.pk)).status_code == 302
    assert not draft_of(drafted).materials.exists()


def test_form_editor_edits_moves_and_deletes(city_admin: User, drafted: ServiceItem) -> None:
    client = logged_in(city_admin)
    field = {"key": "business_scope", "label": "经营范围", "type": "choice", "options": "food|食品\n药品"}
    assert client.post(url("form_field_add", drafted.pk), field).status_code == 302
    schema = draft_of(drafted).form_schema
    assert schema[-1]["options"] == [{"value": "food", "label": "食品"}, {"value": "药品", "label": "药品"}]
    edited = {
        "key": "applicant_name",
        "label": "申请人",
        "type": "text",
        "required": "on",
        "max_length": "30",
    }
    assert client.post(url("form_field_edit", drafted.pk, "applicant_name"), edited).status_code == 302
    assert draft_of(drafted).form_schema[0]["label"] == "申请人"
    client.post(url("form_field_move", drafted.pk, "contact_phone"), {"direction": "up"})
    assert [f["key"] for f in draft_of(drafted).form_schema][:2] == ["contact_phone", "applicant_name"]
    client.post(url("form_field_delete", drafted.pk, "remarks"))
    assert "remarks" not in [f["key"] for f in draft_of(drafted).form_schema]


def test_form_editor_refuses_a_duplicate_key(city_admin: User, drafted: ServiceItem) -> None:
    field = {"key": "contact_phone", "label": "重复", "type": "text"}
    response = logged_in(city_admin).post(url("form_field_add", drafted.pk), field)
    assert response.status_code == 400
    expected = gettext("Two fields have the key %(key)s.") % {"key": "contact_phone"}
    assert [str(e) for e in response.context["form"].non_field_errors()] == [expected]
    assert draft_of(drafted).form_schema == DEFAULT_FORM


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            {"key": "bad-key", "label": "x", "type": "text"},
            "A field key is a lower-case letter followed by letters, digits or underscores.",
        ),
        ({"key": "kind", "label": "类别", "type": "choice"}, "A choice field needs at least one option."),
        (
            {"key": "age", "label": "年龄", "type": "integer", "min_value": "9", "max_value": "1"},
            "The minimum is greater than the maximum.",
        ),
    ],
)
def test_form_editor_refuses_invalid_fields(
    city_admin: User, drafted: ServiceItem, field: dict[str, str], message: str
) -> None:
    before = draft_of(drafted).form_schema
    response = logged_in(city_admin).post(url("form_field_add", drafted.pk), field)
    assert response.status_code == 400
    assert [str(e) for e in response.context["form"].non_field_errors()] == [gettext(message)]
    assert draft_of(drafted).form_schema == before == DEFAULT_FORM


def test_process_editor_parallel_stage_move_and_delete(
    city_admin: User, drafted: ServiceItem, city_bureau: Department, city: Department
) -> None:
    client = logged_in(city_admin)
    stage = {"name": "并联审查", "days": "2", "departments": [city_bureau.code, city.code]}
    assert client.post(url("stage_add", drafted.pk), stage).status_code == 302
    process = draft_of(drafted).process
    assert process[1]["departments"] == [city_bureau.code, city.code] or process[1]["departments"] == [
        city.code,
        city_bureau.code,
    ]
    client.post(url("stage_move", drafted.pk, 2), {"direction": "up"})
    assert draft_of(drafted).process[0]["name"] == "并联审查"
    edited = {"name": "受理", "days": "1", "departments": [city_bureau.code]}
    assert client.post(url("stage_edit", drafted.pk, 1), edited).status_code == 302
    assert draft_of(drafted).process[0]["name"] == "受理"
    client.post(url("stage_delete", drafted.pk, 1))
    assert [s["name"] for s in draft_of(drafted).process] == ["审查决定"]


def test_process_editor_refuses_too_long_stages(
    city_admin: User, drafted: ServiceItem, city_bureau: Department
) -> None:
    before = draft_of(drafted).process
    stage = {"name": "审查", "days": "30", "departments": [city_bureau.code]}
    response = logged_in(city_admin).post(url("stage_add", drafted.pk), stage)
    assert response.status_code == 400
    expected = gettext("The stages take %(total)s working days, more than the promised %(promised)s.")
    assert expected % {"total": 35, "promised": 10} in response.content.decode()
    assert draft_of(drafted).process == before
    # The last stage cannot be removed: a process has at least one stage.
    logged_in(city_admin).post(url("stage_delete", drafted.pk, 1))
    assert draft_of(drafted).process == before


def test_import_page_reports_errors_and_offers_the_report(city_admin: User, published: ServiceItem) -> None:
    client = logged_in(city_admin)
    data = client.get(url("export")).content
    workbook = load_workbook(io.BytesIO(data))
    workbook["事项"].cell(row=2, column=5, value="不存在")
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("catalogue.xlsx", buffer.getvalue())
    response = client.post(url("import"), {"file": upload})
    assert response.status_code == 400
    assert not response.context["result"].ok
    assert url("import_errors") in response.content.decode()
    report = client.get(url("import_errors"))
    assert report.status_code == 200
    assert report["Content-Type"] == excel.XLSX_CONTENT_TYPE
    assert published.versions.count() == 1
    response = client.post(url("import"), {"file": SimpleUploadedFile("catalogue.xlsx", data)})
    assert response.status_code == 200
    assert response.context["result"].drafted == [published.implementation_code]
    response = client.post(url("import"), {"file": SimpleUploadedFile("notes.txt", b"hello")})
    assert response.status_code == 400
    assert response.context["form"].errors["file"]


def test_a_non_administrator_is_refused(city_bureau: Department, published: ServiceItem) -> None:
    clerk = StaffFactory(department=city_bureau, roles=["window_clerk", "approver"])
    client = logged_in(clerk)
    for target in (url("item_list"), url("item_detail", published.pk), url("export"), url("import")):
        assert client.get(target).status_code == 403, target
    assert client.post(url("version_draft", published.pk)).status_code == 403


def test_citizens_are_refused(citizen: Any, published: ServiceItem) -> None:
    assert logged_in(citizen).get(url("item_list")).status_code == 403


def test_an_administrator_of_another_jurisdiction_cannot_see_or_edit(
    county_admin: User, published: ServiceItem, drafted: ServiceItem
) -> None:
    client = logged_in(county_admin)
    assert list(client.get(url("item_list")).context["page"].object_list) == []
    material = draft_of(drafted).materials.get()
    for target in (
        url("item_detail", published.pk),
        url("version_edit", drafted.pk),
        url("form_editor", drafted.pk),
        url("process_editor", drafted.pk),
        url("form_field_edit", drafted.pk, "applicant_name"),
        url("material_edit", drafted.pk, material.pk),
    ):
        assert client.get(target).status_code == 404, target
    for target in (
        url("version_publish", drafted.pk),
        url("version_draft", published.pk),
        url("item_retire", published.pk),
        url("material_delete", drafted.pk, material.pk),
        url("form_field_delete", drafted.pk, "applicant_name"),
        url("stage_delete", drafted.pk, 1),
    ):
        assert client.post(target).status_code == 404, target
    assert client.post(url("version_edit", drafted.pk), {"name": "改名"}).status_code == 404
    assert draft_of(drafted).name == "药品零售许可"
    assert published.versions.count() == 1

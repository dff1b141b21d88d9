"""Excel export and import of the catalogue: round trip, all-or-nothing on bad rows, bad files."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import Workbook, load_workbook

from tongban.catalog import excel, services
from tongban.catalog.choices import ItemType, VersionStatus
from tongban.catalog.models import ServiceItem, ServiceItemVersion, Theme
from tongban.catalog.tests.conftest import make_item
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

COMPARED = (
    "name",
    "item_type",
    "level",
    "legal_basis",
    "conditions",
    "statutory_days",
    "promised_days",
    "fee_charged",
    "fee_amount",
    "fee_basis",
    "visits",
    "online_depth",
    "channels",
    "window_address",
    "window_hours",
    "consultation_phone",
    "complaint_phone",
    "result_type",
    "result_name",
    "service_object",
    "form_schema",
    "process",
)
MATERIAL_FIELDS = ("name", "required", "form", "copies", "acceptance_standard", "source", "source_code")


def snapshot(version: ServiceItemVersion) -> dict[str, Any]:
    data = {name: getattr(version, name) for name in COMPARED}
    data["themes"] = sorted(version.themes.values_list("code", flat=True))
    data["materials"] = [
        {name: getattr(m, name) for name in (*MATERIAL_FIELDS, "may_follow_later")}
        for m in version.materials.order_by("sort_order", "pk")
    ]
    return data


def upload(data: bytes, county_admin: User, name: str = "catalogue.xlsx") -> excel.ImportResult:
    return excel.import_workbook(upload=io.BytesIO(data), by=county_admin, name=name, size=len(data))


def sheet_rows(data: bytes, sheet: str) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(data))
    return [list(row) for row in workbook[sheet].iter_rows(values_only=True)]


def rewrite(data: bytes, sheet: str, row: int, header: str, value: Any) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    ws = workbook[sheet]
    column = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row=row, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def catalogue(county_admin: User, county_bureau: Department) -> list[ServiceItem]:
    Theme.objects.get_or_create(code="employment", defaults={"name": "就业", "kind": "life_event"})
    first = make_item(
        county_admin,
        county_bureau,
        name="居民身份证换领",
        conditions="本辖区户籍居民。",
        channels=["online", "window"],
        fee_charged=True,
        fee_amount="20元",
        themes=["employment"],
        materials=("居民户口簿", "照片"),
    )
    draft = services.item_version_draft(item=first, by=county_admin)
    material = draft.materials.get(name="照片")
    services.material_update(
        material=material,
        by=county_admin,
        source="e_licence",
        source_code="photo-licence",
        may_follow_later=True,
    )
    second = make_item(county_admin, county_bureau, name="户口迁移", publish=False, visits=0, online_depth=4)
    return [first, second]


def test_export_has_both_sheets_with_chinese_headers(
    county_admin: User, catalogue: list[ServiceItem]
) -> None:
    data = excel.export_workbook(by=county_admin)
    items = sheet_rows(data, "事项")
    assert items[0][:4] == ["实施编码", "基本编码", "实施部门编码", "事项名称"]
    assert {row[0] for row in items[1:]} == {item.implementation_code for item in catalogue}
    first = next(row for row in items if row[0] == catalogue[0].implementation_code)
    with translation.override("zh-hans"):
        assert str(ItemType.PUBLIC_SERVICE.label) in first  # the item type as its Chinese label
    assert json.loads(first[-1])[0]["departments"] == ["jinan-psb"]
    materials = sheet_rows(data, "材料")
    assert materials[0][:2] == ["实施编码", "材料名称"]
    assert len(materials) == 1 + 3
    assert AuditEvent.objects.filter(action="catalog.export").count() == 1


def test_export_is_scoped_to_the_jurisdiction(other_county_admin: User, catalogue: list[ServiceItem]) -> None:
    data = excel.export_workbook(by=other_county_admin)
    assert sheet_rows(data, "事项")[1:] == []


def test_round_trip_creates_drafts_equal_to_the_source(
    county_admin: User, catalogue: list[ServiceItem]
) -> None:
    first = catalogue[0]
    published = first.current_version
    assert published is not None
    before = {item.pk: snapshot(item.versions.order_by("-number")[0]) for item in catalogue}
    published_before = snapshot(published)
    data = excel.export_workbook(by=county_admin)
    result = upload(data, county_admin)
    assert result.ok, result.errors
    assert sorted(result.drafted) == sorted(item.implementation_code for item in catalogue)
    for item in catalogue:
        draft = item.versions.get(status=VersionStatus.DRAFT)
        assert snapshot(draft) == before[item.pk]
    published.refresh_from_db()
    assert published.status == VersionStatus.PUBLISHED
    assert snapshot(published) == published_before
    assert AuditEvent.objects.filter(action="catalog.import", outcome="success").count() == 1


def test_import_into_an_empty_catalogue_creates_the_items(
    county_admin: User, catalogue: list[ServiceItem]
) -> None:
    data = excel.export_workbook(by=county_admin)
    expected = {
        item.implementation_code: snapshot(item.versions.order_by("-number")[0]) for item in catalogue
    }
    basic = {item.implementation_code: item.basic_code for item in catalogue}
    ServiceItem.objects.update(current_version=None)
    for item in ServiceItem.objects.all():
        for version in item.versions.all():
            version.themes.clear()
            version.materials.all().delete()
        item.versions.all().delete()
    ServiceItem.objects.all().delete()
    result = upload(data, county_admin)
    assert result.ok, result.errors
    assert sorted(result.created) == sorted(expected)
    for code, snap in expected.items():
        item = ServiceItem.objects.get(implementation_code=code)
        assert item.basic_code == basic[code]
        assert snapshot(item.versions.get(number=1)) == snap


def test_bad_rows_change_nothing_and_are_reported(county_admin: User, catalogue: list[ServiceItem]) -> None:
    data = excel.export_workbook(by=county_admin)
    data = rewrite(data, "事项", 2, "事项类型", "不存在的类型")
    data = rewrite(data, "事项", 3, "承诺办结时限（工作日）", 99)  # longer than the statutory 20
    data = rewrite(data, "材料", 2, "材料来源", "电子证照")  # with a source code below, this one is fine
    data = rewrite(data, "材料", 3, "份数", "很多")
    versions_before = ServiceItemVersion.objects.count()
    materials_before = sorted(ServiceItemVersion.objects.values_list("pk", "materials__name"))
    result = upload(data, county_admin)
    assert not result.ok
    found = {(e.sheet, e.row, e.column) for e in result.errors}
    assert ("事项", 2, "事项类型") in found
    assert ("事项", 3, "承诺办结时限（工作日）") in found
    assert ("材料", 3, "份数") in found
    assert ServiceItemVersion.objects.count() == versions_before
    assert sorted(ServiceItemVersion.objects.values_list("pk", "materials__name")) == materials_before
    assert AuditEvent.objects.filter(action="catalog.import", outcome="failure").count() == 1
    report = sheet_rows(excel.error_report(result.errors), "错误")
    assert report[0] == ["工作表", "行号", "列", "问题"]
    assert any(row[:3] == ["事项", 2, "事项类型"] for row in report)


def test_an_item_of_another_jurisdiction_is_refused(
    county_admin: User, other_county_admin: User, catalogue: list[ServiceItem]
) -> None:
    data = excel.export_workbook(by=county_admin)
    result = upload(data, other_county_admin)
    assert not result.ok
    assert {e.column for e in result.errors} == {"实施部门编码"}
    assert (
        not ServiceItemVersion.objects.filter(status=VersionStatus.DRAFT, item=catalogue[1])
        .exclude(number=1)
        .exists()
    )


def test_labels_and_codes_are_both_accepted(county_admin: User, catalogue: list[ServiceItem]) -> None:
    data = excel.export_workbook(by=county_admin)
    data = rewrite(data, "事项", 2, "事项类型", "licensing")
    data = rewrite(data, "事项", 2, "办理渠道", "online, Service window")
    result = upload(data, county_admin)
    assert result.ok, result.errors
    code = sheet_rows(data, "事项")[1][0]
    draft = ServiceItem.objects.get(implementation_code=code).versions.get(status=VersionStatus.DRAFT)
    assert draft.item_type == "licensing"
    assert draft.channels == ["online", "window"]


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("catalogue.csv", b"a,b\n", "import_wrong_file_type"),
        ("catalogue.xlsx", b"not a zip file", "import_not_xlsx"),
        ("catalogue.xlsx", b"x" * (excel.MAX_FILE_SIZE + 1), "import_file_too_large"),
    ],
)
def test_bad_files_are_refused_with_a_code(county_admin: User, name: str, content: bytes, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        upload(content, county_admin, name=name)
    assert caught.value.code == code


def _workbook(sheets: dict[str, list[str]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, header in sheets.items():
        workbook.create_sheet(title).append(header)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_missing_sheet_and_header_are_refused(county_admin: User) -> None:
    items_header = [header for _name, header in excel.ITEM_COLUMNS]
    with pytest.raises(ValidationFailed) as caught:
        upload(_workbook({"事项": items_header}), county_admin)
    assert caught.value.code == "import_sheet_missing"
    with pytest.raises(ValidationFailed) as caught:
        upload(_workbook({"事项": items_header[:-1], "材料": ["实施编码"]}), county_admin)
    assert caught.value.code == "import_header_missing"


def test_only_administrators_import_and_export(department: Department) -> None:
    clerk: Any = StaffFactory(department=department, roles=["window_clerk"])
    with pytest.raises(PermissionDenied):
        excel.export_workbook(by=clerk)
    with pytest.raises(PermissionDenied):
        upload(b"", clerk)


def test_commands_export_and_import(
    tmp_path: Any, county_admin: User, catalogue: list[ServiceItem], capsys: Any
) -> None:
    path = tmp_path / "catalogue.xlsx"
    call_command("catalog_export", str(path))
    assert path.stat().st_size > 0
    call_command("catalog_import", str(path), "--as", county_admin.username)
    out = capsys.readouterr().out
    assert "2/2 items" in out
    assert ServiceItemVersion.objects.filter(status=VersionStatus.DRAFT).count() == 2

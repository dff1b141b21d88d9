"""The catalogue as an Excel workbook: export, import back, a bad file, and the commands."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from tongban.core.errors import ValidationFailed
from tongban.core.models import AuditEvent
from tongban.resources import excel, services
from tongban.resources.choices import CorrectionStatus, ResourceStatus
from tongban.resources.metadata import values_of
from tongban.resources.models import DataResource, ResourceCorrection
from tongban.resources.tests import factories

pytestmark = pytest.mark.django_db

HEADERS = [header for _name, header, _required in excel.COLUMNS]
COLUMN = {name: index for index, (name, _header, _required) in enumerate(excel.COLUMNS)}


def _import(data: bytes, by: Any) -> excel.ImportResult:
    return excel.import_workbook(upload=io.BytesIO(data), by=by, name="目录.xlsx", size=len(data))


def _rows(data: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(data))[excel.SHEET]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _workbook(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = excel.SHEET
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _row(police: Any, **cells: Any) -> list[Any]:
    values: dict[str, Any] = {
        "classification": "3-02-005",
        "name": "居住证信息",
        "provider_name": police.name,
        "provider_code": police.credit_code,
        "summary": "居住证办理信息。",
        "format": "数据库",
        "item_name": "公民身份号码",
        "item_key": "resident_id",
        "data_type": "字符型",
        "length": 18,
        "sensitive": "是",
        "is_key": "是",
        "sharing_type": "有条件共享",
        "sharing_conditions": "仅用于政务服务。",
        "sharing_modes": "接口",
        "open_type": "不予开放",
        "update_cycle": "每日",
    }
    values.update(cells)
    return [values.get(name, "") for name, _header, _required in excel.COLUMNS]


@pytest.fixture
def catalogue(police_officer: Any, reviewer: Any) -> list[DataResource]:
    population = factories.published(police_officer, reviewer, name="人口基础信息")
    secret = factories.published(
        police_officer,
        reviewer,
        name="出入境证件信息",
        heading_code="003",
        sharing_type="not_shared",
        not_shared_basis="《出境入境管理法》",
        sharing_modes=[],
        related_codes=[population.code],
    )
    draft = factories.draft(
        police_officer,
        name="流动人口居住登记信息",
        heading_code="004",
        subheading_code="12",
        sharing_type="unconditional",
        sharing_modes=["interface", "query"],
        open_type="conditional",
        open_conditions="汇总后开放。",
        update_cycle="monthly",
    )
    return [population, secret, draft]


def test_export_has_one_row_per_data_item(catalogue: list[DataResource], police_officer: Any) -> None:
    rows = _rows(excel.export_workbook(by=police_officer))
    assert rows[0] == HEADERS
    assert len(rows) == 1 + 3 * 3
    first = rows[1]
    assert first[COLUMN["classification"]] == "302001"
    assert first[COLUMN["code"]] == "302001/000001"
    assert first[COLUMN["sharing_type"]] == "有条件共享"
    assert first[COLUMN["data_type"]] == "字符型"
    assert first[COLUMN["is_key"]] == "是"
    assert first[COLUMN["status"]] == "已发布"
    secret = rows[4]
    assert secret[COLUMN["related_codes"]] == "302001/000001"
    assert secret[COLUMN["open_type"]] == "不予开放"
    assert AuditEvent.objects.filter(action="resource.export").exists()


def test_export_holds_only_what_the_user_may_see(catalogue: list[DataResource], civil_officer: Any) -> None:
    rows = _rows(excel.export_workbook(by=civil_officer))
    assert {row[COLUMN["name"]] for row in rows[1:]} == {"人口基础信息", "出入境证件信息"}


def test_the_exported_file_imported_back_changes_nothing(
    catalogue: list[DataResource], police_officer: Any
) -> None:
    before = {r.code: values_of(r) for r in DataResource.objects.all()}
    result = _import(excel.export_workbook(by=police_officer), police_officer)
    assert result.ok, result.errors
    assert sorted(result.unchanged) == sorted(before)
    assert (result.created, result.updated, result.corrected) == ([], [], [])
    assert {r.code: values_of(r) for r in DataResource.objects.all()} == before
    assert not ResourceCorrection.objects.exists()


def test_a_round_trip_recreates_the_same_metadata(catalogue: list[DataResource], police_officer: Any) -> None:
    exported = excel.export_workbook(by=police_officer)
    originals = {r.name: values_of(r) for r in DataResource.objects.all()}
    workbook = load_workbook(io.BytesIO(exported))
    sheet = workbook[excel.SHEET]
    for row in sheet.iter_rows(min_row=2):
        row[COLUMN["code"]].value = None
        row[COLUMN["name"]].value = f"{row[COLUMN['name']].value}（新）"
        row[COLUMN["related_codes"]].value = None
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _import(buffer.getvalue(), police_officer)
    assert result.ok, result.errors
    assert len(result.created) == 3
    for name, values in originals.items():
        copy = DataResource.objects.get(name=f"{name}（新）")
        assert copy.status == ResourceStatus.DRAFT
        assert values_of(copy) == {**values, "name": copy.name, "related_codes": []}


def test_merged_resource_cells_continue_the_resource_above(police: Any, police_officer: Any) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = excel.SHEET
    sheet.append(HEADERS)
    sheet.append(_row(police))
    blank_resource = dict.fromkeys(excel.RESOURCE_FIELDS, "")
    for key, name, data_type, length in (("name", "姓名", "C", 100), ("since", "登记日期", "日期型", "")):
        row = _row(
            police,
            item_key=key,
            item_name=name,
            data_type=data_type,
            length=length,
            sensitive="否",
            is_key="否",
        )
        sheet.append(
            [
                blank_resource.get(field, value)
                for (field, _h, _r), value in zip(excel.COLUMNS, row, strict=True)
            ]
        )
    for column in range(1, len(HEADERS) + 1):
        if excel.COLUMNS[column - 1][0] in excel.RESOURCE_FIELDS:
            sheet.merge_cells(start_row=2, end_row=4, start_column=column, end_column=column)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _import(buffer.getvalue(), police_officer)
    assert result.ok, result.errors
    resource = DataResource.objects.get(code=result.created[0])
    assert list(resource.items.values_list("key", "data_type", "length")) == [
        ("resident_id", "string", 18),
        ("name", "string", 100),
        ("since", "date", None),
    ]
    assert resource.provider == police
    assert resource.created_by == police_officer


def test_a_bad_file_reports_every_problem_and_imports_nothing(police: Any, police_officer: Any) -> None:
    rows = [
        _row(police),
        _row(police, item_key="name", item_name="姓名", data_type="VARCHAR", is_key="否", sensitive="否"),
        _row(
            police,
            summary="另一个摘要",
            item_key="birth",
            item_name="出生日期",
            data_type="日期型",
            is_key="否",
        ),
        _row(
            police,
            name="第二个资源",
            classification="3-2-5",
            sharing_type="有条件共享",
            sharing_conditions="",
        ),
        _row(
            police,
            name="第三个资源",
            sharing_type="不予共享",
            sharing_modes="",
            open_type="无条件开放",
            not_shared_basis="依法",
        ),
        _row(police, name="第四个资源", provider_code="91341500MA2TXXXXXX"),
        _row(police, name="第五个资源", code="309999/000001"),
        _row(police, name="第六个资源", is_key="否"),
        _row(police, name="第七个资源", sensitive="也许"),
    ]
    result = _import(_workbook(rows), police_officer)
    assert not result.ok
    found = {(e.row, e.column) for e in result.errors}
    assert (3, "数据类型") in found
    assert (4, "信息资源摘要") in found
    assert (5, "信息资源分类") in found
    assert (5, "共享条件") in found
    assert (6, "开放类型") in found
    assert (7, "信息资源提供方代码") in found
    assert (8, "信息资源代码") in found
    assert (9, "是否主键") in found
    assert (10, "是否敏感") in found
    assert all(e.message for e in result.errors)
    assert not DataResource.objects.exists()
    # Nothing half-written: not even a code number was used up.
    assert factories.draft(police_officer).code == "302001/000001"
    failure = AuditEvent.objects.get(action="resource.import")
    assert failure.outcome == "failure"
    report = load_workbook(io.BytesIO(excel.error_report(result.errors)))["错误"]
    assert [c.value for c in report[1]] == list(excel.ERROR_COLUMNS)
    assert report.max_row == len(result.errors) + 1


def test_only_the_office_imports_for_other_departments(
    police: Any, civil: Any, civil_officer: Any, reviewer: Any
) -> None:
    data = _workbook([_row(police)])
    refused = _import(data, civil_officer)
    assert [(e.row, e.column) for e in refused.errors] == [(2, "信息资源提供方代码")]
    accepted = _import(data, reviewer)
    assert accepted.ok
    assert DataResource.objects.get(code=accepted.created[0]).provider == police


def test_import_updates_drafts_and_proposes_corrections(
    catalogue: list[DataResource], police_officer: Any
) -> None:
    population, _secret, draft = catalogue
    workbook = load_workbook(io.BytesIO(excel.export_workbook(by=police_officer)))
    sheet = workbook[excel.SHEET]
    for row in sheet.iter_rows(min_row=2):
        if row[COLUMN["code"]].value in (population.code, draft.code):
            row[COLUMN["summary"]].value = "导入后的摘要"
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _import(buffer.getvalue(), police_officer)
    assert result.ok, result.errors
    assert result.updated == [draft.code]
    assert result.corrected == [population.code]
    draft.refresh_from_db()
    population.refresh_from_db()
    assert draft.summary == "导入后的摘要"
    assert population.summary != "导入后的摘要"  # published: only a correction, for review
    correction = ResourceCorrection.objects.get(resource=population)
    assert correction.status == CorrectionStatus.DRAFT
    assert correction.data["summary"] == "导入后的摘要"
    # The same file again: the correction already says so.
    again = _import(buffer.getvalue(), police_officer)
    assert sorted(again.unchanged) == sorted(r.code for r in catalogue)


def test_a_resource_in_review_is_not_changed_by_import(
    catalogue: list[DataResource], police_officer: Any
) -> None:
    draft = catalogue[2]
    services.resource_submit(resource=draft, by=police_officer)
    workbook = load_workbook(io.BytesIO(excel.export_workbook(by=police_officer)))
    sheet = workbook[excel.SHEET]
    for row in sheet.iter_rows(min_row=2):
        if row[COLUMN["code"]].value == draft.code:
            row[COLUMN["summary"]].value = "改"
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _import(buffer.getvalue(), police_officer)
    assert [e.column for e in result.errors] == ["信息资源代码"]


def test_synonyms_of_the_usual_templates_are_read(police: Any, police_officer: Any) -> None:
    rows = [
        _row(
            police,
            classification="302005",
            data_type="C",
            sharing_type="有条件",
            sharing_modes="接口服务、文件",
            update_cycle="每天",
        ),
        _row(
            police,
            classification="",
            name="",
            provider_code="",
            sharing_type="",
            sharing_modes="",
            update_cycle="",
            item_key="total",
            item_name="金额",
            data_type="N",
            length=12,
            is_key="否",
            sensitive="否",
        ),
    ]
    result = _import(_workbook(rows), police_officer)
    assert result.ok, result.errors
    resource = DataResource.objects.get()
    assert resource.sharing_modes == ["interface", "file"]
    assert resource.update_cycle == "daily"
    assert list(resource.items.values_list("data_type", flat=True)) == ["string", "decimal"]


def test_files_that_are_not_the_layout_are_refused(police_officer: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        excel.import_workbook(upload=io.BytesIO(b"not excel"), by=police_officer, name="a.xlsx")
    assert caught.value.code == "import_not_xlsx"
    with pytest.raises(ValidationFailed) as caught:
        excel.import_workbook(upload=io.BytesIO(b""), by=police_officer, name="a.csv")
    assert caught.value.code == "import_wrong_file_type"
    workbook = Workbook()
    workbook.active.append(["信息资源名称"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ValidationFailed) as caught:
        excel.import_workbook(upload=io.BytesIO(buffer.getvalue()), by=police_officer, name="a.xlsx")
    assert caught.value.code == "import_header_missing"


def test_the_template_is_the_empty_layout_with_its_guide(police_officer: Any) -> None:
    workbook = load_workbook(io.BytesIO(excel.export_workbook(by=police_officer, template=True)))
    assert workbook.sheetnames == [excel.SHEET, excel.GUIDE_SHEET]
    assert workbook[excel.SHEET].max_row == 1


def test_the_commands(
    catalogue: list[DataResource], police: Any, police_officer: Any, tmp_path: Path
) -> None:
    exported = tmp_path / "目录.xlsx"
    call_command("resources_export", str(exported), "--as", police_officer.username)
    assert len(_rows(exported.read_bytes())) == 10
    out = io.StringIO()
    call_command("resources_import", str(exported), "--as", police_officer.username, stdout=out)
    assert "3 unchanged" in out.getvalue()
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(_workbook([_row(police, data_type="VARCHAR")]))
    report = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "resources_import",
            str(bad),
            "--as",
            police_officer.username,
            "--report",
            str(report),
            stderr=io.StringIO(),
        )
    assert report.exists()
    with pytest.raises(CommandError):
        call_command("resources_import", str(bad), "--as", "nobody")

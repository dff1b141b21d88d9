"""Bulk import of existing licences (存量证照): good rows imported, bad rows reported by row and
column, files that cannot be read refused whole with nothing written."""

from __future__ import annotations

import codecs
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.tests.factories import make_resident_id
from tongban.licences import imports, selectors, services
from tongban.licences.choices import ImportStatus, KeyStatus, LicenceOrigin, Verdict
from tongban.licences.models import Licence, LicenceImport, SigningKey
from tongban.licences.tests.staff_world import World, credit_code, issue, licence_type, make_world

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    """Today's local date, read when a test runs: not at import, as a run may cross midnight."""
    return timezone.localdate()


HEADER_KEYS = "holder_id,holder_name,number,issued_on,valid_until,spouse_name,registered_on"
HEADER_LABELS = "持证人证件号码,持证人姓名或名称,证照编号,发证日期,有效期至,配偶姓名,登记日期"


@pytest.fixture
def world() -> World:
    return make_world()


def csv_file(lines: list[str], *, name: str = "licences.csv", bom: bool = False) -> SimpleUploadedFile:
    data = "\r\n".join(lines).encode()
    return SimpleUploadedFile(name, (codecs.BOM_UTF8 if bom else b"") + data, content_type="text/csv")


def xlsx_file(rows: list[list[Any]], *, name: str = "licences.xlsx") -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def bad_check_digit(rid: str) -> str:
    return rid[:-1] + ("0" if rid[-1] != "0" else "1")


def test_good_rows_are_imported_and_bad_rows_reported(world: World) -> None:
    good = [make_resident_id() for _ in range(3)]
    future = (today() + dt.timedelta(days=2)).isoformat()
    lines = [
        HEADER_KEYS,
        f"{good[0]},张三,J2015001,2015-05-20,,李四,2015-05-20",  # row 2
        f"{bad_check_digit(good[1])},王五,J2015002,2015-05-20,,赵六,",  # row 3: ID check digit
        f"{good[1]},王五,J2015003,2015-05-20,,,",  # row 4: spouse name missing
        f"{good[2]},钱七,J2015004,{future},,孙八,",  # row 5: issued in the future
        ",,,,,,",  # an empty line is skipped (not a row)
        f"{good[2]},钱七,J2015005,2015/05/20,,孙八,",  # row 7: not YYYY-MM-DD
        f"{good[0]},张三,J2015001,2016-01-01,,李四,",  # row 8: repeats row 2 (holder + number)
        f"{good[2]},钱七,J2015006,2019-09-09,,孙八,",  # row 9: good
    ]
    batch = imports.licences_import(type_=world.marriage, file=csv_file(lines, bom=True), by=world.officer)
    assert (batch.status, batch.rows, batch.imported) == (ImportStatus.PARTIAL, 7, 2)
    assert [(e["row"], e["column"], e["code"]) for e in batch.errors] == [
        (3, "holder_id", "holder_id_invalid"),
        (4, "spouse_name", "licence_field_required"),
        (5, "issued_on", "issued_on_future"),
        (7, "issued_on", "date_invalid"),
        (8, "number", "import_duplicate_row"),
    ]
    assert all(e["message"] for e in batch.errors)
    assert "2" in batch.errors[-1]["message"]  # names the row it repeats
    licences = list(Licence.objects.filter(batch=batch).order_by("serial"))
    assert [(lic.holder_id, lic.number) for lic in licences] == [(good[0], "J2015001"), (good[2], "J2015006")]
    first = licences[0]
    assert first.origin == LicenceOrigin.IMPORTED
    assert first.issued_on == dt.date(2015, 5, 20)
    assert first.data == {
        "name": "张三",  # from the holder
        "id_number": good[0],
        "spouse_name": "李四",
        "registered_on": "2015-05-20",
        "registry": "六安市民政局婚姻登记处",  # the type's fixed text
    }
    assert selectors.verify_identifier(first.identifier).verdict == Verdict.VALID
    events = AuditEvent.objects.filter(action="licence.imported")
    assert events.count() == 1
    assert (events[0].data["rows"], events[0].data["imported"], events[0].data["refused"]) == (7, 2, 5)
    assert events[0].subject_id == str(batch.pk)
    assert not AuditEvent.objects.filter(action="licence.issued").exists()  # one audit for the import


def test_a_file_of_bad_rows_imports_nothing_but_keeps_the_report(world: World) -> None:
    rid = make_resident_id()
    lines = [HEADER_KEYS, f"{bad_check_digit(rid)},张三,,2015-05-20,,李四,", f"{rid},,,2015-05-20,,李四,"]
    batch = imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    assert (batch.status, batch.rows, batch.imported) == (ImportStatus.FAILED, 2, 0)
    assert [(e["row"], e["code"]) for e in batch.errors] == [
        (2, "holder_id_invalid"),
        (3, "holder_name_required"),
    ]
    assert not Licence.objects.exists()
    assert LicenceImport.objects.get() == batch
    assert AuditEvent.objects.get(action="licence.imported").data["imported"] == 0


def test_rows_repeating_existing_licences_are_refused(world: World) -> None:
    rid, other = make_resident_id(), make_resident_id()
    existing = issue(world.marriage, world.approver, holder_id=rid, number="J-0001")
    dated = issue(world.marriage, world.approver, holder_id=other, name="王五")
    lines = [
        HEADER_KEYS,
        f"{rid},张三,J-0001,2015-05-20,,李四,",  # same holder and number as an existing licence
        f"{rid},张三,J-0002,2015-05-20,,李四,",  # another number: a different licence
        f"{other},王五,,{dated.issued_on.isoformat()},,李四,",  # no number: same holder and date
        f"{other},王五,,2010-01-01,,李四,",  # no number, another date
        f"{other},王五,,2010-01-01,,李四,",  # ...repeated in the file
    ]
    batch = imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    assert [(e["row"], e["column"], e["code"]) for e in batch.errors] == [
        (2, "number", "licence_exists"),
        (4, "issued_on", "licence_exists"),
        (6, "issued_on", "import_duplicate_row"),
    ]
    assert batch.imported == 2
    assert Licence.objects.filter(holder_id=rid).count() == 2
    assert existing.pk in Licence.objects.values_list("pk", flat=True)
    # Importing the same file again adds nothing more.
    again = imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    assert (again.status, again.imported) == (ImportStatus.FAILED, 0)


def test_xlsx_with_label_headers_and_excel_dates(world: World) -> None:
    rid = make_resident_id()
    excel_day = dt.datetime(2015, 5, 20)  # noqa: DTZ001 - Excel dates have no time zone
    rows: list[list[Any]] = [
        HEADER_LABELS.split(","),
        [rid, "张三", 20150001, excel_day, None, "李四", excel_day],
        [make_resident_id(), "王五", None, "2016-02-29", None, "赵六", None],
        [None, None, None, None, None, None, None],
        [rid[:10], "钱七", None, 12345, None, "孙八", None],  # a number is not a date
    ]
    batch = imports.licences_import(type_=world.marriage, file=xlsx_file(rows), by=world.officer)
    assert (batch.rows, batch.imported) == (3, 2)
    assert [(e["row"], e["column"], e["code"]) for e in batch.errors] == [(5, "发证日期", "date_invalid")]
    first = Licence.objects.get(holder_id=rid)
    assert (first.number, first.issued_on, first.data["registered_on"]) == (
        "20150001",
        dt.date(2015, 5, 20),
        "2015-05-20",
    )


def test_csv_without_bom_and_an_enterprise_type_with_given_end_dates(world: World) -> None:
    code, other = credit_code("91"), credit_code("91")
    lines = [
        "holder_id,holder_name,issued_on,valid_until,address",
        f"{code},六安市好味食品有限公司,2022-03-01,2027-02-28,六安市金安区梅山路1号",
        f"{other},六安市鲜果超市,2022-03-01,,",  # this type needs its end date
        f"{other},六安市鲜果超市,2022-03-01,2021-01-01,",  # ends before it starts
    ]
    batch = imports.licences_import(type_=world.food, file=csv_file(lines), by=world.other)
    assert [(e["row"], e["code"]) for e in batch.errors] == [
        (3, "valid_until_required"),
        (4, "valid_until_before_start"),
    ]
    licence = Licence.objects.get(batch=batch)
    assert (licence.holder_id, licence.valid_until) == (code, dt.date(2027, 2, 28))
    assert licence.data["credit_code"] == code


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("holder_id,holder_name,issued_on,colour", "import_column_unknown"),
        ("holder_id,holder_name,number", "import_columns_missing"),  # no date of issue
        ("holder_id,holder_name,issued_on", "import_columns_missing"),  # no spouse name (required field)
        ("holder_id,holder_name,issued_on,spouse_name,配偶姓名", "import_column_repeated"),
    ],
)
def test_wrong_columns_refuse_the_whole_file(world: World, header: str, code: str) -> None:
    lines = [header, f"{make_resident_id()},张三,2015-05-20,李四,李四"]
    with pytest.raises(ValidationFailed) as caught:
        imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    assert caught.value.code == code
    assert list(caught.value.fields) == ["file"]
    assert not LicenceImport.objects.exists()
    assert not Licence.objects.exists()


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("a.csv", "持证人,姓名\n".encode("gb18030")), "import_not_utf8"),
        (SimpleUploadedFile("a.xls", b"\xd0\xcf\x11\xe0"), "import_wrong_file_type"),
        (SimpleUploadedFile("a.xlsx", b"not a workbook"), "import_not_xlsx"),
        (SimpleUploadedFile("a.csv", b"   \n"), "import_empty"),
        (SimpleUploadedFile("a.csv", (HEADER_KEYS + "\n").encode()), "import_no_rows"),
    ],
)
def test_unreadable_files_are_refused(world: World, upload: SimpleUploadedFile, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        imports.licences_import(type_=world.marriage, file=upload, by=world.approver)
    assert caught.value.code == code
    assert not LicenceImport.objects.exists()


def test_an_oversize_file_is_refused_before_it_is_read(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 200)
    lines = [HEADER_KEYS, *(f"{make_resident_id()},张三,,2015-05-20,,李四," for _ in range(10))]
    with pytest.raises(ValidationFailed) as caught:
        imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    assert caught.value.code == "import_file_too_large"
    assert not Licence.objects.exists()


def test_a_department_without_a_signing_key_imports_nothing(world: World) -> None:
    SigningKey.objects.filter(department=world.mzj).update(status=KeyStatus.RETIRED)
    lines = [HEADER_KEYS, f"{make_resident_id()},张三,,2015-05-20,,李四,"]
    with pytest.raises(Conflict) as caught:
        imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    assert caught.value.code == "signing_key_missing"
    assert world.mzj.name in str(caught.value.message)
    assert not LicenceImport.objects.exists()
    assert not Licence.objects.exists()
    assert not AuditEvent.objects.filter(action="licence.imported").exists()


def test_only_the_issuing_department_imports(world: World) -> None:
    lines = [HEADER_KEYS, f"{make_resident_id()},张三,,2015-05-20,,李四,"]
    for user in (world.other, world.clerk, world.county_admin):
        with pytest.raises(PermissionDenied) as caught:
            imports.licences_import(type_=world.marriage, file=csv_file(lines), by=user)
        assert caught.value.code == "not_issuing_department"
    assert imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.admin).imported == 1


def test_the_template_has_the_header_the_import_reads(world: World) -> None:
    workbook = load_workbook(io.BytesIO(imports.template_xlsx(world.marriage)))
    header = [c.value for c in workbook.worksheets[0][1]]
    assert header[5:] == ["姓名", "公民身份号码", "配偶姓名", "登记日期", "登记机关"]
    assert [c.comment.text for c in workbook.worksheets[0][1]][:5] == [c.key for c in imports.FIXED]
    # Filled in and uploaded as it is, the template imports.
    sheet = workbook.worksheets[0]
    sheet.append([make_resident_id(), "张三", None, "2015-05-20", None, None, None, "李四", None, None])
    out = io.BytesIO()
    workbook.save(out)
    batch = imports.licences_import(
        type_=world.marriage, file=SimpleUploadedFile("t.xlsx", out.getvalue()), by=world.approver
    )
    assert (batch.status, batch.imported) == (ImportStatus.DONE, 1)


def test_the_report_workbook_lists_the_refused_rows(world: World) -> None:
    lines = [HEADER_KEYS, f"{bad_check_digit(make_resident_id())},张三,,2015-05-20,,李四,"]
    batch = imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    sheet = load_workbook(io.BytesIO(imports.report_xlsx(batch))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == 2
    assert rows[1][1] == "holder_id"
    assert rows[1][3] == "holder_id_invalid"


def test_the_management_command_imports_and_prints_the_counts(world: World, tmp_path: Path) -> None:
    path = tmp_path / "licences.csv"
    rid = make_resident_id()
    path.write_text(
        "\n".join([HEADER_KEYS, f"{rid},张三,,2015-05-20,,李四,", f"{rid[:5]},王五,,2015-05-20,,李四,"])
    )
    out = io.StringIO()
    call_command("licence_import", world.marriage.code, str(path), "--as", world.officer.username, stdout=out)
    text = out.getvalue()
    assert "2 rows, 1 imported, 1 refused" in text
    assert "row 3 [holder_id] holder_id_invalid" in text
    assert Licence.objects.get().holder_id == rid
    with pytest.raises(CommandError, match="not_issuing_department"):
        call_command(
            "licence_import", world.marriage.code, str(path), "--as", world.other.username, stdout=out
        )
    with pytest.raises(CommandError, match="no active licence type"):
        call_command("licence_import", "X" * 21, str(path), "--as", world.officer.username, stdout=out)
    assert Licence.objects.count() == 1


def test_serials_continue_after_manual_issuance(world: World) -> None:
    manual = issue(world.marriage, world.approver)
    lines = [HEADER_KEYS, *(f"{make_resident_id()},张{i},,2015-05-20,,李四," for i in range(3))]
    batch = imports.licences_import(type_=world.marriage, file=csv_file(lines), by=world.approver)
    serials = sorted(Licence.objects.filter(batch=batch).values_list("serial", flat=True))
    assert serials == [manual.serial + 1, manual.serial + 2, manual.serial + 3]
    after = services.licence_issue(
        type_=world.marriage,
        holder_id=(rid := make_resident_id()),
        holder_name="后来",
        data={"name": "后来", "id_number": rid, "spouse_name": "李四", "registry": "x"},
        by=world.approver,
    )
    assert after.serial == manual.serial + 4


def test_a_type_whose_field_keys_repeat_the_fixed_columns(world: World) -> None:
    """The demo's local types have fields ``holder_name`` and ``holder_id``: their columns are
    reached by their labels, and left out they are filled from the holder."""
    local = licence_type(
        world.mzj,
        name="社会团体登记证书",
        serial=2,
        fields=[
            {"key": "holder_name", "label": "持证人", "required": True, "from": "holder.name"},
            {"key": "holder_id", "label": "证件号码", "required": True, "from": "holder.id"},
            {"key": "matter", "label": "登记事项", "required": True, "from": ""},
        ],
    )
    workbook = load_workbook(io.BytesIO(imports.template_xlsx(local)))
    rid = make_resident_id()
    workbook.worksheets[0].append([rid, "张三", None, "2020-01-02", None, None, None, "成立登记"])
    workbook.worksheets[0].append([rid, "张三", None, "2020-01-03", None, "张叁", None, None])
    out = io.BytesIO()
    workbook.save(out)
    batch = imports.licences_import(
        type_=local, file=SimpleUploadedFile("t.xlsx", out.getvalue()), by=world.approver
    )
    assert batch.imported == 1
    assert [(e["row"], e["column"], e["code"]) for e in batch.errors] == [
        (3, "登记事项", "licence_field_required")
    ]
    assert Licence.objects.get(batch=batch).data == {
        "holder_name": "张三",
        "holder_id": rid,
        "matter": "成立登记",
    }

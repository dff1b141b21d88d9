"""Import jobs through the services: good rows in, bad rows reported, idempotent, all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongban.basedata import services
from tongban.basedata.choices import JobStatus
from tongban.basedata.models import (
    ImportJob,
    IndicatorSeries,
    IndicatorValue,
    LegalEntity,
    Person,
    StandardAddress,
)
from tongban.basedata.tests.conftest import (
    POPULATION_HEADER,
    csv_bytes,
    person_row,
    resident_id,
    upload,
    xlsx_bytes,
)
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import make_credit_code

pytestmark = pytest.mark.usefixtures("divisions")


def run_import(
    content: bytes,
    department: Department,
    by: User | None,
    *,
    dataset: str = "population",
    name: str = "people.csv",
    chunk_rows: int = 50_000,
) -> ImportJob:
    job = services.import_job_create(
        dataset=dataset,
        upload=upload(content, name),
        department=department,
        by=by,
        original_name=name,
        enqueue=False,
    )
    return services.import_job_run(job_id=job.pk, chunk_rows=chunk_rows)


def report_rows(job: ImportJob) -> list[dict[str, str]]:
    with job.error_report.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))


def good_rows(count: int, start: int = 1) -> list[list[str]]:
    return [person_row(seq) for seq in range(start, start + count)]


def test_good_rows_are_imported_and_every_bad_row_is_reported(police: Department, officer: User) -> None:
    bad_check = person_row(90)
    bad_check[0] = bad_check[0][:17] + ("0" if bad_check[0][17] != "0" else "1")
    wrong_birth = person_row(91)
    wrong_birth[3] = "1986-03-13"
    wrong_gender = person_row(92)
    wrong_gender[2] = "男"  # an even sequence number is a woman's
    unknown_division = person_row(93, division="341599")
    many_problems = person_row(94)
    many_problems[1] = ""
    many_problems[7] = "订婚"
    rows = [
        *good_rows(5),
        bad_check,
        wrong_birth,
        wrong_gender,
        unknown_division,
        many_problems,
        person_row(2),
    ]
    job = run_import(csv_bytes(POPULATION_HEADER, rows), police, officer)

    assert job.status == JobStatus.SUCCEEDED
    assert (job.total_rows, job.inserted, job.updated, job.unchanged, job.error_count) == (11, 5, 0, 0, 6)
    assert Person.objects.count() == 5
    assert set(Person.objects.values_list("source_department", flat=True)) == {police.pk}
    problems = [(r["行号"], r["列"], r["原因代码"]) for r in report_rows(job)]
    assert problems == [
        ("7", "公民身份号码", "resident_id_checksum"),
        ("8", "出生日期", "birth_date_mismatch"),
        ("9", "性别", "gender_mismatch"),
        ("10", "行政区划代码", "division_unknown"),
        ("11", "姓名", "required"),
        ("11", "婚姻状况", "marital_status_unknown"),
        ("12", "公民身份号码", "duplicate_key"),
    ]
    report = report_rows(job)
    assert report[0]["说明"] == "公民身份号码的校验码不正确。"
    assert report[0]["值（已脱敏）"] == bad_check[0][:6] + "********" + bad_check[0][-4:]
    assert bad_check[0] not in job.error_report.open("rb").read().decode("utf-8-sig")
    assert AuditEvent.objects.filter(action="basedata.import_finish", subject_id=str(job.pk)).exists()


def test_the_same_file_twice_creates_no_duplicates(police: Department, officer: User) -> None:
    content = csv_bytes(POPULATION_HEADER, good_rows(8))
    first = run_import(content, police, officer)
    second = run_import(content, police, officer)
    assert (first.inserted, first.updated, first.unchanged) == (8, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 8)
    assert Person.objects.count() == 8
    assert second.sha256 == first.sha256


def test_changed_records_are_updated_and_counted(police: Department, officer: User) -> None:
    run_import(csv_bytes(POPULATION_HEADER, good_rows(4)), police, officer)
    before = Person.objects.get(pk=resident_id(seq=1)).updated_at
    rows = good_rows(4)
    rows[0][5] = "安徽省六安市金安区中市街道梅山南路8号"
    rows[1][7] = "离婚"
    rows.append(person_row(5))
    job = run_import(csv_bytes(POPULATION_HEADER, rows), police, officer)
    assert (job.inserted, job.updated, job.unchanged) == (1, 2, 2)
    moved = Person.objects.get(pk=resident_id(seq=1))
    assert moved.household_address == "安徽省六安市金安区中市街道梅山南路8号"
    assert moved.updated_at > before
    assert Person.objects.get(pk=resident_id(seq=2)).marital_status == "40"


def test_an_absent_optional_column_keeps_the_base_values(police: Department, officer: User) -> None:
    rows = good_rows(3)
    rows[0][7] = "丧偶"
    run_import(csv_bytes(POPULATION_HEADER, rows), police, officer)
    header = ["公民身份号码", "姓名", "民族", "户籍地址", "行政区划代码"]
    slim = [[r[0], r[1], r[4], r[5], r[6]] for r in good_rows(3)]
    slim[1][1] = "张卫"
    job = run_import(csv_bytes(header, slim), police, officer)
    assert (job.updated, job.unchanged) == (1, 2)
    first = Person.objects.get(pk=rows[0][0])
    assert first.marital_status == "30"
    assert first.life_status == "alive"
    assert first.source_updated_at is not None  # a file without 来源更新时间 keeps the base's


def test_xlsx_with_numbers_and_dates_in_cells(police: Department, officer: User) -> None:
    rows: list[list[Any]] = []
    for seq in range(1, 4):
        row: list[Any] = person_row(seq)
        row[3] = dt.datetime(1986, 3, 12)  # noqa: DTZ001 - an Excel date cell
        row[4] = 1  # ethnicity typed as a number
        rows.append(row)
    as_number: list[Any] = person_row(4)
    as_number[0] = int(as_number[0][:17] + "0")  # an ID typed as a number: Excel keeps 15 digits
    rows.append(as_number)
    job = run_import(xlsx_bytes(POPULATION_HEADER, rows), police, officer, name="people.xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.file_format == "xlsx"
    assert (job.inserted, job.error_count) == (3, 1)
    assert [r["原因代码"] for r in report_rows(job)] == ["resident_id_as_number"]
    assert Person.objects.get(pk=resident_id(seq=1)).ethnicity == "01"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_text_encodings(police: Department, officer: User, encoding: str) -> None:
    job = run_import(csv_bytes(POPULATION_HEADER, good_rows(3), encoding=encoding), police, officer)
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.encoding == encoding
    assert Person.objects.get(pk=resident_id(seq=1)).name == "张伟"


def test_tab_separated_and_english_headers(police: Department, officer: User) -> None:
    header = ["resident_id", "name", "ethnicity", "household_address", "division_code"]
    lines = ["\t".join(header)] + ["\t".join([r[0], r[1], r[4], r[5], r[6]]) for r in good_rows(2)]
    job = run_import(("\n".join(lines) + "\n").encode(), police, officer)
    assert (job.status, job.inserted) == (JobStatus.SUCCEEDED, 2)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "file_empty"),
        (b"abc\x00\x00\x00def\x00", "file_format"),
        ("公民身份号码,姓名\n".encode(), "missing_columns"),
        (b"PK\x03\x04not really a workbook", "file_unreadable"),
        ("公民身份号码,姓名\n".encode()[:-4] + b"\xff\xfe\xfa\n", "file_encoding"),
    ],
)
def test_files_that_cannot_be_read_are_refused_at_upload(
    police: Department, officer: User, content: bytes, code: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.import_job_create(
            dataset="population", upload=upload(content), department=police, by=officer
        )
    assert refused.value.code == code
    assert not ImportJob.objects.exists()


def test_size_and_row_limits(police: Department, officer: User, settings: Any) -> None:
    content = csv_bytes(POPULATION_HEADER, good_rows(5))
    settings.TONGBAN_IMPORT_MAX_BYTES = len(content) - 1
    with pytest.raises(ValidationFailed) as too_large:
        services.import_job_create(
            dataset="population", upload=upload(content), department=police, by=officer
        )
    assert too_large.value.code == "file_too_large"
    settings.TONGBAN_IMPORT_MAX_BYTES = 10**9
    settings.TONGBAN_IMPORT_MAX_ROWS = 4
    with pytest.raises(ValidationFailed) as too_many:
        services.import_job_create(
            dataset="population", upload=upload(content), department=police, by=officer
        )
    assert too_many.value.code == "too_many_rows"
    assert not ImportJob.objects.exists()


def test_a_job_over_the_row_limit_fails_and_changes_nothing(
    police: Department, officer: User, settings: Any
) -> None:
    job = services.import_job_create(
        dataset="population",
        upload=upload(csv_bytes(POPULATION_HEADER, good_rows(6))),
        department=police,
        by=officer,
        enqueue=False,
    )
    settings.TONGBAN_IMPORT_MAX_ROWS = 3  # lowered after the upload was accepted
    job = services.import_job_run(job_id=job.pk, chunk_rows=2)
    assert job.status == JobStatus.FAILED
    assert "6" not in job.message
    assert "3" in job.message
    assert not Person.objects.exists()


def test_a_failing_merge_leaves_the_base_as_it_was(police: Department, officer: User) -> None:
    """A database trigger refuses one record in the middle of the upsert: the whole merge rolls back."""
    run_import(csv_bytes(POPULATION_HEADER, good_rows(3)), police, officer)
    before = sorted(Person.objects.values_list("resident_id", "household_address"))
    rows = good_rows(3)
    for row in rows:
        row[5] = "安徽省六安市金安区东市街道人民路1号"
    rows += good_rows(5, start=10)
    rows[6][1] = "拒收"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION basedata_test_refuse() RETURNS trigger AS $$ BEGIN "
                "IF NEW.name = '拒收' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; "
                "END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER basedata_test_refuse BEFORE INSERT ON basedata_person "
                "FOR EACH ROW EXECUTE FUNCTION basedata_test_refuse()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER basedata_test_refuse BEFORE INSERT ON basedata_person WHEN NEW.name = '拒收' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
    with pytest.raises(Exception, match="refused by the test"):
        run_import(csv_bytes(POPULATION_HEADER, rows), police, officer)
    assert sorted(Person.objects.values_list("resident_id", "household_address")) == before
    job = ImportJob.objects.latest("pk")
    assert job.status == JobStatus.FAILED
    assert (job.inserted, job.updated) == (0, 0)
    assert AuditEvent.objects.filter(action="basedata.import_fail", subject_id=str(job.pk)).exists()


def test_progress_is_committed_per_chunk(police: Department, officer: User) -> None:
    seen: list[tuple[int, int | None]] = []
    job = services.import_job_create(
        dataset="population",
        upload=upload(csv_bytes(POPULATION_HEADER, good_rows(25))),
        department=police,
        by=officer,
        enqueue=False,
    )
    assert job.total_rows == 25

    def progress(read: int, total: int | None) -> None:
        seen.append((read, ImportJob.objects.get(pk=job.pk).processed_rows))

    services.import_job_run(job_id=job.pk, progress=progress, chunk_rows=10)
    assert seen[:2] == [(10, 10), (20, 20)]
    assert seen[-1][0] == 25


def test_a_job_runs_once(police: Department, officer: User) -> None:
    job = run_import(csv_bytes(POPULATION_HEADER, good_rows(2)), police, officer)
    again = services.import_job_run(job_id=job.pk)
    assert again.status == JobStatus.SUCCEEDED
    assert AuditEvent.objects.filter(action="basedata.import_finish").count() == 1


def test_only_data_staff_of_the_department_may_import(
    police: Department,
    civil_affairs: Department,
    officer: User,
    civil_officer: User,
    approver: User,
    city_admin: User,
) -> None:
    content = csv_bytes(POPULATION_HEADER, good_rows(1))
    for user, department in ((civil_officer, police), (approver, police), (officer, civil_affairs)):
        with pytest.raises(PermissionDenied):
            services.import_job_create(
                dataset="population", upload=upload(content), department=department, by=user
            )
    job = services.import_job_create(
        dataset="population", upload=upload(content), department=police, by=city_admin
    )
    assert job.source_department == police


def test_legal_entities(police: Department, officer: User) -> None:
    code = make_credit_code("341502")
    header = [
        "统一社会信用代码",
        "名称",
        "法定代表人",
        "注册资本（万元）",
        "住所",
        "行政区划代码",
        "成立日期",
        "登记状态",
        "经营范围",
    ]
    rows = [
        [
            code,
            "六安市测试科技有限公司",
            "王建国",
            "1,000",
            "安徽省六安市金安区皖西大道1号",
            "341502",
            "2015/6/30",
            "存续",
            "软件开发；\n技术服务",
        ],
        [
            code[:17] + ("0" if code[17] != "0" else "1"),
            "坏代码公司",
            "李四",
            "",
            "地址",
            "341502",
            "2015-06-30",
            "存续",
            "",
        ],
        [
            make_credit_code("341503"),
            "裕安区某某店",
            "赵六",
            "-5",
            "地址",
            "341503",
            "2015-13-01",
            "歇业",
            "",
        ],
    ]
    job = run_import(csv_bytes(header, rows), police, officer, dataset="legal_entity", name="entities.csv")
    assert (job.inserted, job.error_count) == (1, 2)
    entity = LegalEntity.objects.get(pk=code)
    assert (entity.entity_type, entity.status, str(entity.registered_capital)) == (
        "company",
        "active",
        "1000.0000",
    )
    assert entity.business_scope == "软件开发；\n技术服务"
    assert [r["原因代码"] for r in report_rows(job)] == [
        "credit_code_checksum",
        "number_out_of_range",
        "date_invalid",
        "entity_status_unknown",
    ]


def test_addresses_with_composed_full_address(police: Department, officer: User) -> None:
    header = ["地址编码", "行政区划代码", "街路巷", "门牌号", "楼栋单元户室", "邮政编码", "经度", "纬度"]
    rows = [
        ["341502001-01-0001", "341502001", "皖西大道", "1号", "1栋2单元", "237000", "116.5", "31.75"],
        ["341502001-01-0002", "341502001", "皖西大道", "2号", "", "2370", "200", "31.75"],
    ]
    job = run_import(csv_bytes(header, rows), police, officer, dataset="address", name="addresses.csv")
    assert (job.inserted, job.error_count) == (1, 1)
    address = StandardAddress.objects.get()
    assert address.full_address == "安徽省六安市金安区中市街道皖西大道1号1栋2单元"
    assert [r["原因代码"] for r in report_rows(job)] == ["postcode_invalid", "coordinate_out_of_range"]


def test_indicator_values_create_their_series(
    police: Department, civil_affairs: Department, officer: User, civil_officer: User
) -> None:
    header = ["指标代码", "指标名称", "计量单位", "频度", "统计期", "行政区划代码", "数值"]
    rows = [
        ["GDP", "地区生产总值", "亿元", "年度", "2023年", "341500", "2101.2"],
        ["GDP", "", "", "", "2024", "341500", "2210.8"],
        ["GDP", "", "", "", "2024", "341502", "445.1"],
        ["RETAIL_Q", "社会消费品零售总额（季度）", "亿元", "季度", "2024年第一季度", "341500", "280.3"],
        ["NEW", "", "", "", "2024", "341500", "1"],
        ["GDP", "", "", "", "2024Q1", "341500", "1"],
    ]
    job = run_import(csv_bytes(header, rows), police, officer, dataset="indicator", name="indicators.csv")
    assert (job.inserted, job.error_count) == (4, 2)
    gdp = IndicatorSeries.objects.get(code="GDP")
    assert (gdp.name, gdp.unit, gdp.frequency, gdp.department) == ("地区生产总值", "亿元", "year", police)
    assert IndicatorValue.objects.get(series__code="RETAIL_Q").period == "2024Q1"
    assert [r["原因代码"] for r in report_rows(job)] == ["series_unknown", "period_invalid"]
    again = run_import(
        csv_bytes(header, rows[:4]), police, officer, dataset="indicator", name="indicators.csv"
    )
    assert (again.inserted, again.unchanged) == (0, 4)
    other = run_import(
        csv_bytes(header, [["GDP", "", "", "", "2025", "341500", "1"]]),
        civil_affairs,
        civil_officer,
        dataset="indicator",
    )
    assert [r["原因代码"] for r in report_rows(other)] == ["series_other_department"]


def test_the_hot_path_runs_few_statements(police: Department, officer: User) -> None:
    job = services.import_job_create(
        dataset="population",
        upload=upload(csv_bytes(POPULATION_HEADER, good_rows(300))),
        department=police,
        by=officer,
        enqueue=False,
    )
    with CaptureQueriesContext(connection) as queries:
        services.import_job_run(job_id=job.pk, chunk_rows=100)
    # Claim, tables, three progress updates, the merge with its count, the job and its audit row: not per row.
    assert len(queries) < 40, [q["sql"][:80] for q in queries]
    assert Person.objects.count() == 300

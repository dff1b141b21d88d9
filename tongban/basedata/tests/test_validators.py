"""The field checks and the row cleaners: check digits, the ID's consistency rules, codes and labels."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from tongban.basedata import divisions, validators
from tongban.basedata.datasets import Context, RowProblems, map_header, spec_for
from tongban.basedata.tests.conftest import POPULATION_HEADER
from tongban.basedata.validators import FieldError
from tongban.core.errors import ValidationFailed

REGIONS = divisions.region_codes()
DATES = validators.date_table()
KNOWN_DIVISIONS = frozenset({"341502", "341502001", "341503"})
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

regions = st.sampled_from(sorted(c for c in REGIONS if c.startswith("34")))
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date.today())  # noqa: DTZ011
sequences = st.integers(min_value=0, max_value=999)


def make_id(region: str, birth: dt.date, seq: int) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def code_of(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except FieldError as exc:
        return exc.code
    return ""


@given(regions, birth_dates, sequences)
def test_every_valid_resident_id_passes(region: str, birth: dt.date, seq: int) -> None:
    number = make_id(region, birth, seq)
    assert validators.resident_id(number, REGIONS, DATES) == number
    assert validators.resident_id(number.lower(), REGIONS, DATES) == number  # a lower-case x is fine


@given(
    regions,
    birth_dates,
    sequences,
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=1, max_value=9),
)
def test_one_wrong_digit_is_caught(region: str, birth: dt.date, seq: int, position: int, shift: int) -> None:
    number = make_id(region, birth, seq)
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    # GB 11643's MOD 11-2 check catches every single wrong digit; a change may also break the date or region.
    assert code_of(lambda: validators.resident_id(wrong, REGIONS, DATES)) in {
        "resident_id_checksum",
        "resident_id_region",
        "resident_id_birth_date",
    }
    assert code_of(
        lambda: validators.resident_id(wrong[:17] + ric.calc_check_digit(wrong), REGIONS, DATES)
    ) in {
        "",
        "resident_id_region",
        "resident_id_birth_date",
    }


@given(regions, birth_dates, sequences)
def test_neighbouring_digits_swapped_are_caught(region: str, birth: dt.date, seq: int) -> None:
    number = make_id(region, birth, seq)
    swapped = number[:14] + number[15] + number[14] + number[16:]
    assume(swapped != number)
    assert code_of(lambda: validators.resident_id(swapped, REGIONS, DATES)) == "resident_id_checksum"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "required"),
        ("34150219860312215", "resident_id_length"),
        ("3415021986031221500", "resident_id_length"),
        ("34150219860312215A", "resident_id_format"),
        ("3.41502198603122E+17", "resident_id_as_number"),
        ("341502198603122151", "resident_id_checksum"),
        ("000000198603122150", "resident_id_checksum"),
    ],
)
def test_malformed_resident_ids(value: str, code: str) -> None:
    assert code_of(lambda: validators.resident_id(value, REGIONS, DATES)) == code


def test_region_and_birth_date_of_the_id() -> None:
    unknown_region = make_id("349999", dt.date(1986, 3, 12), 1)
    assert code_of(lambda: validators.resident_id(unknown_region, REGIONS, DATES)) == "resident_id_region"
    body = "34150219860231001"  # 31 February
    assert code_of(
        lambda: validators.resident_id(body + ric.calc_check_digit(body + "0"), REGIONS, DATES)
    ) == ("resident_id_birth_date")
    future = (dt.date.today() + dt.timedelta(days=30)).strftime("%Y%m%d")  # noqa: DTZ011
    body = f"341502{future}001"
    assert code_of(
        lambda: validators.resident_id(body + ric.calc_check_digit(body + "0"), REGIONS, DATES)
    ) == ("resident_id_birth_date")
    # An ID issued before 2000 in the former 六安地区 keeps its old code, which is still accepted.
    assert validators.resident_id(make_id("342421", dt.date(1970, 5, 1), 11), REGIONS, DATES)


def _population_cleaner() -> object:
    spec = spec_for("population")
    columns = map_header(spec, POPULATION_HEADER)
    return spec.build(columns, Context(regions=REGIONS, divisions=KNOWN_DIVISIONS, dates=DATES))


def _cells(rid: str, gender: str, birth: str) -> list[str]:
    return [
        rid,
        "张伟",
        gender,
        birth,
        "汉族",
        "安徽省六安市金安区中市街道1号",
        "341502001",
        "已婚",
        "正常",
        "",
    ]


@given(regions, birth_dates, sequences)
def test_gender_and_birth_date_follow_the_id(region: str, birth: dt.date, seq: int) -> None:
    clean = _population_cleaner()
    number = make_id(region, birth, seq)
    sex = "1" if seq % 2 else "2"
    other = "2" if seq % 2 else "1"
    row = clean(_cells(number, "", ""))  # type: ignore[operator]
    assert row[2] == sex
    assert row[3] == birth.isoformat()
    for spelling in (sex, "男" if sex == "1" else "女"):
        assert clean(_cells(number, spelling, birth.strftime("%Y/%m/%d")))[2:4] == (sex, birth.isoformat())  # type: ignore[operator]
    with pytest.raises(RowProblems) as problems:
        clean(_cells(number, other, (birth - dt.timedelta(days=1)).isoformat()))  # type: ignore[operator]
    codes = {code for _field, code in problems.value.errors}
    assert "gender_mismatch" in codes
    if birth > dt.date(1900, 1, 1):
        assert "birth_date_mismatch" in codes


def test_a_bad_row_reports_every_problem_at_once() -> None:
    clean = _population_cleaner()
    number = make_id("341502", dt.date(1986, 3, 12), 1)
    with pytest.raises(RowProblems) as problems:
        clean([number, "", "9", "1986-03-13", "火星族", "x" * 300, "341599", "订婚", "失踪", "昨天"])  # type: ignore[operator]
    assert sorted(problems.value.errors) == sorted(
        [
            ("name", "required"),
            ("ethnicity", "ethnicity_unknown"),
            ("household_address", "too_long"),
            ("division_code", "division_unknown"),
            ("marital_status", "marital_status_unknown"),
            ("life_status", "life_status_unknown"),
            ("source_updated_at", "datetime_invalid"),
            ("gender", "gender_mismatch"),
            ("birth_date", "birth_date_mismatch"),
        ]
    )


@given(st.text(alphabet=USCC_ALPHABET, min_size=10, max_size=10), regions)
def test_credit_codes(tail: str, region: str) -> None:
    body = "91" + region + tail[:9]
    code = body + uscc.calc_check_digit(body)
    assert validators.credit_code(code, REGIONS) == code
    assert validators.credit_code(f"{code[:6]} {code[6:]}".lower(), REGIONS) == code
    wrong = code[:17] + next(c for c in USCC_ALPHABET if c != code[17])
    assert code_of(lambda: validators.credit_code(wrong, REGIONS)) == "credit_code_checksum"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("9134150206612987", "credit_code_length"),
        ("91341502066129878I", "credit_code_format"),
        ("913415020661298780", "credit_code_checksum"),
    ],
)
def test_malformed_credit_codes(value: str, code: str) -> None:
    assert code_of(lambda: validators.credit_code(value, REGIONS)) == code


@given(birth_dates)
def test_date_spellings(day: dt.date) -> None:
    expected = day.isoformat()
    for text in (
        expected,
        day.strftime("%Y%m%d"),
        day.strftime("%Y/%m/%d"),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}.{day.month:02d}.{day.day:02d}",
    ):
        assert validators.date(text, DATES) == expected
        assert validators.date_check(DATES)(text) == expected


def test_dates_out_of_range_and_invalid() -> None:
    assert code_of(lambda: validators.date("2024-02-30", DATES)) == "date_invalid"
    assert code_of(lambda: validators.date("1899-12-31", DATES)) == "date_out_of_range"
    assert code_of(lambda: validators.date("tomorrow", DATES)) == "date_invalid"
    assert validators.date("", DATES, required=False) == ""
    assert code_of(lambda: validators.date("", DATES)) == "required"


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (validators.gender, "男", "1"),
        (validators.gender, "女性", "2"),
        (validators.gender, "F", "2"),
        (validators.marital_status, "初婚", "21"),
        (validators.marital_status, "20", "20"),
        (validators.marital_status, "", "90"),
        (validators.marital_status, "未说明的婚姻状况", "90"),
        (validators.ethnicity, "汉", "01"),
        (validators.ethnicity, "1", "01"),
        (validators.ethnicity, "蒙古族", "02"),
        (validators.ethnicity, "56", "56"),
        (validators.life_status, "死亡", "deceased"),
        (validators.life_status, "正常", "alive"),
        (validators.entity_status, "吊销未注销", "revoked"),
        (validators.entity_type_label, "有限责任公司（自然人独资）", "company"),
        (validators.entity_type_label, "个体工商户", "sole_proprietor"),
    ],
)
def test_codes_and_labels(check: object, value: str, expected: str) -> None:
    assert check(value) == expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("value", "frequency", "expected"),
    [
        ("2024", "year", "2024"),
        ("2024年", "year", "2024"),
        ("2024Q1", "quarter", "2024Q1"),
        ("2024年第一季度", "quarter", "2024Q1"),
        ("2024-3", "quarter", "2024Q3"),
        ("2024-03", "month", "2024-03"),
        ("2024年3月", "month", "2024-03"),
        ("202412", "month", "2024-12"),
    ],
)
def test_periods(value: str, frequency: str, expected: str) -> None:
    assert validators.period(value, frequency) == expected


def test_bad_periods() -> None:
    assert code_of(lambda: validators.period("2024Q5", "quarter")) == "period_invalid"
    assert code_of(lambda: validators.period("2024-13", "month")) == "period_invalid"
    assert code_of(lambda: validators.period("2024-01", "year")) == "period_invalid"


def test_numbers_text_and_moments() -> None:
    number = validators.decimal(max_digits=16, places=4, minimum=validators.Decimal(0))
    assert number("1,000.50万元") == "1000.5"
    assert number("") == ""
    assert code_of(lambda: number("-1")) == "number_out_of_range"
    assert code_of(lambda: number("1.23456")) == "number_out_of_range"
    assert code_of(lambda: number("abc")) == "number_invalid"
    assert validators.text(10)("张\u3000伟") == "张 伟"
    assert code_of(lambda: validators.text(10)("张\t伟")) == "text_invalid_characters"
    assert validators.moment("2025-03-01 10:00:00") == "2025-03-01T10:00:00+08:00"
    assert validators.moment("2025/03/01") == "2025-03-01T00:00:00+08:00"
    assert validators.moment("") is None


def test_header_mapping() -> None:
    spec = spec_for("population")
    columns = map_header(spec, ["身份证号*", " 姓名 ", "民族", "户籍地址", "区划代码", "备注"])
    assert columns.positions == {
        "resident_id": 0,
        "name": 1,
        "ethnicity": 2,
        "household_address": 3,
        "division_code": 4,
    }
    assert columns.ignored == ("备注",)
    assert spec.absent_fields(columns) == ["marital_status", "life_status", "source_updated_at"]
    english = map_header(spec, ["resident_id", "name", "ethnicity", "household_address", "division_code"])
    assert english.fields == ["resident_id", "name", "ethnicity", "household_address", "division_code"]
    with pytest.raises(ValidationFailed) as missing:
        map_header(spec, ["公民身份号码", "姓名"])
    assert missing.value.code == "missing_columns"
    assert "民族" in str(missing.value.message)
    with pytest.raises(ValidationFailed) as twice:
        map_header(spec, [*POPULATION_HEADER, "身份证号码"])
    assert twice.value.code == "duplicate_columns"

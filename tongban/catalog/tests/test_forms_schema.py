from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongban.catalog.forms_schema import (
    FIELD_TYPES,
    build_form_class,
    submission_to_json,
    validate_form_schema,
    validate_submission,
)
from tongban.core.errors import ValidationFailed
from tongban.identity.tests.factories import make_credit_code, make_resident_id


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are compared in their English msgids; one test checks the Chinese."""
    with translation.override("en"):
        yield


def field(key: str, kind: str = "text", **attrs: Any) -> dict[str, Any]:
    return {"key": key, "label": key.upper(), "type": kind, **attrs}


GENDER = [{"value": "m", "label": "男"}, {"value": "f", "label": "女"}]
SCHEMA = validate_form_schema(
    [
        field("name", required=True, validation={"min_length": 2, "max_length": 10}),
        field("postcode", validation={"regex": r"\d{6}"}),
        field("note", "textarea"),
        field("children", "integer", validation={"min_value": 0, "max_value": 9}),
        field("income", "decimal", validation={"min_value": "0", "max_value": "1000000.00"}),
        field("birth", "date", validation={"min_value": "1900-01-01", "max_value": "2030-12-31"}),
        field("gender", "choice", options=GENDER, required=True),
        field("needs", "multichoice", options=["医保", "社保卡", "户口"], validation={"max_length": 2}),
        field("consent", "boolean", required=True),
        field("newsletter", "boolean"),
        field("phone", "phone"),
        field("resident_id", "resident_id"),
        field("credit_code", "credit_code"),
        field("email", "email"),
    ]
)


def errors_of(data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        validate_submission(SCHEMA, data)
    assert info.value.code == "form_invalid"
    return {key: [str(m) for m in messages] for key, messages in info.value.fields.items()}


# --- the schema --------------------------------------------------------------------------------


def test_schema_is_returned_in_normal_form() -> None:
    normal = validate_form_schema(
        [field("needs", "multichoice", options=["医保", {"value": "ss", "label": "社保"}])]
    )
    assert normal == [
        {
            "key": "needs",
            "label": "NEEDS",
            "type": "multichoice",
            "required": False,
            "help_text": "",
            "options": [{"value": "医保", "label": "医保"}, {"value": "ss", "label": "社保"}],
            "validation": {},
        }
    ]
    assert validate_form_schema(normal) == normal
    assert validate_form_schema([]) == []
    assert validate_form_schema(None) == []
    assert SCHEMA[4]["validation"] == {"min_value": "0", "max_value": "1000000.00"}


@pytest.mark.parametrize(
    ("schema", "code"),
    [
        ({"fields": []}, "schema_not_list"),
        (["name"], "field_not_object"),
        ([field("a"), field("a", "integer")], "duplicate_key"),
        ([field("Name")], "key_invalid"),
        ([field("1st")], "key_invalid"),
        ([field("a-b")], "key_invalid"),
        ([{"key": "a", "type": "text"}], "label_required"),
        ([{"key": "a", "label": "  ", "type": "text"}], "label_required"),
        ([field("a", "signature")], "unknown_type"),
        ([field("a", "choice")], "choice_without_options"),
        ([field("a", "multichoice", options=[])], "choice_without_options"),
        ([field("a", "choice", options=[{"value": "x"}])], "option_invalid"),
        ([field("a", "choice", options=["x", "x"])], "duplicate_option"),
        ([field("a", options=["x"])], "options_not_allowed"),
        ([field("a", validation={"regex": "(unclosed"})], "bad_regex"),
        ([field("a", validation={"regex": "a" * 201})], "bad_regex"),
        ([field("a", validation={"pattern": "x"})], "unknown_validation_rule"),
        ([field("a", "integer", validation={"regex": r"\d+"})], "validation_not_applicable"),
        ([field("a", "phone", validation={"max_length": 5})], "validation_not_applicable"),
        ([field("a", validation={"max_length": "ten"})], "validation_value_invalid"),
        ([field("a", "integer", validation={"min_value": 1.5})], "validation_value_invalid"),
        ([field("a", "date", validation={"min_value": "2026-02-30"})], "validation_value_invalid"),
        ([field("a", "decimal", validation={"max_value": "NaN"})], "validation_value_invalid"),
        ([field("a", validation={"min_length": 5, "max_length": 2})], "min_exceeds_max"),
        ([field("a", "decimal", validation={"min_value": "10", "max_value": "9.5"})], "min_exceeds_max"),
        (
            [field("a", "date", validation={"min_value": "2026-01-02", "max_value": "2026-01-01"})],
            "min_exceeds_max",
        ),
        ([field("a", required="yes")], "required_invalid"),
        ([field("a", colour="red")], "unknown_attribute"),
        ([field("a", help_text="x" * 501)], "help_text_invalid"),
        ([field(f"f{i}") for i in range(101)], "too_many_fields"),
    ],
)
def test_malformed_schema_is_refused_with_a_stable_code(schema: Any, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_form_schema(schema)
    assert info.value.code == code
    assert info.value.fields["form_schema"]


def test_schema_error_says_which_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_form_schema([field("a"), field("b", "choice")])
    assert info.value.extra == {"field_index": 1}
    assert info.value.as_dict()["field_index"] == 1


def test_schema_messages_are_translated() -> None:
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as info:
        validate_form_schema([field("a"), field("a")])
    assert str(info.value.message) != "Two fields have the key a."
    assert "a" in str(info.value.message)


# --- the answers ---------------------------------------------------------------------------------


# No deadline: the shared test machine runs suites in parallel; the autouse language fixture is
# function-scoped but stateless across examples.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def valid_answers() -> dict[str, Any]:
    return {
        "name": " 张三 ",
        "postcode": "237000",
        "note": "第一行\n第二行",
        "children": "2",
        "income": "12345.60",
        "birth": "1990-05-17",
        "gender": "f",
        "needs": ["户口", "医保"],
        "consent": True,
        "newsletter": "",
        "phone": "138 0000 1234",
        "resident_id": make_resident_id(birth="19900517").lower(),
        "credit_code": make_credit_code(),
        "email": "zhang@example.cn",
    }


def test_valid_answers_come_back_typed() -> None:
    data = valid_answers()
    cleaned = validate_submission(SCHEMA, data)
    assert cleaned["name"] == "张三"
    assert cleaned["children"] == 2
    assert cleaned["income"] == Decimal("12345.60")
    assert cleaned["birth"] == dt.date(1990, 5, 17)
    assert cleaned["needs"] == ["医保", "户口"]  # the definition's order
    assert cleaned["consent"] is True
    assert cleaned["newsletter"] is False
    assert cleaned["phone"] == "13800001234"
    assert cleaned["resident_id"] == data["resident_id"].upper()
    assert cleaned["credit_code"] == data["credit_code"]
    assert submission_to_json(cleaned)["income"] == "12345.60"
    assert submission_to_json(cleaned)["birth"] == "1990-05-17"


def test_optional_fields_may_be_left_out() -> None:
    cleaned = validate_submission(SCHEMA, {"name": "张三", "gender": "m", "consent": "on"})
    assert cleaned["children"] is None
    assert cleaned["needs"] == []
    assert cleaned["newsletter"] is False
    assert cleaned["consent"] is True
    assert set(cleaned) == {f["key"] for f in SCHEMA}


def test_every_wrong_answer_is_reported_at_once() -> None:
    errors = errors_of(
        {
            "name": "张",
            "postcode": "23700",
            "children": "2.5",
            "income": "-1",
            "birth": "2026-02-30",
            "gender": "x",
            "needs": ["医保", "社保卡", "户口"],
            "consent": False,
            "phone": "12345",
            "resident_id": "341502199005170000",
            "credit_code": "91341500ABCDEFGHI0",
            "email": "not-an-address",
        }
    )
    assert set(errors) == {
        "name",
        "postcode",
        "children",
        "income",
        "birth",
        "gender",
        "needs",
        "consent",
        "phone",
        "resident_id",
        "credit_code",
        "email",
    }
    assert errors["name"] == ["Enter at least 2 characters."]
    assert errors["consent"] == ["Tick this box to continue."]
    assert errors["needs"] == ["Choose at most 2 options."]


def test_missing_required_answers() -> None:
    errors = errors_of({"name": "   ", "gender": ""})
    assert errors == {
        "name": ["This field is required."],
        "gender": ["This field is required."],
        "consent": ["Tick this box to continue."],
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", 12.5),
        ("name", ["张三"]),
        ("name", "张\n三"),
        ("children", True),
        ("children", 1.0),
        ("children", "1e3"),
        ("children", 10),
        ("income", "Infinity"),
        ("income", "abc"),
        ("income", "1000000.01"),
        ("birth", "17/05/1990"),
        ("birth", dt.datetime(1990, 5, 17, 8, 0)),  # noqa: DTZ001 - a wrong type, not a time
        ("birth", "1899-12-31"),
        ("gender", ["f"]),
        ("needs", "医保,户口"),
        ("needs", [1]),
        ("newsletter", "maybe"),
        ("phone", "0564-12345"),
        ("email", 5),
    ],
)
def test_answer_of_the_wrong_type_is_refused(key: str, value: Any) -> None:
    data = {**valid_answers(), key: value}
    errors = errors_of(data)
    assert list(errors) == [key]


def test_landline_and_native_types_are_accepted() -> None:
    data = {**valid_answers(), "phone": "0564-3379110", "children": 0, "birth": dt.date(2000, 1, 1)}
    cleaned = validate_submission(SCHEMA, data)
    assert (cleaned["phone"], cleaned["children"], cleaned["birth"]) == (
        "0564-3379110",
        0,
        dt.date(2000, 1, 1),
    )


def test_unknown_answers_are_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_submission(SCHEMA, {**valid_answers(), "salary": "1"})
    assert info.value.code == "unknown_form_field"
    assert list(info.value.fields) == ["salary"]


def test_identifier_messages_come_from_idnumbers() -> None:
    resident_id = make_resident_id()
    wrong = resident_id[:17] + ("0" if resident_id[17] != "0" else "1")
    errors = errors_of({**valid_answers(), "resident_id": wrong})
    assert errors["resident_id"] == [
        "The resident ID number's check digit is wrong; please check each digit."
    ]


@relaxed
@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_integer_bounds_hold_for_any_integer(number: int) -> None:
    data = {**valid_answers(), "children": number}
    if 0 <= number <= 9:
        assert validate_submission(SCHEMA, data)["children"] == number
        assert validate_submission(SCHEMA, {**data, "children": str(number)})["children"] == number
    else:
        assert list(errors_of(data)) == ["children"]


@relaxed
@given(st.text(max_size=30))
def test_text_either_fits_the_rules_or_is_refused(text: str) -> None:
    data = {**valid_answers(), "name": text}
    stripped = text.strip()
    if 2 <= len(stripped) <= 10 and "\n" not in stripped and "\r" not in stripped:
        assert validate_submission(SCHEMA, data)["name"] == stripped
    else:
        assert list(errors_of(data)) == ["name"]


@relaxed
@given(st.decimals(allow_nan=True, allow_infinity=True, places=2))
def test_decimal_answers_are_bounded(number: Decimal) -> None:
    data = {**valid_answers(), "income": str(number)}
    if number.is_finite() and Decimal(0) <= number <= Decimal("1000000.00"):
        assert validate_submission(SCHEMA, data)["income"] == number
    else:
        assert list(errors_of(data)) == ["income"]


@relaxed
@given(
    st.dictionaries(
        st.sampled_from([f["key"] for f in SCHEMA]), st.none() | st.text() | st.integers() | st.booleans()
    )
)
def test_any_answers_give_typed_values_or_per_field_errors(data: dict[str, Any]) -> None:
    keys = {f["key"] for f in SCHEMA}
    try:
        cleaned = validate_submission(SCHEMA, data)
    except ValidationFailed as exc:
        failure: ValidationFailed | None = exc
    else:
        failure = None
        assert set(cleaned) == keys
        assert cleaned["consent"] is True
    if failure is not None:
        assert failure.code == "form_invalid"
        assert set(failure.fields) <= keys
        assert all(failure.fields.values())


# --- the Django form -----------------------------------------------------------------------------


def test_django_form_applies_the_same_rules() -> None:
    form_class = build_form_class(SCHEMA)
    assert list(form_class.base_fields) == [f["key"] for f in SCHEMA]
    data = valid_answers()
    post = {**data, "needs": data["needs"], "consent": "on"}
    del post["newsletter"]
    form = form_class(data=post)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == validate_submission(SCHEMA, {**data, "consent": True})

    form = form_class(data={**post, "children": "10", "gender": "x", "consent": ""})
    assert not form.is_valid()
    assert form.errors["children"] == ["Enter a value of at most 9."]
    assert form.errors["gender"] == ["Choose one of the listed options."]
    assert form.errors["consent"] == ["Tick this box to continue."]


def test_django_form_renders_labels_widgets_and_options() -> None:
    html = build_form_class(SCHEMA)().as_div()
    assert '<label for="id_name">NAME:</label>' in html
    assert 'type="date"' in html
    assert 'type="checkbox" name="needs" value="医保"' in html
    assert '<option value="f">女</option>' in html
    assert 'type="email"' in html
    assert 'name="children" step="1" min="0" max="9"' in html
    assert "<textarea" in html


def test_every_type_can_be_rendered() -> None:
    schema = validate_form_schema(
        [
            field(kind, kind, options=["a"] if kind in ("choice", "multichoice") else [])
            for kind in FIELD_TYPES
        ]
    )
    html = build_form_class(schema)().as_div()
    for kind in FIELD_TYPES:
        assert f'name="{kind}"' in html


_TEXT_KEYS = [f["key"] for f in SCHEMA if f["type"] != "boolean"]


@relaxed
@given(
    st.dictionaries(
        st.sampled_from(_TEXT_KEYS),
        st.sampled_from(["", " ", "2", "-1", "10", "1.5", "m", "医保", "237000", "1990-05-17", "13800001234"])
        | st.text(max_size=12),
    )
)
def test_page_and_api_accept_and_refuse_the_same_answers(answers: dict[str, str]) -> None:
    posted = {**answers, "consent": "on"}
    form = build_form_class(SCHEMA)(data=posted)
    try:
        cleaned = validate_submission(SCHEMA, {**answers, "consent": True})
    except ValidationFailed as exc:
        api_errors: dict[str, list[str]] | None = {k: [str(m) for m in v] for k, v in exc.fields.items()}
    else:
        api_errors = None
    if api_errors is None:
        assert form.is_valid(), form.errors
        assert form.cleaned_data == cleaned
    else:
        assert not form.is_valid()
        assert dict(form.errors) == api_errors

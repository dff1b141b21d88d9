"""Property tests of the import's cell parsers: classification codes and lists of codes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.core.errors import ValidationFailed
from tongban.resources import excel
from tongban.resources.metadata import clean_resource
from tongban.resources.tests.factories import values

parts = st.tuples(
    st.sampled_from(["1", "2", "3"]),
    st.text(alphabet="0123456789", min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.text(alphabet="0123456789", min_size=0, max_size=3),
)


@given(parts, st.sampled_from(["", "-", " ", ".", "/"]))
def test_a_classification_reads_back_however_it_is_written(
    code: tuple[str, str, str, str], separator: str
) -> None:
    category, item, heading, sub = code
    text = separator.join(p for p in code if p) if separator else "".join(code)
    assert excel._classification(text) == {
        "category": category,
        "item_code": item,
        "heading_code": heading,
        "subheading_code": sub,
    }
    spec = clean_resource(
        values(category=category, item_code=item, heading_code=heading, subheading_code=sub)
    )
    assert spec.classification == "".join(code)


@given(
    st.lists(st.from_regex(r"[0-9]{6}/[0-9]{6}", fullmatch=True), max_size=8),
    st.sampled_from(["、", ",", "；", "\n"]),
)
def test_lists_of_codes_split_on_the_usual_separators(codes: list[str], separator: str) -> None:
    assert excel._split(separator.join(codes)) == codes


@given(st.text(max_size=5))
def test_an_item_code_is_two_ascii_digits(item_code: str) -> None:
    if re.fullmatch(r"[0-9]{2}", item_code.strip()):
        assert clean_resource(values(item_code=item_code)).item_code == item_code.strip()
    else:
        with pytest.raises(ValidationFailed) as caught:
            clean_resource(values(item_code=item_code))
        assert caught.value.code == "item_code_invalid"

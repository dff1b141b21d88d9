"""The slice pager: one row more than a page, no COUNT; malformed or out-of-range numbers clamp."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from tongban.core.paging import query_without_page, slice_page

pytestmark = pytest.mark.django_db


def test_pages_without_counting() -> None:
    qs = ContentType.objects.order_by("pk")
    total = qs.count()
    assert total > 5
    with CaptureQueriesContext(connection) as queries:
        first = slice_page(qs, None, page_size=2)
    assert len(queries) == 1
    assert "COUNT" not in queries[0]["sql"].upper()
    assert [c.pk for c in first.rows] == list(qs.values_list("pk", flat=True)[:2])
    assert (first.number, first.has_previous, first.has_next) == (1, False, True)
    last_number = (total + 1) // 2
    last = slice_page(qs, str(last_number), page_size=2)
    assert last.has_previous
    assert not last.has_next
    assert last.previous_page_number == last_number - 1


@pytest.mark.parametrize(("raw", "expected"), [("x", 1), ("-3", 1), ("0", 1), ("99999999", 5)])
def test_bad_page_numbers_clamp(raw: str, expected: int) -> None:
    assert slice_page(ContentType.objects.order_by("pk"), raw, page_size=2, max_page=5).number == expected


def test_the_query_keeps_everything_but_the_page() -> None:
    assert query_without_page(QueryDict("level=red&page=3&item=7")) == "level=red&item=7"

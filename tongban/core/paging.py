"""Paging a large list without counting it: fetch one row more than a page shows.

Django's ``Paginator`` runs a ``COUNT(*)`` over the whole queryset, which over a million licences or
open cases costs more than the page itself. A ``SlicePage`` knows only whether there is a page
before and after, which is what the pages' "previous / next" links need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

PAGE_SIZE = 50
MAX_PAGE = 10_000


@dataclass(frozen=True)
class SlicePage:
    rows: Sequence[Any]
    number: int
    has_previous: bool
    has_next: bool

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


EMPTY_PAGE = SlicePage([], 1, False, False)


def slice_page(
    qs: QuerySet[Any], raw_number: str | None, *, page_size: int = PAGE_SIZE, max_page: int = MAX_PAGE
) -> SlicePage:
    """Page ``raw_number`` (as the query string gave it: missing or malformed is page 1, beyond
    ``max_page`` is ``max_page``) of ``qs``."""
    try:
        number = min(max(int(raw_number or 1), 1), max_page)
    except ValueError:
        number = 1
    start = (number - 1) * page_size
    rows = list(qs[start : start + page_size + 1])
    return SlicePage(rows[:page_size], number, number > 1, len(rows) > page_size)


def query_without_page(query: QueryDict) -> str:
    """The query string without its ``page``, for the pager's links to add theirs."""
    rest = query.copy()
    rest.pop("page", None)
    return rest.urlencode()

"""What the exchange's views share: the role guards, 404 for what a selector does not find, and a
pager that does not count (the call record is large)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied as PageForbidden
from django.db.models import QuerySet
from django.http import Http404, QueryDict

from tongban.core.errors import DomainError, NotFound, PermissionDenied
from tongban.identity.choices import Role
from tongban.identity.decorators import staff_required

T = TypeVar("T")

data_staff_required = staff_required(Role.DATA_OFFICER, Role.ADMINISTRATOR)
administrator_required = staff_required(Role.ADMINISTRATOR)


def found(lookup: Callable[[], T]) -> T:
    """The selector's object, or a 404 when it is not there for this user."""
    try:
        return lookup()
    except NotFound:
        raise Http404 from None


def refuse_or_keep(exc: DomainError) -> None:
    """A refused permission is a 403 page and a vanished object a 404; other errors go on the form."""
    if isinstance(exc, PermissionDenied):
        raise PageForbidden(str(exc.message)) from None
    if isinstance(exc, NotFound):
        raise Http404 from None


def query_without_page(query: QueryDict) -> str:
    rest = query.copy()
    rest.pop("page", None)
    return rest.urlencode()


@dataclass(frozen=True)
class SlicePage:
    """One page of rows, found by fetching one row more than shown: no COUNT over the whole range."""

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


MAX_PAGE = 10_000


def slice_page(qs: QuerySet[Any], raw_number: str | None, size: int) -> SlicePage:
    try:
        number = min(max(int(raw_number or 1), 1), MAX_PAGE)
    except ValueError:
        number = 1
    start = (number - 1) * size
    rows = list(qs[start : start + size + 1])
    return SlicePage(rows=rows[:size], number=number, has_previous=number > 1, has_next=len(rows) > size)

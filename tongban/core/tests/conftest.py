"""Core test fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """The calendar caches override rows; a test's rolled-back rows must not leak into the next test."""
    cache.clear()
    yield
    cache.clear()

"""32 drafts of one classification created at once: 32 distinct, consecutive codes, no error.

Real transactions and one connection per thread, on SQLite (writers serialised by BEGIN IMMEDIATE
and the busy timeout) and on PostgreSQL (the counter row's lock, held until each draft commits).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from tongban.resources.models import DataResource
from tongban.resources.tests import factories

DRAFTS = 32


@pytest.mark.django_db(transaction=True)
def test_concurrent_drafts_get_distinct_codes() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:"):
        pytest.skip("an in-memory SQLite database is not shared between threads")
    department = factories.department("conc-gaj", "并发测试公安局")
    officers = [factories.officer(department) for _ in range(DRAFTS)]
    start = threading.Barrier(DRAFTS)

    def create(index: int) -> str:
        try:
            start.wait(timeout=30)
            return factories.draft(officers[index], name=f"并发资源{index}").code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=DRAFTS) as pool:
        codes: list[Any] = list(pool.map(create, range(DRAFTS)))

    assert len(set(codes)) == DRAFTS
    assert sorted(codes) == [f"302001/{n:06d}" for n in range(1, DRAFTS + 1)]
    assert DataResource.objects.filter(provider=department).count() == DRAFTS

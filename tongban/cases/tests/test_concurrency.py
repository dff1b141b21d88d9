"""64 applications for the same item on the same day, submitted at once: 64 distinct numbers, no error.

Runs with real transactions and one connection per thread, on SQLite (writers serialised by
BEGIN IMMEDIATE and the busy timeout) and on PostgreSQL (the counter row's lock).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from tongban.cases import services
from tongban.cases.models import Case
from tongban.cases.tests.factories import FORM_ANSWERS, all_files, published_item
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory

SUBMISSIONS = 64


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_get_distinct_numbers() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:"):
        pytest.skip("an in-memory SQLite database is not shared between threads")
    department: Any = DepartmentFactory(code="conc-dept", division_code="341500")
    item = published_item(department)
    applicants: list[Any] = [CitizenFactory() for _ in range(SUBMISSIONS)]
    start = threading.Barrier(SUBMISSIONS)

    def submit(index: int) -> str:
        try:
            files = all_files(item)
            start.wait(timeout=30)
            case = services.case_apply(
                item=item,
                applicant=applicants[index],
                form_data=FORM_ANSWERS,
                files=files,
                by=applicants[index],
            )
            return case.number or ""
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
        numbers = list(pool.map(submit, range(SUBMISSIONS)))

    assert len(set(numbers)) == SUBMISSIONS
    assert sorted(int(n[-4:]) for n in numbers) == list(range(1, SUBMISSIONS + 1))
    assert Case.objects.filter(item=item).count() == SUBMISSIONS

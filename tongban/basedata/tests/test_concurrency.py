"""What other connections see while an import runs, and a job killed in the middle of its merge.

These tests commit (transactional_db): the job's progress is committed between chunks, outside the
merge, and a second connection must see it; a real ``manage.py basedata_import`` process is killed
with SIGKILL while it writes to the base, which must then be exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections

from tongban.basedata import divisions as division_table
from tongban.basedata import services
from tongban.basedata.choices import JobStatus
from tongban.basedata.models import Division, ImportJob, Person
from tongban.basedata.tests.conftest import POPULATION_HEADER, csv_bytes, person_row, resident_id, upload
from tongban.identity.models import Department
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def committed() -> dict[str, Any]:
    rows = [r for r in division_table.current_divisions() if r.code.startswith("34")]
    Division.objects.bulk_create(
        [Division(code=r.code, name=r.name, level=r.level, parent_id=r.parent_code) for r in rows]
    )
    city = DepartmentFactory(code="city-gov", level="city", division_code="341500")
    police = DepartmentFactory(code="luan-gaj", level="city", division_code="341500", parent=city)
    return {"police": police, "officer": StaffFactory(department=police, roles=["data_officer"])}


def _other_connection_reads(sql: str, params: list[Any]) -> Any:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
    finally:
        other.close()


def test_progress_is_visible_to_other_connections_while_the_base_is_untouched(
    committed: dict[str, Any],
) -> None:
    police: Department = committed["police"]
    rows = [person_row(seq) for seq in range(1, 36)]
    job = services.import_job_create(
        dataset="population",
        upload=upload(csv_bytes(POPULATION_HEADER, rows)),
        department=police,
        by=committed["officer"],
        enqueue=False,
    )
    seen: list[tuple[int, int, int, str]] = []

    def progress(read: int, total: int | None) -> None:
        table = ImportJob._meta.db_table
        processed = _other_connection_reads(f"SELECT processed_rows FROM {table} WHERE id = %s", [job.pk])  # noqa: S608
        status = _other_connection_reads(f"SELECT status FROM {table} WHERE id = %s", [job.pk])  # noqa: S608
        people = _other_connection_reads(f"SELECT count(*) FROM {Person._meta.db_table}", [])  # noqa: S608
        seen.append((read, processed, people, status))

    finished = services.import_job_run(job_id=job.pk, progress=progress, chunk_rows=10)
    assert finished.status == JobStatus.SUCCEEDED
    assert finished.inserted == 35
    assert seen[:3] == [(10, 10, 0, "running"), (20, 20, 0, "running"), (30, 30, 0, "running")]
    assert seen[-1] == (35, 35, 0, "merging")  # every row read; the merge has not committed yet
    assert _other_connection_reads(f"SELECT count(*) FROM {Person._meta.db_table}", []) == 35  # noqa: S608


def _database_url() -> str:
    data = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{data['NAME']}"
    user = data.get("USER") or "postgres"
    password = f":{data['PASSWORD']}" if data.get("PASSWORD") else ""
    host, port = data.get("HOST") or "127.0.0.1", data.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{data['NAME']}"


def _status(job_id: int) -> str | None:
    return _other_connection_reads(f"SELECT status FROM {ImportJob._meta.db_table} WHERE id = %s", [job_id])  # noqa: S608


def _blocked_backends() -> list[int]:
    """PostgreSQL: the sessions of this database waiting for a lock (the import's merge, here)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return [row[0] for row in cursor.fetchall()]
    finally:
        other.close()


def _wait_until_gone(pids: list[int]) -> None:
    """The killed client's backend finishes its statement, finds no client, rolls back and exits."""
    deadline = time.monotonic() + 30
    while pids and time.monotonic() < deadline:
        left = _other_connection_reads("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
        if not left:
            return
        time.sleep(0.1)


def test_a_job_killed_during_its_merge_leaves_the_base_as_it_was(
    committed: dict[str, Any], tmp_path: Path
) -> None:
    police: Department = committed["police"]
    count = 120_000 if connection.vendor == "postgresql" else 300_000
    # One person already in the base, whose ID sorts last: the merge writes it last.
    last = person_row(999, region="341525", name="王五")
    Person.objects.create(
        resident_id=last[0], name="王五", gender="1", birth_date="1986-03-12", ethnicity="01",
        household_address="原地址", division_code="341525", marital_status="20",
        updated_at="2025-01-01T00:00:00Z", source_department=police,
    )  # fmt: skip
    lines = [",".join(POPULATION_HEADER)]
    for index in range(count):
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=index // 1000)  # a thousand people born each day
        rid = resident_id("341502", birth, index % 1000)
        lines.append(
            f"{rid},张伟,,{birth},汉族,安徽省六安市金安区中市街道皖西大道{index}号,341502001,已婚,正常,"
        )
    lines.append(",".join([*last[:5], "新地址", *last[6:]]))
    source = tmp_path / "people.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = (tmp_path / "stderr.log").open("wb")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "TONGBAN_ENV": "dev",
        "TONGBAN_VAR_DIR": str(tmp_path / "var"),
        "TONGBAN_LOG_LEVEL": "error",
        "DJANGO_SETTINGS_MODULE": "tongban.settings",
    }
    holder = None
    if connection.vendor == "postgresql":
        # Hold the last record's row lock: the merge inserts every other row, then waits on this one.
        holder = connections.create_connection("default")
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {Person._meta.db_table} WHERE resident_id = %s FOR UPDATE",  # noqa: S608
                [last[0]],
            )
    process = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "basedata_import", str(source), "--dataset", "population",
         "--department", "luan-gaj", "--no-progress"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors,
    )  # fmt: skip
    blocked: list[int] = []
    try:
        deadline = time.monotonic() + 120
        job_id = None
        while time.monotonic() < deadline and process.poll() is None:
            job_id = job_id or _other_connection_reads(f"SELECT max(id) FROM {ImportJob._meta.db_table}", [])  # noqa: S608
            if job_id and _status(job_id) == JobStatus.MERGING:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the import ended before its merge could be interrupted: " + (
            tmp_path / "stderr.log"
        ).read_text(errors="replace")
        if holder is not None:
            # The upsert writes the rows before the locked one, then waits on it: poll for the wait
            # (on a loaded machine the rows before it can take more than a second).
            wait_until = time.monotonic() + 20
            while not blocked and time.monotonic() < wait_until and process.poll() is None:
                time.sleep(0.2)
                blocked = _blocked_backends()
            assert blocked, "the merge should be waiting on the locked row"
        else:
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        if holder is not None:
            holder.rollback()
            holder.close()
            _wait_until_gone(blocked)
        errors.close()
    assert _other_connection_reads(f"SELECT count(*) FROM {Person._meta.db_table}", []) == 1  # noqa: S608
    assert Person.objects.get(pk=last[0]).household_address == "原地址"
    assert job_id is not None
    assert _status(job_id) == JobStatus.MERGING  # the job died with its worker: the page will call it stalled
    assert count <= settings.TONGBAN_IMPORT_MAX_ROWS

"""``basedata_import``: a million population rows imported with validation, against a plain bulk load.

For each database: a fresh database (PostgreSQL: ``tongban_bench_import``, so the benchmark can run
beside the others), migrations, the demo city's departments (``identity.demo.seed_demo``) and the
division table (``manage.py basedata_load_divisions``). Then a population CSV of ``BENCH_ROWS``
rows (default 1,000,000; valid, realistic rows of Lu'an's townships, with the Chinese labels a
department system exports: 男, 汉族, 已婚, 正常) is written once and

1. **imported** with the real code path, ``manage.py basedata_import FILE --dataset population
   --department luan-gaj`` in a process of its own: the upload checks, the file stored with its
   SHA-256, every row validated (check digit, birth date and gender against the ID, division code,
   the national code tables), staged, merged in one upsert, counted and audited;
2. **imported again** (the same file: every row "unchanged", the idempotent path);
3. loaded by the **baseline**, the fastest plain load of the same file into a table of the same
   shape (the population table's columns, types, primary key and division index), no checks:
   PostgreSQL ``COPY … FROM STDIN (FORMAT csv, HEADER)`` of the file's bytes; SQLite
   ``executemany`` of the parsed rows in one transaction. PostgreSQL also reports COPY into a table
   with no index, the floor of any load.

The job's own timestamps split the import into its phases (upload checks and storing, reading and
staging, merge). The aim is at least 50,000 rows per second on PostgreSQL. See bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import BenchError, CpuSample, log

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
AIM_ROWS_PER_S = 50_000
DATABASE = "tongban_bench_import"
HEADER = [
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "民族",
    "户籍地址",
    "行政区划代码",
    "婚姻状况",
    "生存状态",
    "来源更新时间",
]
FAMILY = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅鹏飞宇浩然欣怡子涵雨桐思远"
ROADS = ("皖西大道", "梅山南路", "人民路", "解放路", "佛子岭路", "长安路", "紫竹林路", "寿春路")
MARITAL = ("未婚", "已婚", "已婚", "已婚", "初婚", "离婚", "丧偶")

# Runs in ``manage.py shell``: the job's timestamps and counts, read back after each import.
_JOB = """
import json
from tongban.basedata.models import ImportJob
job = ImportJob.objects.order_by("-pk").first()
print(json.dumps({
    "id": job.pk, "status": job.status, "rows": job.total_rows, "inserted": job.inserted,
    "updated": job.updated, "unchanged": job.unchanged, "refused": job.error_count,
    "created_at": job.created_at.isoformat(), "started_at": job.started_at.isoformat(),
    "merge_started_at": job.heartbeat_at.isoformat(), "finished_at": job.finished_at.isoformat(),
}))
"""
_TOWNSHIPS = """
import json
from tongban.basedata.models import Division
townships = Division.objects.filter(code__startswith="3415", level="township")
print(json.dumps(list(townships.values_list("code", "name"))))
"""


def write_population(path: Path, rows: int, townships: list[tuple[str, str]]) -> int:
    """A valid population file: unique resident IDs whose birth date and sex digit match the row."""
    from stdnum.cn import ric

    rng = random.Random(20261203)
    start = dt.date(1930, 1, 1).toordinal()
    seen: set[int] = set()
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(HEADER)
        while written < rows:
            code, township = townships[rng.randrange(len(townships))]
            birth = dt.date.fromordinal(start + rng.randrange(0, 34000))
            sequence = rng.randrange(0, 1000)
            body = f"{code[:6]}{birth:%Y%m%d}{sequence:03d}"
            number = int(body)
            if number in seen:
                continue
            seen.add(number)
            male = sequence % 2 == 1
            address = f"安徽省六安市{township}{ROADS[rng.randrange(len(ROADS))]}{rng.randrange(1, 500)}号"
            out.writerow(
                (
                    body + ric.calc_check_digit(body + "0"),
                    FAMILY[rng.randrange(len(FAMILY))] + GIVEN[rng.randrange(len(GIVEN))],
                    "男" if male else "女",
                    birth.isoformat(),
                    "汉族",
                    address,
                    code,
                    MARITAL[rng.randrange(len(MARITAL))] if birth.year < 2004 else "未婚",
                    "正常",
                    f"2025-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d} 10:00:00",
                )
            )
            written += 1
    return written


def _backend_ticks() -> dict[int, int]:
    """CPU ticks of each live PostgreSQL backend serving the benchmark's database (by command line)."""
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if DATABASE.encode() not in (stat.parent / "cmdline").read_bytes():
                continue
            rest = stat.read_text().rsplit(")", 1)[1].split()
            ticks[int(stat.parent.name)] = int(rest[11]) + int(rest[12])
        except (OSError, ValueError, IndexError):
            continue
    return ticks


def _timed_import(env: dict[str, str], path: Path) -> tuple[float, dict[str, float], str]:
    """Run the command; sample the database backends' CPU every 0.2 s (they live only as long as it)."""
    before = CpuSample.take(None)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(harness.ROOT / "manage.py"), "basedata_import", str(path),
         "--dataset", "population", "--department", "luan-gaj", "--no-progress"],
        cwd=harness.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen: dict[int, int] = {}
    while process.poll() is None:
        seen.update(_backend_ticks())
        if time.monotonic() - started > 1800:
            process.kill()
            raise BenchError("basedata_import took longer than 30 minutes")
        time.sleep(0.2)
    stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    after = CpuSample.take(None)
    if process.returncode != 0:
        raise BenchError(f"basedata_import failed:\n{stderr[-3000:]}")
    capacity = wall * (os.cpu_count() or 1)
    command = after.children - before.children
    database = sum(seen.values()) / os.sysconf("SC_CLK_TCK")
    busy = after.busy - before.busy
    cpu = {
        "import_process_cpu_s": round(command, 2),
        "postgres_cpu_s": round(database, 2),
        "import_process_cpu_pct": round(100 * command / capacity, 1),
        "postgres_cpu_pct": round(100 * database / capacity, 1),
        "other_cpu_pct": round(100 * max(0.0, busy - command - database) / capacity, 1),
    }
    return wall, cpu, stdout.strip()


def _phases(job: dict[str, Any]) -> dict[str, float]:
    moments = {
        k: dt.datetime.fromisoformat(job[k])
        for k in ("created_at", "started_at", "merge_started_at", "finished_at")
    }
    return {
        "upload_checks_and_store_s": round(
            (moments["started_at"] - moments["created_at"]).total_seconds(), 2
        ),
        "read_check_stage_s": round((moments["merge_started_at"] - moments["started_at"]).total_seconds(), 2),
        "merge_s": round((moments["finished_at"] - moments["merge_started_at"]).total_seconds(), 2),
    }


def _postgres_baseline(url: str, path: Path) -> dict[str, Any]:
    import psycopg

    columns = ", ".join(
        (
            *(
                "resident_id",
                "name",
                "gender",
                "birth_date",
                "ethnicity",
                "household_address",
                "division_code",
            ),
            *("marital_status", "life_status", "source_updated_at"),
        )
    )
    results: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for label, ddl in (
            ("copy_same_shape", "CREATE TABLE bench_copy (LIKE basedata_person INCLUDING ALL)"),
            ("copy_no_index", "CREATE TABLE bench_copy (LIKE basedata_person INCLUDING DEFAULTS)"),
        ):
            conn.execute("DROP TABLE IF EXISTS bench_copy")
            conn.execute(ddl)
            conn.execute("ALTER TABLE bench_copy ALTER COLUMN updated_at SET DEFAULT now()")
            conn.execute("CHECKPOINT")
            started = time.monotonic()
            with (
                conn.transaction(),
                conn.cursor().copy(f"COPY bench_copy ({columns}) FROM STDIN (FORMAT csv, HEADER)") as copy,
                path.open("rb") as handle,
            ):
                while chunk := handle.read(1024 * 1024):
                    copy.write(chunk)
            seconds = time.monotonic() - started
            loaded = conn.execute("SELECT count(*) FROM bench_copy").fetchone()[0]  # type: ignore[index]
            results[label] = {
                "seconds": round(seconds, 2),
                "rows": loaded,
                "rows_per_s": round(loaded / seconds),
            }
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'basedata_person' ORDER BY indexname"
        ).fetchall()
    results["indexes"] = [row[0] for row in indexes]
    return results


def _sqlite_baseline(database: Path, path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        schema = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'basedata_person'").fetchone()[0]
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(schema.replace('"basedata_person"', '"bench_copy"', 1))
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'basedata_person' "
            "AND sql IS NOT NULL"
        ).fetchall():
            conn.execute(sql.replace("basedata_person", "bench_copy"))
        started = time.monotonic()
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            now = dt.datetime.now(dt.UTC).isoformat()
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO bench_copy (resident_id, name, gender, birth_date, ethnicity, "
                "household_address, division_code, marital_status, life_status, source_updated_at, "
                "updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((*row, now) for row in reader),
            )
            conn.execute("COMMIT")
        seconds = time.monotonic() - started
        loaded = conn.execute("SELECT count(*) FROM bench_copy").fetchone()[0]
        conn.execute("DROP TABLE bench_copy")
    finally:
        conn.close()
    return {
        "executemany_same_shape": {
            "seconds": round(seconds, 2),
            "rows": loaded,
            "rows_per_s": round(loaded / seconds),
        }
    }


def _measure(label: str, var_dir: Path, url: str, work: Path) -> dict[str, Any]:
    env = harness.server_env(var_dir=var_dir, database_url=url, port=harness.PORTS[0], redis_url=None)
    log(f"{label}: migrate, demo departments, division table")
    harness.manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
    harness.manage(
        env, "shell", "-c", "from tongban.identity.demo import seed_demo; seed_demo()", timeout=600
    )
    harness.manage(env, "basedata_load_divisions", timeout=300)
    townships = json.loads(harness.manage(env, "shell", "-c", _TOWNSHIPS).strip().splitlines()[-1])
    path = work / "population.csv"
    if not path.exists():
        log(f"writing {ROWS:,} population rows to {path}")
        started = time.monotonic()
        write_population(path, ROWS, [tuple(t) for t in townships])
        log(f"  {path.stat().st_size / 1e6:.0f} MB in {time.monotonic() - started:.1f} s")
    runs: dict[str, Any] = {}
    for run in ("first", "again"):
        log(f"{label}: manage.py basedata_import ({run})")
        wall, cpu, output = _timed_import(env, path)
        job = json.loads(harness.manage(env, "shell", "-c", _JOB).strip().splitlines()[-1])
        if job["status"] != "succeeded" or job["rows"] != ROWS or job["refused"]:
            raise BenchError(f"the import did not take every row: {job} {output}")
        expected = (ROWS, 0, 0) if run == "first" else (0, 0, ROWS)
        if (job["inserted"], job["updated"], job["unchanged"]) != expected:
            raise BenchError(f"unexpected counts {job}, expected inserted/updated/unchanged {expected}")
        phases = _phases(job)
        in_job = sum(phases.values())
        runs[run] = {
            "seconds": round(wall, 2),
            "rows_per_s": round(ROWS / wall),
            "job_seconds": round(in_job, 2),
            "job_rows_per_s": round(ROWS / in_job) if in_job else None,
            **phases,
            "job": {k: job[k] for k in ("inserted", "updated", "unchanged", "refused")},
            "cpu": cpu,
        }
        log(f"  {wall:.1f} s, {ROWS / wall:,.0f} rows/s {runs[run]}")
    log(f"{label}: baseline")
    if url.startswith("sqlite"):
        baseline = _sqlite_baseline(Path(url.removeprefix("sqlite:///")), path)
        reference = baseline["executemany_same_shape"]
    else:
        baseline = _postgres_baseline(url, path)
        reference = baseline["copy_same_shape"]
    log(f"  {baseline}")
    return {
        "rows": ROWS,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "import": runs["first"],
        "reimport_same_file": runs["again"],
        "baseline": baseline,
        "ratio": round(runs["first"]["rows_per_s"] / reference["rows_per_s"], 3),
        "aim_rows_per_s": AIM_ROWS_PER_S,
        "aim_met": runs["first"]["rows_per_s"] >= AIM_ROWS_PER_S,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tongban-bench-import-") as scratch:
        work = Path(scratch)
        if args.db in ("postgres", "both"):
            with harness.postgres_database(name=DATABASE) as (var_dir, url):
                results["postgres"] = _measure("postgres", var_dir, url, work)
        if args.db in ("sqlite", "both"):
            with harness.sqlite_database() as (var_dir, url):
                results["sqlite"] = _measure("sqlite", var_dir, url, work)
    first = results.get("postgres") or results["sqlite"]
    reference = first["baseline"].get("copy_same_shape") or first["baseline"]["executemany_same_shape"]
    return {
        "benchmark": "basedata_import",
        "value": first["import"]["rows_per_s"],
        "baseline": reference["rows_per_s"],
        "ratio": first["ratio"],
        "unit": "rows/s",
        "results": results,
        "machine": harness.machine_info(),
    }

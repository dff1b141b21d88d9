# ruff: noqa: E501 - the generator's SQL reads best unwrapped
"""``dashboard``: the main dashboard over 1,000,000 cases and 5,000,000 case events (PostgreSQL).

Steps (bench/README.md): a fresh database ``tongban_bench_dashboard``, the demo city (``seed_demo``),
then ``--cases`` cases (default 1,000,000) for the demo items spread over the last 365 days and five
events each, generated in the database with ``INSERT … SELECT generate_series`` (statuses, late and
window cases in realistic shares); the full rollup build and an incremental refresh after
``--touch`` cases changed, both timed; then gunicorn, and for a year with one department filter
(the department with the most cases) the dashboard API answered from the rollups and the same
figures computed by plain GROUP BY queries over the raw tables (``source=raw``), in the same run.
The two answers must be equal (else the run fails). Latencies are of sequential requests (one
viewer at a time, as a dashboard is used); wrk then loads the rollup path for throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from bench import harness
from bench.harness import BenchError, ServerConfig, log

DATABASE = "tongban_bench_dashboard"
ACCOUNT = "admin"

# One row per case: random draws r1..r6 decide item, applicant, day, channel, outcome and duration.
CASES_SQL = """
SELECT setseed(0.42);
WITH items AS (
    SELECT array_agg(i.id ORDER BY i.id) AS ids, array_agg(i.current_version_id ORDER BY i.id) AS versions,
           array_agg(i.department_id ORDER BY i.id) AS departments, count(*)::int AS n
    FROM catalog_serviceitem i WHERE i.current_version_id IS NOT NULL
), people AS (
    SELECT array_agg(u.id ORDER BY u.id) AS ids, count(*)::int AS n FROM identity_user u WHERE u.kind = 'citizen'
), draws AS (
    SELECT g, 1 + floor(random() * items.n)::int AS i, 1 + floor(random() * people.n)::int AS p,
           date_trunc('day', now() - interval '1 day') - floor(random() * 365) * interval '1 day'
               + interval '1 hour' + random() * interval '9 hours' AS submitted,
           random() AS r_channel, random() AS r_outcome, random() AS r_days, random() AS r_delivery
    FROM generate_series(1, %(cases)s) g, items, people
)
INSERT INTO cases_case (number, item_id, version_id, department_id, applicant_id, channel, status, form_data,
    applicant_name, applicant_id_number, applicant_phone, created_at, updated_at, submitted_at, accepted_at,
    due_at, correction_rounds, decision, decision_opinion, decided_at, not_accepted_reason, delivery_method,
    delivery_note, completed_at, withdrawn_reason)
SELECT 'BENCH' || lpad(g::text, 10, '0'), items.ids[i], items.versions[i], items.departments[i], people.ids[p],
    CASE WHEN r_channel < 0.62 THEN 'online' WHEN r_channel < 0.95 THEN 'window' ELSE 'api' END,
    o.status, '{}'::jsonb, '演示申请人', '341502199001010000', '', submitted, coalesce(o.completed, submitted),
    submitted, o.accepted, o.accepted + interval '8 days',
    CASE WHEN r_channel BETWEEN 0.62 AND 0.67 THEN 1 ELSE 0 END,
    CASE o.status WHEN 'completed' THEN 'approved' WHEN 'refused' THEN 'refused' ELSE '' END, '',
    CASE WHEN o.status IN ('completed', 'refused') THEN o.completed END, '',
    CASE WHEN o.status = 'completed' THEN
        CASE WHEN r_delivery < 0.5 THEN 'online' WHEN r_delivery < 0.75 THEN 'post' ELSE 'pickup' END
    ELSE '' END, '', o.completed, ''
FROM draws, items, people,
LATERAL (SELECT
    CASE WHEN r_outcome < 0.04 THEN 'not_accepted' WHEN r_outcome < 0.07 THEN 'withdrawn'
         WHEN r_outcome < 0.13 THEN 'refused' WHEN r_outcome < 0.98 THEN 'completed' ELSE 'in_review' END AS status,
    CASE WHEN r_outcome >= 0.04 THEN submitted + interval '1 day' END AS accepted,
    CASE WHEN r_outcome < 0.04 THEN submitted + interval '2 hours'
         WHEN r_outcome < 0.98 THEN submitted + interval '1 day' + r_days * interval '10 days' END AS completed
) o
"""
EVENTS_SQL = """
INSERT INTO cases_caseevent (case_id, kind, at, department_id, actor_id, note)
SELECT c.id, k.kind, c.submitted_at + k.after, c.department_id, NULL, ''
FROM cases_case c CROSS JOIN (VALUES ('submitted', interval '0'), ('accepted', interval '1 day'),
    ('stage_started', interval '1 day'), ('opinion', interval '3 days'), ('delivered', interval '5 days')) AS k(kind, after)
WHERE c.number LIKE 'BENCH%%'
"""
TOUCH_SQL = """
UPDATE cases_case SET status = 'completed', decision = 'approved', decided_at = accepted_at + interval '2 days',
    completed_at = accepted_at + interval '2 days', delivery_method = 'online', updated_at = now()
WHERE id IN (SELECT id FROM cases_case WHERE status = 'in_review' AND number LIKE 'BENCH%%' LIMIT %(touch)s)
"""


def _psql(database_url: str, sql: str, params: dict[str, Any] | None = None) -> float:
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for statement in [s for s in sql.split(";\n") if s.strip()]:
            conn.execute(statement % (params or {}))
    return time.monotonic() - started


def _scalar(database_url: str, sql: str) -> Any:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None


def _login(base: str, password: str) -> str:
    reply = harness.request(
        "POST", f"{base}/api/v1/auth/login", body={"identifier": ACCOUNT, "password": password}
    )
    session = reply.cookie("sessionid")
    if reply.status != 200 or not session:
        raise BenchError(f"login as {ACCOUNT} failed: {reply.status} {reply.body[:300]!r}")
    return f"sessionid={session}"


def _timed(url: str, cookie: str, n: int) -> tuple[list[float], Any]:
    times: list[float] = []
    body: Any = None
    for _ in range(n):
        started = time.monotonic()
        reply = harness.request("GET", url, headers={"Cookie": cookie}, timeout=120)
        times.append((time.monotonic() - started) * 1000)
        if reply.status != 200:
            raise BenchError(f"{url} answered {reply.status}: {reply.body[:300]!r}")
        body = reply.json() if reply.body[:1] == b"{" else None
    return times, body


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))], 1)


def parser_extra(args: argparse.Namespace) -> tuple[int, int, int, int]:
    """Sizes (environment, since run.py's options are shared): BENCH_DASHBOARD_CASES (1,000,000),
    _TOUCH (1000 cases changed before the incremental refresh), _ROUNDS (40), _RAW_ROUNDS (10)."""
    return (
        int(os.environ.get("BENCH_DASHBOARD_CASES", "1000000")),
        int(os.environ.get("BENCH_DASHBOARD_TOUCH", "1000")),
        int(os.environ.get("BENCH_DASHBOARD_ROUNDS", "40")),
        int(os.environ.get("BENCH_DASHBOARD_RAW_ROUNDS", "10")),
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.db == "sqlite":
        raise BenchError("the dashboard benchmark runs on PostgreSQL (--db postgres)")
    cases, touch, rounds, raw_rounds = parser_extra(args)
    machine = harness.machine_info()
    with harness.postgres_database(name=DATABASE) as (var_dir, database_url):
        port = harness.free_port(args.port)
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=None)
        log("migrating and seeding the demo city")
        harness.manage(env, "migrate", "--noinput", "-v", "0")
        accounts = json.loads(harness.manage(env, "seed_demo", "--json", "--people", "500", timeout=900))
        password = next(a["password"] for a in accounts if a["username"] == ACCOUNT)
        log(f"generating {cases:,} cases and {5 * cases:,} events")
        cases_s = _psql(database_url, CASES_SQL, {"cases": cases})
        events_s = _psql(database_url, EVENTS_SQL)
        _psql(database_url, "ANALYZE")
        totals = {
            "cases": _scalar(database_url, "SELECT count(*) FROM cases_case"),
            "events": _scalar(database_url, "SELECT count(*) FROM cases_caseevent"),
        }
        log(f"generated in {cases_s:.0f} s + {events_s:.0f} s: {totals}")
        log("full rollup build")
        started = time.monotonic()
        full = json.loads(
            harness.manage(env, "dashboards_refresh", "--full", timeout=1800).strip().splitlines()[-1]
        )
        full_s = time.monotonic() - started
        _psql(database_url, TOUCH_SQL, {"touch": touch})
        log(f"incremental refresh after {touch} cases changed")
        incremental = json.loads(
            harness.manage(env, "dashboards_refresh", timeout=600).strip().splitlines()[-1]
        )
        quiet = json.loads(harness.manage(env, "dashboards_refresh", timeout=600).strip().splitlines()[-1])
        _psql(database_url, "ANALYZE")
        department = _scalar(
            database_url,
            "SELECT department_id FROM cases_case WHERE number LIKE 'BENCH%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        )
        today = _scalar(database_url, "SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")
        query = {
            "department": department,
            "start": (today - timedelta(days=364)).isoformat(),
            "end": today.isoformat(),
        }
        config = ServerConfig(
            workers=args.workers, worker_class=args.worker_class, threads=args.server_threads
        )
        with harness.gunicorn(env, port=port, config=config) as server:
            cookie = _login(server.base, password)
            rollup_url = f"{server.base}/api/v1/staff/dashboard?{urlencode(query)}"
            raw_url = f"{rollup_url}&source=raw"
            page_url = f"{server.base}/staff/dashboards/?{urlencode(query)}"
            _timed(rollup_url, cookie, 3)  # warm-up: workers import, connections open
            log(f"{rounds} sequential requests from the rollups, {raw_rounds} from the raw tables")
            rollup_ms, rollup_body = _timed(rollup_url, cookie, rounds)
            raw_ms, raw_body = _timed(raw_url, cookie, raw_rounds)
            page_ms, _ = _timed(page_url, cookie, max(5, rounds // 4))
            for key in ("kpis", "days", "months", "departments", "items"):
                if rollup_body[key] != raw_body[key]:
                    raise BenchError(f"the rollups and the raw tables disagree on {key}")
            load = harness.wrk(
                rollup_url,
                duration=args.duration,
                connections=min(args.connections, 8),
                threads=min(args.threads, 2),
                headers={"Cookie": cookie},
                server_pgid=server.pgid,
            )
    p95, raw_p95 = _p(rollup_ms, 0.95), _p(raw_ms, 0.95)
    return {
        "benchmark": "dashboard",
        "figure": "rollup_p95_ms",
        "value": p95,
        "baseline": raw_p95,
        "ratio": round(raw_p95 / p95, 1),
        "ratio_meaning": "raw GROUP BY p95 / rollup p95 (how many times faster)",
        "rollup_p50_ms": _p(rollup_ms, 0.5),
        "rollup_p95_ms": p95,
        "raw_p50_ms": _p(raw_ms, 0.5),
        "raw_p95_ms": raw_p95,
        "raw_mean_ms": round(statistics.mean(raw_ms), 1),
        "page_p50_ms": _p(page_ms, 0.5),
        "page_p95_ms": _p(page_ms, 0.95),
        "wrk_rps": round(load.rps, 1),
        "wrk_p50_ms": round(load.p50_ms, 1),
        "wrk_p99_ms": round(load.p99_ms, 1),
        "wrk_connections": min(args.connections, 8),
        "wrk_cpu": load.cpu,
        "rounds": {"rollup": rounds, "raw": raw_rounds},
        "data": {**totals, "generate_cases_s": round(cases_s, 1), "generate_events_s": round(events_s, 1)},
        "refresh": {
            "full_build_s": round(full_s, 1),
            "full_build_ms_in_process": full["duration_ms"],
            "full_groups": full["case_groups"],
            "incremental_after_changes": touch,
            "incremental_ms": incremental["duration_ms"],
            "incremental_groups": incremental["case_groups"],
            "quiet_refresh_ms": quiet["duration_ms"],
        },
        "filter": query,
        "kpis": {
            k: rollup_body["kpis"][k] for k in ("submitted", "online_rate", "on_time_rate", "one_visit_rate")
        },
        "server": config.describe(),
        "machine": machine,
        "source": "bench/dashboard.py",
    }

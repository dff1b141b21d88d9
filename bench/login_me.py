"""``login_me``: authenticated ``GET /api/v1/me`` against the bare ``GET /api/v1/ping`` on one server.

For each database (and, with ``--redis``, each database with Redis-cached sessions): a fresh
database, migrations, the demo data (``seed_demo``), a gunicorn server on 127.0.0.1, one login as
the demo administrator (a staff account, so /me reads the session, the user, the department and the
roles), then wrk on /ping (the baseline: no database) and on /me with the session cookie.

Besides the figures it records what one /me costs inside Django, measured in-process with the test
client: the SQL it runs and the CPU time per request of /me and /ping without any server (CPU
time rather than wall time, so other work on the machine disturbs it less; best of three rounds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import BenchError, ServerConfig, log

ACCOUNT = "admin"  # the demo city administrator (seed_demo)

# Runs inside ``manage.py shell``: the queries of one /me and the in-process time of /me and /ping.
_INPROCESS = """
import json, time
from django.db import connection
from django.test import Client
anonymous, client = Client(), Client()
reply = client.post("/api/v1/auth/login", {"identifier": %(user)r, "password": %(password)r},
                    content_type="application/json")
assert reply.status_code == 200, reply.content
queries = []
def record(execute, sql, params, many, context):
    queries.append(sql)
    return execute(sql, params, many, context)
with connection.execute_wrapper(record):
    assert client.get("/api/v1/me").status_code == 200
timings = {}
for name, who, path in (("ping", anonymous, "/api/v1/ping"), ("me", client, "/api/v1/me")):
    for _ in range(50):
        assert who.get(path).status_code == 200
    rounds = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(%(n)d):
            who.get(path)
        rounds.append((time.process_time() - started) / %(n)d * 1000)
    timings[name] = round(min(rounds), 3)
print(json.dumps({"queries": queries, "ping_ms": timings["ping"], "me_ms": timings["me"]}))
"""


def _login(base: str, password: str) -> str:
    reply = harness.request(
        "POST", f"{base}/api/v1/auth/login", body={"identifier": ACCOUNT, "password": password}
    )
    if reply.status != 200:
        raise BenchError(f"login as {ACCOUNT} failed: {reply.status} {reply.body[:300]!r}")
    session = reply.cookie("sessionid")
    if not session:
        raise BenchError("login answered 200 but set no session cookie")
    return session


def _check(base: str, cookie: str) -> None:
    """Before loading: /ping answers, /me answers 200 for the logged-in staff member, 401 without."""
    ping = harness.request("GET", f"{base}/api/v1/ping")
    if ping.status != 200 or ping.json() != {"status": "ok"}:
        raise BenchError(f"/api/v1/ping answered {ping.status} {ping.body[:200]!r}")
    me = harness.request("GET", f"{base}/api/v1/me", headers={"Cookie": cookie})
    if me.status != 200 or me.json().get("kind") != "staff" or not me.json().get("roles"):
        raise BenchError(f"/api/v1/me answered {me.status} {me.body[:300]!r}")
    anonymous = harness.request("GET", f"{base}/api/v1/me")
    if anonymous.status != 401:
        raise BenchError(f"/api/v1/me without a session answered {anonymous.status}, expected 401")


def server_config(args: argparse.Namespace) -> ServerConfig:
    # gthread: cap each worker at its share of wrk's keep-alive connections (see ServerConfig).
    return ServerConfig(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.server_threads,
        worker_connections=-(-args.connections // args.workers),
    )


def measure(args: argparse.Namespace, *, db: str, redis_url: str | None) -> dict[str, Any]:
    database = harness.postgres_database() if db == "postgres" else harness.sqlite_database()
    config = server_config(args)
    with database as (var_dir, database_url):
        port = harness.free_port(args.port)
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=redis_url)
        if redis_url:
            harness.flush_redis(redis_url)
        log(f"{db}{' + redis' if redis_url else ''}: migrating a fresh database")
        harness.manage(env, "migrate", "--noinput", "-v", "0")
        accounts = json.loads(harness.manage(env, "seed_demo", "--json"))
        password = next(a["password"] for a in accounts if a["username"] == ACCOUNT)
        inprocess = json.loads(
            harness.manage(env, "shell", "-c", _INPROCESS % {"user": ACCOUNT, "password": password, "n": 300})
            .strip()
            .splitlines()[-1]
        )
        log(f"starting gunicorn on 127.0.0.1:{port} ({config.describe()})")
        with harness.gunicorn(env, port=port, config=config) as server:
            base = server.base
            cookie = f"sessionid={_login(base, password)}"
            _check(base, cookie)
            load: dict[str, Any] = {
                "connections": args.connections,
                "threads": args.threads,
                "server_pgid": server.pgid,
            }
            if args.warmup > 0:
                harness.wrk(f"{base}/api/v1/ping", duration=args.warmup, **load)
                harness.wrk(f"{base}/api/v1/me", duration=args.warmup, headers={"Cookie": cookie}, **load)
            log(f"wrk /api/v1/ping for {args.duration:.0f} s")
            ping = harness.wrk(f"{base}/api/v1/ping", duration=args.duration, **load)
            log(f"wrk /api/v1/me for {args.duration:.0f} s")
            me = harness.wrk(f"{base}/api/v1/me", duration=args.duration, headers={"Cookie": cookie}, **load)
            # The session must still be valid after the run (a 401 would have failed wrk above).
            _check(base, cookie)
    return {
        "me_rps": round(me.rps, 1),
        "me_p50_ms": round(me.p50_ms, 2),
        "me_p99_ms": round(me.p99_ms, 2),
        "ping_rps": round(ping.rps, 1),
        "ping_p50_ms": round(ping.p50_ms, 2),
        "ping_p99_ms": round(ping.p99_ms, 2),
        "ratio": round(me.rps / ping.rps, 3),
        "me_requests": me.requests,
        "ping_requests": ping.requests,
        "me_sql_queries": len(inprocess["queries"]),
        "me_sql": [q[:160] for q in inprocess["queries"]],
        "inprocess_me_cpu_ms": inprocess["me_ms"],
        "inprocess_ping_cpu_ms": inprocess["ping_ms"],
        "me_cpu": me.cpu,
        "ping_cpu": ping.cpu,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    variants: list[tuple[str, str, str | None]] = [(db, db, None) for db in databases]
    if args.redis:
        variants += [(f"{db}+redis", db, args.redis_url) for db in databases]
    machine = harness.machine_info()
    results: dict[str, dict[str, Any]] = {}
    for name, db, redis_url in variants:
        results[name] = measure(args, db=db, redis_url=redis_url)
        log(f"{name}: {json.dumps({k: v for k, v in results[name].items() if k != 'me_sql'})}")
    first = results[variants[0][0]]
    return {
        "benchmark": "login_me",
        "figure": "me_rps",
        "value": first["me_rps"],
        "baseline": first["ping_rps"],
        "ratio": first["ratio"],
        "headline": variants[0][0],
        "results": results,
        "server": server_config(args).describe(),
        "load": {
            "tool": "wrk",
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
        },
        "machine": machine,
        "account": f"{ACCOUNT} (staff: session + user + department + roles)",
        "source": str(Path(__file__).name),
    }

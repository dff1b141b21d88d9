"""``exchange_durability``: the server is killed with SIGKILL in the middle of a load; afterwards every
call that got a 2xx answer must have its call record.

Same set-up as ``exchange_verify`` (PostgreSQL, its own database ``tongban_bench_durability``, a
smaller population by default: ``EXCHANGE_BENCH_PEOPLE``, 100,000). Client threads (``--connections``,
each with its own keep-alive connection) send verify calls and keep the ``call_id`` of every 2xx
answer. After ``--duration`` / 2 seconds the whole gunicorn process group (master and workers) is
killed with SIGKILL, the clients keep trying for a second (connection refused), then a new server
is started and the load goes on for the rest of the duration, so the run also shows the service
coming back. Then the database is asked for each answered ``call_id``.

Figures: calls answered (2xx), their records found, records missing (must be 0), and the calls the
server recorded whose answer never reached the client (allowed: the record is written first).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import threading
import time
from typing import Any

from bench import harness
from bench.exchange_verify import _SETUP, SETTINGS, VERIFY_PATH, _bodies, _load_people, _token, server_config
from bench.harness import BenchError, log

DATABASE = "tongban_bench_durability"

_FIND = """
import json, sys, uuid
from tongban.exchange.models import CallRecord
ids = [uuid.UUID(line) for line in open(%(path)r).read().split()]
found = set()
for start in range(0, len(ids), 5000):
    found.update(str(i) for i in CallRecord.objects.filter(call_id__in=ids[start:start + 5000])
                 .values_list("call_id", flat=True))
print(json.dumps({"asked": len(ids), "found": len(found), "total": CallRecord.objects.count(),
                  "ok_total": CallRecord.objects.filter(http_status=200).count()}))
"""


class Load:
    """Client threads sending verify calls until told to stop; answered call ids are kept."""

    def __init__(self, port: int, token: str, bodies: list[str], connections: int) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.bodies = [b.encode() for b in bodies]
        self.connections = connections
        self.answered: list[str] = []
        self.errors = 0
        self.non_2xx = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(connections)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def _run(self, index: int) -> None:
        conn: http.client.HTTPConnection | None = None
        n = index
        while not self.stop.is_set():
            n += self.connections
            body = self.bodies[n % len(self.bodies)]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("POST", VERIFY_PATH, body, self.headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
                continue
            if 200 <= response.status < 300:
                call_id = json.loads(payload)["call_id"]
                with self.lock:
                    self.answered.append(call_id)
            else:
                with self.lock:
                    self.non_2xx += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.db not in ("postgres", "both"):
        raise BenchError("exchange_durability measures PostgreSQL (--db postgres)")
    people = int(os.environ.get("EXCHANGE_BENCH_PEOPLE", "100000"))
    config = server_config(args)
    machine = harness.machine_info()
    with harness.postgres_database(name=DATABASE) as (var_dir, database_url):
        port = harness.free_port(args.port)
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=None)
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        log("migrating a fresh database")
        harness.manage(env, "migrate", "--run-syncdb", "--noinput", "-v", "0")
        harness.manage(env, "seed_demo", "--json")
        setup = json.loads(harness.manage(env, "shell", "-c", _SETUP).strip().splitlines()[-1])
        sample = _load_people(database_url, people)
        verify_bodies, _lookup = _bodies(setup["resource"], sample)
        half = max(1.0, args.duration / 2)
        killed_at = restarted_at = 0.0
        with harness.gunicorn(env, port=port, config=config) as server:
            token = _token(server.base, setup["client_id"], setup["client_secret"])
            load = Load(port, token, verify_bodies, args.connections)
            started = time.monotonic()
            load.start()
            time.sleep(half)
            answered_before_kill = len(load.answered)
            log(f"SIGKILL to the server's process group after {half:.0f} s ({answered_before_kill} answered)")
            os.killpg(server.pgid, signal.SIGKILL)
            killed_at = time.monotonic() - started
        time.sleep(1)
        log("starting the server again")
        with harness.gunicorn(env, port=port, config=config):
            restarted_at = time.monotonic() - started
            time.sleep(half)
            load.join()
        answered = list(load.answered)
        path = var_dir / "answered.txt"
        path.write_text("\n".join(answered))
        found = json.loads(
            harness.manage(env, "shell", "-c", _FIND % {"path": str(path)}).strip().splitlines()[-1]
        )
    missing = found["asked"] - found["found"]
    result = {
        "answered_2xx": len(answered),
        "records_found": found["found"],
        "records_missing": missing,
        "answered_before_kill": answered_before_kill,
        "records_without_answer": found["ok_total"] - found["found"],
        "client_errors": load.errors,
        "non_2xx": load.non_2xx,
        "killed_at_s": round(killed_at, 1),
        "restarted_at_s": round(restarted_at, 1),
        "people": people,
    }
    if missing:
        raise BenchError(f"{missing} answered calls have no call record: {result}")
    return {
        "benchmark": "exchange_durability",
        "figure": "records_missing",
        "value": missing,
        "baseline": len(answered),
        "ratio": round(found["found"] / len(answered), 6) if answered else 0.0,
        "aim": "every call answered 2xx has its record (records_missing = 0)",
        "results": {"postgres": result},
        "server": config.describe(),
        "load": {
            "tool": "Python threads (http.client)",
            "connections": args.connections,
            "duration_s": args.duration,
        },
        "machine": machine,
        "source": os.path.basename(__file__),
    }

"""``supervision_sweep``: one supervision sweep over a million open cases, against a plain scan of them.

PostgreSQL only (the aim is stated for it: under 30 s for 1,000,000 open cases on the 2-core
machine). A fresh database (``tongban_bench_supervision``, so the benchmark can run beside the
others), migrations, then the fewest rows the foreign keys need (a department with one approver, a
city supervisor, one applicant, one published item whose version is fully online) and
``BENCH_CASES`` open cases (default 1,000,000) made in the database by ``INSERT … SELECT
generate_series``, with one active stage for each accepted case:

- 88 % accepted (``in_review``) with deadlines spread from 30 days ago to 60 days ahead, so that
  about a third are at risk or overdue (a very bad day: each has a case and a stage alert);
  7 % submitted, waiting for acceptance, over the last 12 days; 5 % suspended (clock stopped);
  2 % filed at the window although the item is fully online (a fact finding); 500 fees outside
  the catalogue.

Then, in one process, timed with ``time.perf_counter``:

1. the **baseline**: a plain full scan of the same open cases, ``SELECT count(*), max(due_at) FROM
   cases_case WHERE status IN (open statuses)`` (best of 3, after one warm-up);
2. the **first sweep** (``supervision.services.supervision_sweep``): every alert is new (opened,
   history rows written, digests sent);
3. the **steady sweep** five minutes later (the scheduled case: the same findings, a few levels
   changed), and a sweep a week later (many levels raised, alerts of decided cases closed);
4. the board's first page read at request time (``supervised_cases`` for the city supervisor).

``value`` is the steady sweep's seconds, ``baseline`` the scan's, ``ratio`` their quotient. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from bench import harness
from bench.harness import BenchError, log

CASES = int(os.environ.get("BENCH_CASES", "1000000"))
AIM_S = 30.0
DATABASE = "tongban_bench_supervision"

_SETUP = r"""
import json
from django.utils import timezone
from tongban.cases.tests.factories import published_item
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory
from tongban.supervision.models import SupervisionPolicy

city = DepartmentFactory(name="六安市人民政府", code="bench-city", level="city", division_code="341500")
dept = DepartmentFactory(
    name="六安市市场监督管理局", code="bench-scjg", level="city", division_code="341500", parent=city
)
StaffFactory(department=dept, roles=["approver"], username="bench-approver")
StaffFactory(department=city, roles=["supervisor"], username="bench-supervisor")
citizen = CitizenFactory(username="bench-citizen")
item = published_item(dept, online_depth=4)
SupervisionPolicy.objects.get_or_create(pk=1)
ids = {"item": item.pk, "version": item.current_version_id, "department": dept.pk, "applicant": citizen.pk}
print(json.dumps(ids))
"""

# %(...)s are filled in Python with the ids above; generate_series makes the rows in the database.
_GENERATE = """
INSERT INTO cases_case (
    number, item_id, version_id, department_id, applicant_id, channel, status, form_data,
    applicant_name, applicant_id_number, applicant_phone, created_at, updated_at, submitted_at,
    accepted_at, due_at, correction_rounds, decision, decision_opinion, not_accepted_reason,
    delivery_method, delivery_note, withdrawn_reason
)
SELECT
    'BENCH' || lpad(g::text, 10, '0'), %(item)s, %(version)s, %(department)s, %(applicant)s,
    CASE WHEN g %% 50 = 0 THEN 'window' ELSE 'online' END,
    CASE WHEN g %% 100 < 88 THEN 'in_review' WHEN g %% 100 < 95 THEN 'submitted' ELSE 'suspended' END,
    '{}'::jsonb, '张三', '341502199001011234', '', now(), now(),
    now() - ((g %% 12) || ' days')::interval - ((g %% 1440) || ' minutes')::interval,
    CASE WHEN g %% 100 < 88 OR g %% 100 >= 95 THEN now() - interval '20 days' END,
    CASE WHEN g %% 100 < 88 OR g %% 100 >= 95
         THEN date_trunc('day', now()) + (((g::bigint * 7919) %% 91) - 30 || ' days')::interval
              + interval '15 hours 59 minutes'
    END,
    0, '', '', '', '', '', ''
FROM generate_series(1, %(cases)s) AS g
"""
_STAGES = """
INSERT INTO cases_casestage (case_id, index, name, days, status, started_at, due_at)
SELECT id, 0, '审查决定', 5, 'active', accepted_at, due_at FROM cases_case WHERE accepted_at IS NOT NULL
"""
_FEES = """
INSERT INTO cases_casefee (case_id, amount, basis, in_catalogue, recorded_by_id, recorded_at)
SELECT c.id, 99.00, '加急费', false, u.id, now()
FROM cases_case c, identity_user u WHERE u.username = 'bench-approver' AND c.status = 'in_review'
ORDER BY c.id LIMIT 500
"""

_MEASURE = r"""
import json, time
from datetime import timedelta
from django.db import connection
from django.utils import timezone
from tongban.cases.choices import OPEN_STATUSES
from tongban.identity.models import User
from tongban.supervision import selectors, services
from tongban.supervision.models import Alert, AlertChange

from django.urls import reverse
from tongban.supervision.levels import cutoffs

open_statuses = [str(s) for s in OPEN_STATUSES]
# A running worker has its URLconf and the calendar loaded: warm them up outside the timings.
reverse("supervision:cases")
cutoffs(timezone.now())
def scan():
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("SELECT count(*), max(due_at) FROM cases_case WHERE status = ANY(%s)", [open_statuses])
        n = cursor.fetchone()[0]
        return time.perf_counter() - started, n
scan()
baseline = min(scan()[0] for _ in range(3))
open_cases = scan()[1]
now = timezone.now()
sweeps = {}
moments = (("first", now), ("steady", now + timedelta(minutes=5)), ("week_later", now + timedelta(days=7)))
for name, moment in moments:
    started = time.perf_counter()
    sweep = services.supervision_sweep(origin="manual", now=moment)
    seconds = time.perf_counter() - started
    sweeps[name] = {"seconds": round(seconds, 3), "opened": sweep.opened, "changed": sweep.changed,
                    "closed": sweep.closed, "notified": sweep.notified}
    print(name, sweeps[name], flush=True)
supervisor = User.objects.get(username="bench-supervisor")
started = time.perf_counter()
page = list(selectors.supervised_cases(supervisor)[:51])
board_s = time.perf_counter() - started
print(json.dumps({
    "open_cases": open_cases, "baseline_scan_s": round(baseline, 3), "sweeps": sweeps,
    "open_alerts": Alert.objects.filter(closed_at__isnull=True).count(),
    "alert_changes": AlertChange.objects.count(),
    "board_first_page_s": round(board_s, 3), "board_first_page_rows": len(page),
}))
"""


def _sql(env: dict[str, str], statement: str, timeout: float = 1200) -> None:
    code = (
        "from django.db import connection\n"
        f"sql = {statement!r}\n"
        "with connection.cursor() as c:\n"
        "    c.execute(sql)\n"
    )
    harness.manage(env, "shell", "-c", code, timeout=timeout)


def _measure(var_dir: Any, url: str) -> dict[str, Any]:
    env = harness.server_env(var_dir=var_dir, database_url=url, port=harness.PORTS[0], redis_url=None)
    log("migrating a fresh database")
    harness.manage(env, "migrate", "--no-input", timeout=600)
    ids = json.loads(harness.manage(env, "shell", "-c", _SETUP).strip().splitlines()[-1])
    log(f"generating {CASES:,} open cases")
    started = os.times().elapsed
    _sql(env, _GENERATE % {**ids, "cases": CASES})
    _sql(env, _STAGES)
    _sql(env, _FEES)
    _sql(env, "ANALYZE")
    generated_s = os.times().elapsed - started
    log(f"generated in {generated_s:.1f} s; measuring")
    before = harness.CpuSample.take(None)
    output = harness.manage(env, "shell", "-c", _MEASURE, timeout=1800)
    shares = harness.cpu_shares(before, harness.CpuSample.take(None))
    for line in output.strip().splitlines()[:-1]:
        log(line)
    figures = json.loads(output.strip().splitlines()[-1])
    steady = figures["sweeps"]["steady"]["seconds"]
    return {
        **figures,
        "generate_s": round(generated_s, 1),
        "ratio": round(steady / figures["baseline_scan_s"], 1) if figures["baseline_scan_s"] else None,
        "aim_s": AIM_S,
        "within_aim": all(s["seconds"] < AIM_S for s in figures["sweeps"].values()),
        "cpu": shares,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.db == "sqlite":
        raise BenchError("supervision_sweep measures PostgreSQL (--db postgres or both)")
    with harness.postgres_database(name=DATABASE) as (var_dir, url):
        result = _measure(var_dir, url)
    return {
        "benchmark": "supervision_sweep",
        "value": result["sweeps"]["steady"]["seconds"],
        "baseline": result["baseline_scan_s"],
        "ratio": result["ratio"],
        "unit": "s",
        "cases": CASES,
        "results": {"postgres": result},
        "machine": harness.machine_info(),
    }

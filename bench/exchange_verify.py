"""``exchange_verify``: identity verifications (核验) per second through the exchange, with their call
records written, against a bare lookup of the same row on the same server.

PostgreSQL only (the issue's figure), in its own database ``tongban_bench_exchange``: migrations, the
demo accounts (``seed_demo``), then ``--people`` people (1,000,000 by default) written straight into
the population base with ``COPY`` (valid resident IDs of Lu'an's counties; loading them is not what
is measured). A resource over the population base, a department system registered through the
identity services (client credentials) and an active grant of ``name`` and ``birth_date`` for its
department are made as the platform would make them. gunicorn (2 workers) serves
``bench.baseline.settings``; the system gets its token from ``POST /o/token/``.

wrk (32 connections) runs ``bench/post_rotating.lua`` over 20,000 request bodies, each a different
person: ``POST /api/v1/exchange/verify`` with the bearer token, a purpose, a case number and the
fields to verify (one in ten deliberately wrong, so both answers are exercised). The baseline is
``POST /bench/lookup`` with the same key in a JSON body: the same primary-key SELECT with no token,
grant, key check or record. Afterwards the call records are counted: there must be one for every
answered call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import BenchError, ServerConfig, log

SETTINGS = "bench.baseline.settings"
SCRIPT = Path(__file__).with_name("post_rotating.lua")
DATABASE = "tongban_bench_exchange"
VERIFY_PATH = "/api/v1/exchange/verify"
BASELINE_PATH = "/bench/lookup"
BODIES = 20_000
COUNTIES = ("341502", "341503", "341504", "341522", "341523", "341524", "341525")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅建国志文斌辉鹏宇浩然欣怡子涵雨轩梓萱一诺佳琪思远晨阳"  # noqa: E501

# Runs inside ``manage.py shell``: the resource, its source, a department system and its grant.
_SETUP = """
import datetime as dt, json
from django.utils import timezone
from tongban.exchange.models import AccessGrant, ResourceSource
from tongban.identity.models import Department
from tongban.identity.services import clients
from tongban.resources.models import DataItem, DataResource
gaj = Department.objects.get(code="luan-gaj")
rsj = Department.objects.get(code="luan-rsj")
resource = DataResource.objects.create(
    code="101001999/000001", category="1", item_code="01", heading_code="001", subheading_code="999",
    name="人口基础信息（压测）", provider=gaj, provider_code=gaj.credit_code or "",
    summary="压测用人口基础信息", format="database", sharing_type="conditional",
    sharing_conditions="政务服务办理", sharing_modes=["interface"], open_type="not_open",
    update_cycle="real_time", status="published", published_on=timezone.localdate(),
)
for i, (key, name, kind, is_key) in enumerate([
    ("resident_id", "公民身份号码", "string", True), ("name", "姓名", "string", False),
    ("gender", "性别", "code", False), ("birth_date", "出生日期", "date", False),
]):
    DataItem.objects.create(
        resource=resource, key=key, name=name, data_type=kind, is_key=is_key, sort_order=i
    )
ResourceSource.objects.create(resource=resource, kind="basedata", dataset="population")
today = timezone.localdate()
AccessGrant.objects.create(
    consumer=rsj, resource=resource, items=["name", "birth_date"], purpose="压测：办理社保业务核验身份",
    valid_from=today, valid_until=today + dt.timedelta(days=30), rate_per_minute=100_000_000, status="active",
)
system = clients.client_register(
    name="人社业务系统（压测）", grant_type="client-credentials", department=rsj, by=None
)
print(json.dumps({"resource": resource.code, "client_id": system.application.client_id,
                  "client_secret": system.client_secret}))
"""

_COUNT = """
import json
from tongban.exchange.models import CallRecord
print(json.dumps({"records": CallRecord.objects.count(),
                  "ok": CallRecord.objects.filter(http_status=200).count()}))
"""


def _people(
    count: int, seed: int = 2026, taken: set[str] | None = None
) -> tuple[io.StringIO, list[dict[str, str]]]:
    """``count`` distinct people as COPY text (none of them in ``taken``: the demo's own people), and
    a sample of them for the request bodies."""
    from stdnum.cn import ric

    rng = random.Random(seed)
    epoch = dt.date(1940, 1, 1).toordinal()
    span = dt.date(2020, 12, 31).toordinal() - epoch
    seen: set[str] = set()
    taken = taken or set()
    out = io.StringIO()
    sample: list[dict[str, str]] = []
    now = dt.datetime.now(tz=dt.UTC).isoformat()
    every = max(1, count // BODIES)
    while len(seen) < count:
        county = rng.choice(COUNTIES)
        birth = dt.date.fromordinal(epoch + rng.randrange(span))
        seq = rng.randrange(1000)
        body = f"{county}{birth:%Y%m%d}{seq:03d}"
        key = body + ric.calc_check_digit(body + "0")
        if key in seen or key in taken:
            continue
        seen.add(key)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        gender = "1" if seq % 2 else "2"
        out.write(
            f"{key}\t{name}\t{gender}\t{birth.isoformat()}\t01\t安徽省六安市测试路{seq}号\t{county}\t20\talive\t\\N\t\\N\t{now}\n"
        )
        if len(seen) % every == 0 and len(sample) < BODIES:
            sample.append({"key": key, "name": name, "birth_date": birth.isoformat()})
    out.seek(0)
    return out, sample


def _load_people(database_url: str, count: int) -> list[dict[str, str]]:
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url) as conn:
        taken = {row[0] for row in conn.execute("SELECT resident_id FROM basedata_person")}
    data, sample = _people(count, taken=taken)
    log(f"generated {count:,} people in {time.monotonic() - started:.1f} s; COPY into basedata_person")
    columns = (
        "resident_id, name, gender, birth_date, ethnicity, household_address, division_code, "
        "marital_status, life_status, source_department_id, source_updated_at, updated_at"
    )
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY basedata_person ({columns}) FROM STDIN") as copy,
    ):
        while chunk := data.read(1 << 20):
            copy.write(chunk)
    # VACUUM now, so autovacuum does not do it (taking a core) while the load is measured.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) basedata_person")
    elapsed = time.monotonic() - started
    log(f"{count:,} people added to the base (besides the demo's {len(taken):,}) in {elapsed:.1f} s")
    return sample


def _lua_string(text: str) -> str:
    data = text.encode()
    plain = set(range(32, 127)) - {ord('"'), ord("\\")}
    return '"' + "".join(chr(b) if b in plain else f"\\{b:03d}" for b in data) + '"'


def _data_file(directory: Path, name: str, path: str, headers: dict[str, str], bodies: list[str]) -> Path:
    target = directory / f"{name}.lua"
    header_lua = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    with target.open("w", encoding="ascii") as out:
        out.write(f"return {{\n  path = {_lua_string(path)},\n  headers = {{{header_lua}}},\n  bodies = {{\n")
        for body in bodies:
            out.write(f"    {_lua_string(body)},\n")
        out.write("  },\n}\n")
    return target


def _load(url: str, data: Path, *, duration: float, load: dict[str, Any]) -> harness.WrkResult:
    os.environ["POST_ROTATING_DATA"] = str(data)
    try:
        return harness.wrk(url, duration=duration, script=SCRIPT, **load)
    finally:
        os.environ.pop("POST_ROTATING_DATA", None)


def _token(base: str, client_id: str, secret: str) -> str:
    import base64
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    try:
        conn.request(
            "POST",
            "/o/token/",
            "grant_type=client_credentials&scope=exchange",
            {"Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    if response.status != 200 or "access_token" not in body:
        raise BenchError(f"the token endpoint answered {response.status}: {body}")
    return str(body["access_token"])


def _bodies(resource: str, sample: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    verify, lookup = [], []
    for i, person in enumerate(sample):
        name = person["name"] if i % 10 else person["name"] + "某"  # one in ten does not match
        verify.append(
            json.dumps(
                {
                    "resource": resource,
                    "key": person["key"],
                    "fields": {"name": name, "birth_date": person["birth_date"]},
                    "purpose": "办理社保卡申领核验申请人身份",
                    "case_number": f"BENCH{i:06d}",
                    "on_behalf_of": "clerk.bench",
                },
                ensure_ascii=False,
            )
        )
        lookup.append(json.dumps({"key": person["key"]}))
    return verify, lookup


def server_config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.server_threads,
        worker_connections=-(-args.connections // args.workers),
    )


def _count(env: dict[str, str]) -> dict[str, int]:
    return json.loads(harness.manage(env, "shell", "-c", _COUNT).strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.db not in ("postgres", "both"):
        raise BenchError("exchange_verify measures PostgreSQL (--db postgres)")
    people = int(os.environ.get("EXCHANGE_BENCH_PEOPLE", "1000000"))
    config = server_config(args)
    machine = harness.machine_info()
    with (
        harness.postgres_database(name=DATABASE) as (var_dir, database_url),
        tempfile.TemporaryDirectory(prefix="exchange-verify-") as scratch,
    ):
        port = harness.free_port(args.port)
        redis_url = args.redis_url if args.redis else None
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=redis_url)
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        if redis_url:
            harness.flush_redis(redis_url)
        log("migrating a fresh database")
        harness.manage(env, "migrate", "--run-syncdb", "--noinput", "-v", "0")
        harness.manage(env, "seed_demo", "--json")
        setup = json.loads(harness.manage(env, "shell", "-c", _SETUP).strip().splitlines()[-1])
        sample = _load_people(database_url, people)
        verify_bodies, lookup_bodies = _bodies(setup["resource"], sample)
        log(f"starting gunicorn on 127.0.0.1:{port} ({config.describe()})")
        with harness.gunicorn(env, port=port, config=config) as server:
            base = server.base
            token = _token(base, setup["client_id"], setup["client_secret"])
            auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            check = harness.request(
                "POST", f"{base}{VERIFY_PATH}", body=json.loads(verify_bodies[1]), headers=auth
            )
            if check.status != 200 or check.json().get("match") is not True:
                raise BenchError(f"{VERIFY_PATH} answered {check.status} {check.body[:300]!r}")
            wrong = harness.request(
                "POST", f"{base}{VERIFY_PATH}", body=json.loads(verify_bodies[0]), headers=auth
            )
            if wrong.status != 200 or wrong.json().get("match") is not False:
                raise BenchError(f"{VERIFY_PATH} (wrong name) answered {wrong.status} {wrong.body[:300]!r}")
            bare = harness.request("POST", f"{base}{BASELINE_PATH}", body=json.loads(lookup_bodies[1]))
            if bare.status != 200:
                raise BenchError(f"{BASELINE_PATH} answered {bare.status} {bare.body[:200]!r}")
            directory = Path(scratch)
            verify_data = _data_file(directory, "verify", VERIFY_PATH, auth, verify_bodies)
            lookup_data = _data_file(
                directory, "lookup", BASELINE_PATH, {"Content-Type": "application/json"}, lookup_bodies
            )
            load: dict[str, Any] = {
                "connections": args.connections,
                "threads": args.threads,
                "server_pgid": server.pgid,
            }
            if args.warmup > 0:
                _load(f"{base}{BASELINE_PATH}", lookup_data, duration=args.warmup, load=load)
                _load(f"{base}{VERIFY_PATH}", verify_data, duration=args.warmup, load=load)
            before = _count(env)
            log(f"wrk {VERIFY_PATH} for {args.duration:.0f} s")
            verify = _load(f"{base}{VERIFY_PATH}", verify_data, duration=args.duration, load=load)
            time.sleep(1)  # the last requests in flight when wrk stopped
            after = _count(env)
            log(f"wrk {BASELINE_PATH} for {args.duration:.0f} s")
            baseline = _load(f"{base}{BASELINE_PATH}", lookup_data, duration=args.duration, load=load)
    recorded = after["ok"] - before["ok"]
    if recorded < verify.requests:
        raise BenchError(f"{verify.requests} verifications answered but only {recorded} call records written")
    result = {
        "verify_rps": round(verify.rps, 1),
        "verify_p50_ms": round(verify.p50_ms, 2),
        "verify_p99_ms": round(verify.p99_ms, 2),
        "baseline_rps": round(baseline.rps, 1),
        "baseline_p50_ms": round(baseline.p50_ms, 2),
        "baseline_p99_ms": round(baseline.p99_ms, 2),
        "ratio": round(verify.rps / baseline.rps, 3),
        "verify_requests": verify.requests,
        "call_records_written": recorded,
        "people": people,
        "verify_cpu": verify.cpu,
        "baseline_cpu": baseline.cpu,
    }
    return {
        "benchmark": "exchange_verify",
        "figure": "verify_rps",
        "value": result["verify_rps"],
        "baseline": result["baseline_rps"],
        "ratio": result["ratio"],
        "aim": "ratio >= 0.5 and p99 < 50 ms",
        "results": {"postgres" + ("+redis" if args.redis else ""): result},
        "server": config.describe(),
        "load": {
            "tool": "wrk",
            "script": SCRIPT.name,
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "bodies": len(verify_bodies),
        },
        "machine": machine,
        "source": Path(__file__).name,
    }

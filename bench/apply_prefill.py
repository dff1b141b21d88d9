"""``apply_prefill``: the latency an application's pre-fill (免提交) adds, against the same application
with its five materials uploaded.

For each database: a fresh database (PostgreSQL: ``tongban_bench_prefill``), migrations, the demo
data (``seed_demo``: the licence types with their issuing departments' signing keys, the population
base and its catalogued resource), then, made here:

- a second published resource over the population base (户籍信息) and, for 市民政局, an active grant
  on each of the two (rate limit set out of the way: the check runs, it never refuses);
- two identical published items of 市民政局 made through the catalogue services (the 5-field form of
  ``case_submit``, one review stage, 5 required materials). Item A's materials come from elsewhere:
  居民身份证, 居民户口簿 and 结婚证 are e-licences, 人口基础信息 and 户籍信息 shared data. Item B's five
  materials are ordinary applicant uploads;
- ``PREFILL_BENCH_CITIZENS`` citizens (3,000 by default), each with a row in the population base and
  the three licences (prepared and signed in bulk, as an import of existing licences is), and a
  portal session (the rows ``django.contrib.auth.login`` writes; one citizen also logs in through
  ``POST /api/v1/auth/login`` and a sample of the sessions is checked on ``GET /api/v1/me``).

gunicorn (``--workers``, sync by default) serves Tongban's own settings. Before the load one
application of each kind is filed and checked in the database: A's case has 3 materials of origin
``e_licence`` and 2 of ``shared_data`` with 2 answered exchange call records and 3 licence
authorisations; B's has 5 uploaded files; the same key again answers 200 with the same case.

Three measurements of (a) ``POST /api/v1/cases`` for item A with ``prefill_consent=true`` and no
file, and (b) the same for item B with five small PDFs (2.8-4.6 KB), each request as a different citizen
with an Idempotency-Key of its own (every request files a case; any non-2xx fails the run):

1. ``loaded``: wrk, ``--connections`` (32) in flight, B then A (``bench/apply_prefill.lua``);
2. ``unqueued``: wrk with one connection per worker (no queue: each request's own latency while the
   workers are busy);
3. ``sequential``: one request at a time from this process, A and B alternating (so both see the
   same machine), ``PREFILL_BENCH_SEQUENTIAL`` (300) of each after 20 unmeasured: the cleanest
   figure of what pre-fill adds to one application.

Besides: the SQL and the CPU time of one application of each kind in-process (test client).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import harness
from bench.case_submit import ANSWERS, BOUNDARY, FORM, _lua_string, _pdf, multipart, server_config
from bench.harness import BenchError, log

DATABASE = "tongban_bench_prefill"
SCRIPT = Path(__file__).with_name("apply_prefill.lua")
APPLY_PATH = "/api/v1/cases"
CITIZENS = int(os.environ.get("PREFILL_BENCH_CITIZENS", "3000"))
SEQUENTIAL = int(os.environ.get("PREFILL_BENCH_SEQUENTIAL", "300"))
SEQUENTIAL_WARMUP = 20
MAX_CASES_PER_DAY = 9999  # a case number's serial per item and day

DEPARTMENT = "luan-mzj"
# The demo's licence types (tongban.licences.demo) and resources (tongban.resources.demo).
ID_CARD = "11100000110068567G001"
HOUSEHOLD = "11100000110068567G002"
MARRIAGE = "11100000267796220H001"
HOUSEHOLD_RESOURCE = "101001998/000001"
MATERIALS_A: tuple[tuple[str, str, str], ...] = (
    ("居民身份证", "e_licence", ID_CARD),
    ("居民户口簿", "e_licence", HOUSEHOLD),
    ("结婚证", "e_licence", MARRIAGE),
    ("人口基础信息", "shared_data", "POPULATION"),
    ("户籍信息", "shared_data", HOUSEHOLD_RESOURCE),
)
POPULATION_ITEMS = ["name", "gender", "birth_date", "ethnicity", "household_address"]
HOUSEHOLD_ITEMS = ["household_address", "division_code", "marital_status"]
COUNTIES = ("341502", "341503", "341504", "341522", "341523", "341524", "341525")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅建国志文斌辉鹏宇浩然欣怡子涵雨轩"
BACKEND = "tongban.identity.backends.IdentifierBackend"


# --- inside ``manage.py shell`` (Django set up): the data, the in-process figures, the checks -----


def _emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False))


def _new_people(count: int, taken: set[str], seed: int = 2026) -> list[dict[str, Any]]:
    from stdnum.cn import ric

    rng = random.Random(seed)
    epoch, span = dt.date(1950, 1, 1).toordinal(), 365 * 48
    people: dict[str, dict[str, Any]] = {}
    while len(people) < count:
        county = rng.choice(COUNTIES)
        birth = dt.date.fromordinal(epoch + rng.randrange(span))
        seq = rng.randrange(1000)
        body = f"{county}{birth:%Y%m%d}{seq:03d}"
        rid = body + ric.calc_check_digit(body + "0")
        if rid in taken or rid in people:
            continue
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        people[rid] = {
            "rid": rid,
            "name": name,
            "gender": "1" if seq % 2 else "2",
            "birth": birth,
            "county": county,
            "address": f"安徽省六安市测试路{seq}号",
            "phone": f"139{rng.randrange(10**8):08d}",
        }
    return list(people.values())


def _item(admin: Any, department: Any, code: str, name: str, materials: list[dict[str, Any]]) -> Any:
    from tongban.catalog import services

    item = services.item_create(
        by=admin,
        department=department,
        basic_code=code,
        item_digits=code,
        name=name,
        item_type="public_service",
        level="city",
        statutory_days=10,
        promised_days=5,
        service_object="person",
        channels=["online", "window"],
    )
    draft = item.versions.get()
    for i, fields in enumerate(materials):
        services.material_add(version=draft, by=admin, sort_order=i, required=True, **fields)
    services.form_schema_set(version=draft, schema=FORM, by=admin)
    services.process_set(
        version=draft, stages=[{"name": "审查决定", "days": 5, "departments": [DEPARTMENT]}], by=admin
    )
    services.item_version_publish(version=draft, by=admin)
    item.refresh_from_db()
    return item


def setup_inside(count: int, password: str) -> None:
    """The bench's items, grants, citizens (with licences, base rows and sessions); prints JSON."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from tongban.basedata.models import Person
    from tongban.exchange.choices import GrantStatus
    from tongban.exchange.models import OPEN_GRANT_STATUSES, AccessGrant, ResourceSource
    from tongban.identity.choices import AccountKind, RealNameLevel
    from tongban.identity.models import Department, User
    from tongban.licences import services as licence_services
    from tongban.licences.models import LicenceType
    from tongban.resources.demo import POPULATION_CODE
    from tongban.resources.models import DataItem, DataResource

    started = time.monotonic()
    admin = User.objects.get(username="admin")
    department = Department.objects.get(code=DEPARTMENT)
    gaj = Department.objects.get(code="luan-gaj")
    population = DataResource.objects.get(code=POPULATION_CODE, status="published")
    household = DataResource.objects.create(
        code=HOUSEHOLD_RESOURCE,
        category="1",
        item_code="01",
        heading_code="001",
        subheading_code="998",
        name="居民户籍信息（压测）",
        provider=gaj,
        provider_code=gaj.credit_code or "",
        summary="压测用居民户籍信息",
        format="database",
        sharing_type="conditional",
        sharing_conditions="政务服务办理",
        sharing_modes=["interface"],
        open_type="not_open",
        update_cycle="real_time",
        status="published",
        published_on=timezone.localdate(),
    )
    for i, (key, label, kind, is_key) in enumerate(
        [
            ("resident_id", "公民身份号码", "string", True),
            ("household_address", "户籍地址", "string", False),
            ("division_code", "行政区划代码", "code", False),
            ("marital_status", "婚姻状况", "code", False),
        ]
    ):
        DataItem.objects.create(
            resource=household,
            key=key,
            name=label,
            data_type=kind,
            is_key=is_key,
            sort_order=i,
            sensitive=is_key or key == "household_address",
        )
    ResourceSource.objects.create(resource=household, kind="basedata", dataset="population")
    today = timezone.localdate()
    for res, items in ((population, POPULATION_ITEMS), (household, HOUSEHOLD_ITEMS)):
        # The department's one open grant for the resource (the demo's may be pending), made active
        # with the items the materials need and a rate limit out of the way: checked, never refusing.
        grant = AccessGrant.objects.filter(
            consumer=department, resource=res, status__in=OPEN_GRANT_STATUSES
        ).first() or AccessGrant(consumer=department, resource=res)
        grant.items = items
        grant.purpose = "压测：办理婚姻登记类事项免提交材料"
        grant.valid_from = today - dt.timedelta(days=1)
        grant.valid_until = today + dt.timedelta(days=30)
        grant.rate_per_minute = 100_000_000
        grant.status = GrantStatus.ACTIVE
        grant.save()

    codes = {"POPULATION": population.code}
    a = _item(
        admin,
        department,
        "0020990002000",
        "压测事项（免提交：三证照两共享）",
        [{"name": n, "source": s, "source_code": codes.get(c, c)} for n, s, c in MATERIALS_A],
    )
    b = _item(
        admin,
        department,
        "0020990003000",
        "压测事项（五份上传材料）",
        [{"name": f"{n}复印件", "source": "applicant"} for n, _, _ in MATERIALS_A],
    )

    taken = {str(r) for r in User.objects.exclude(resident_id=None).values_list("resident_id", flat=True)}
    taken |= set(Person.objects.values_list("resident_id", flat=True))
    people = _new_people(count, taken)
    now = timezone.now()
    Person.objects.bulk_create(
        [
            Person(
                resident_id=p["rid"],
                name=p["name"],
                gender=p["gender"],
                birth_date=p["birth"],
                ethnicity="01",
                household_address=p["address"],
                division_code=p["county"],
                marital_status="20",
                life_status="alive",
                updated_at=now,
            )
            for p in people
        ],
        batch_size=1000,
    )
    digest = make_password(password)  # one hash for all: Argon2 costs ~0.1-0.4 s a password
    User.objects.bulk_create(
        [
            User(
                username=f"c{p['rid']}",
                kind=AccountKind.CITIZEN,
                resident_id=p["rid"],
                name=p["name"],
                phone=p["phone"],
                real_name_level=RealNameLevel.L1,
                password=digest,
            )
            for p in people
        ],
        batch_size=1000,
    )
    users = {u.resident_id: u for u in User.objects.filter(resident_id__in=[p["rid"] for p in people])}
    data_of = {
        ID_CARD: lambda p: {
            "name": p["name"],
            "gender": "男" if p["gender"] == "1" else "女",
            "ethnicity": "汉",
            "birth_date": p["birth"].isoformat(),
            "address": p["address"],
            "id_number": p["rid"],
            "authority": "六安市公安局",
        },
        HOUSEHOLD: lambda p: {
            "name": p["name"],
            "relation": "户主",
            "gender": "男" if p["gender"] == "1" else "女",
            "birth_date": p["birth"].isoformat(),
            "id_number": p["rid"],
            "address": p["address"],
        },
        MARRIAGE: lambda p: {
            "name": p["name"],
            "id_number": p["rid"],
            "registered_on": "2015-05-20",
            "registry": "六安市民政局婚姻登记处",
        },
    }
    issued = 0
    for code, data in data_of.items():
        type_ = LicenceType.objects.select_related("issuing_department").get(code=code)
        rows = [
            licence_services.prepare(type_=type_, holder_id=p["rid"], holder_name=p["name"], data=data(p))
            for p in people
        ]
        issued += licence_services.issue_prepared_batch(rows, type_=type_, batch=None, origin="imported")

    # The sessions ``django.contrib.auth.login`` would write (no password check: see the docstring).
    store = SessionStore()
    expires = now + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    sessions, citizens = [], []
    for p in people:
        user = users[p["rid"]]
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        payload = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: BACKEND,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(Session(session_key=key, session_data=store.encode(payload), expire_date=expires))
        csrf = get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS)
        citizens.append({"rid": p["rid"], "cookie": f"sessionid={key}; csrftoken={csrf}", "csrf": csrf})
    Session.objects.bulk_create(sessions, batch_size=1000)
    _emit(
        {
            "item_a": a.pk,
            "item_b": b.pk,
            "materials_b": [m.pk for m in b.current_version.materials.order_by("sort_order")],
            "licences_issued": issued,
            "citizens": citizens,
            "setup_s": round(time.monotonic() - started, 1),
        }
    )


def files_b(material_ids: list[int]) -> dict[str, tuple[str, bytes, str]]:
    """Item B's five uploads: real PDFs of 2.8-4.6 KB (reportlab), one per material."""
    titles = (
        "Resident ID copy",
        "Household register copy",
        "Marriage certificate copy",
        "Population record",
        "Household record",
    )
    return {
        f"material_{pk}": (f"material-{i + 1}.pdf", _pdf(title, 18 + 5 * i), "application/pdf")
        for i, (pk, title) in enumerate(zip(material_ids, titles, strict=True))
    }


def inprocess_inside(
    item_a: int, item_b: int, materials_b: list[int], rid: str, password: str, n: int
) -> None:
    """The SQL of one application of each kind and its CPU time in-process (test client, best of 3
    rounds of ``n``); prints JSON. On PostgreSQL the exchange gateway runs its statements on a
    psycopg cursor of its own, which Django's wrapper does not see: they are counted apart."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test import Client

    from tongban.exchange import gateway

    client = Client()
    reply = client.post(
        "/api/v1/auth/login", {"identifier": rid, "password": password}, content_type="application/json"
    )
    assert reply.status_code == 200, reply.content
    form = json.dumps(ANSWERS)
    uploads = files_b(materials_b)
    counter = [0]

    def apply(kind: str) -> None:
        counter[0] += 1
        body: dict[str, Any] = {"form": form}
        if kind == "a":
            body.update(item=str(item_a), prefill_consent="true")
        else:
            body["item"] = str(item_b)
            for name, (filename, content, ctype) in uploads.items():
                body[name] = SimpleUploadedFile(filename, content, content_type=ctype)
        answer = client.post(APPLY_PATH, body, headers={"Idempotency-Key": f"inprocess-{counter[0]}"})
        assert answer.status_code == 201, answer.content

    result: dict[str, Any] = {}
    for kind in ("a", "b"):
        apply(kind)
        queries: list[str] = []

        def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            queries.append(sql)  # noqa: B023 - used at once, inside this iteration
            return execute(sql, params, many, context)

        own: list[str] = []
        fetch = gateway._fetch

        def counted(sql: str, params: Any, **kwargs: Any) -> Any:
            own.append(sql)  # noqa: B023 - used at once, inside this iteration
            return fetch(sql, params, **kwargs)  # noqa: B023 - likewise

        gateway._fetch = counted
        try:
            with connection.execute_wrapper(record):
                apply(kind)
        finally:
            gateway._fetch = fetch
        result[f"{kind}_queries"] = queries
        result[f"{kind}_gateway_queries"] = own if connection.vendor == "postgresql" else []
    for kind in ("b", "a"):
        for _ in range(10):
            apply(kind)
        rounds = []
        for _ in range(3):
            started = time.process_time()
            for _ in range(n):
                apply(kind)
            rounds.append((time.process_time() - started) / n * 1000)
        result[f"{kind}_cpu_ms"] = round(min(rounds), 3)
    _emit(result)


def check_inside(case_a: int, case_b: int) -> None:
    """What one application of each kind wrote; prints JSON."""
    from django.db.models import Count

    from tongban.cases.models import Case
    from tongban.exchange.models import CallRecord
    from tongban.licences.models import LicenceAuthorisation, LicenceUse

    out: dict[str, Any] = {}
    for name, pk in (("a", case_a), ("b", case_b)):
        case = Case.objects.get(pk=pk)
        rows = list(case.materials.all())
        out[name] = {
            "status": case.status,
            "origins": dict(case.materials.values_list("origin").annotate(n=Count("pk")).order_by()),
            "files": sum(1 for r in rows if r.file),
            "call_ids": [str(r.provenance["call_id"]) for r in rows if "call_id" in r.provenance],
            "authorisations": LicenceAuthorisation.objects.filter(
                case_id=pk, case_number=case.number
            ).count(),
            "uses": LicenceUse.objects.filter(case_number=case.number).count(),
        }
        out[name]["calls_answered"] = CallRecord.objects.filter(
            call_id__in=out[name]["call_ids"], http_status=200
        ).count()
    _emit(out)


def count_inside(item_a: int, item_b: int, prefix: str, since: str) -> None:
    """After the load: the cases its requests filed, and whether every A case got its 5 fetched
    materials; prints JSON."""
    from django.db.models import Count, Q

    from tongban.cases.choices import PREFILLED_ORIGINS
    from tongban.cases.models import Case
    from tongban.exchange.models import CallRecord
    from tongban.exchange.services import PREFILL_CLIENT

    cases = Case.objects.filter(idempotency_key__startswith=prefix)
    calls = CallRecord.objects.filter(
        client_id=PREFILL_CLIENT, requested_at__gte=dt.datetime.fromisoformat(since)
    )
    a = cases.filter(item_id=item_a).annotate(
        fetched=Count("materials", filter=Q(materials__origin__in=PREFILLED_ORIGINS))
    )
    _emit(
        {
            "cases_a": a.count(),
            "cases_a_not_fully_fetched": a.exclude(fetched=5).count(),
            "cases_b": cases.filter(item_id=item_b).count(),
            "most_cases_one_item": max(
                Case.objects.filter(item_id=item_a).count(), Case.objects.filter(item_id=item_b).count()
            ),
            "prefill_calls_answered": calls.filter(http_status=200).count(),
            "prefill_calls_refused": calls.exclude(http_status=200).count(),
        }
    )


# --- outside: the server, the load, the figures ----------------------------------------------


def _shell(env: dict[str, str], code: str, *, timeout: float = 900) -> Any:
    output = harness.manage(env, "shell", "-c", code, timeout=timeout)
    return json.loads(output.strip().splitlines()[-1])


def _post(base: str, body: bytes, user: dict[str, str], key: str) -> tuple[harness.Reply, float]:
    """One application; the reply and its wall time in ms (connect to last byte)."""
    harness.require_local(base)
    parts = urlsplit(base)
    headers = {
        "Cookie": user["cookie"],
        "X-CSRFToken": user["csrf"],
        "Idempotency-Key": key,
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
    try:
        conn.request("POST", APPLY_PATH, body, headers)
        response = conn.getresponse()
        reply = harness.Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()
    return reply, (time.perf_counter() - started) * 1000


def _login(base: str, rid: str, password: str) -> dict[str, str]:
    reply = harness.request(
        "POST", f"{base}/api/v1/auth/login", body={"identifier": rid, "password": password}
    )
    session, csrf = reply.cookie("sessionid"), reply.cookie("csrftoken")
    if reply.status != 200 or not session or not csrf:
        raise BenchError(f"login as citizen {rid[:6]}… failed: {reply.status} {reply.body[:200]!r}")
    return {"rid": rid, "cookie": f"sessionid={session}; csrftoken={csrf}", "csrf": csrf}


def _check_sessions(base: str, users: list[dict[str, str]]) -> None:
    for user in users:
        reply = harness.request("GET", f"{base}/api/v1/me", headers={"Cookie": user["cookie"]})
        masked = str(reply.json().get("resident_id_masked") or "") if reply.status == 200 else ""
        if reply.status != 200 or masked[:4] != user["rid"][:4] or masked[-4:] != user["rid"][-4:]:
            raise BenchError(
                f"GET /api/v1/me with a bench session answered {reply.status} {reply.body[:200]!r}"
            )


def _check(
    env: dict[str, str], base: str, bodies: dict[str, bytes], users: list[dict[str, str]]
) -> dict[str, Any]:
    """One application of each kind, its repeat, and what it wrote in the database."""
    ids = {}
    for kind, user in (("a", users[0]), ("b", users[1])):
        first, _ = _post(base, bodies[kind], user, f"check-{kind}")
        if first.status != 201 or first.json().get("status") != "submitted":
            raise BenchError(f"({kind}) {APPLY_PATH} answered {first.status} {first.body[:300]!r}")
        again, _ = _post(base, bodies[kind], user, f"check-{kind}")
        if again.status != 200 or again.json().get("id") != first.json().get("id"):
            raise BenchError(f"({kind}) the same key again answered {again.status} {again.body[:200]!r}")
        ids[kind] = first.json()["id"]
    found = _shell(env, f"from bench.apply_prefill import check_inside; check_inside({ids['a']}, {ids['b']})")
    a, b = found["a"], found["b"]
    if (
        a["origins"] != {"e_licence": 3, "shared_data": 2}
        or a["calls_answered"] != 2
        or a["authorisations"] != 3
    ):
        raise BenchError(f"(a) did not pre-fill its five materials: {a}")
    if b["origins"] != {"applicant": 5} or b["files"] != 5:
        raise BenchError(f"(b) did not store its five uploads: {b}")
    return found


def _data_file(
    directory: Path, name: str, *, body: bytes, users: list[dict[str, str]], threads: int, nonce: str
) -> Path:
    users_lua = ",\n".join(
        f"{{cookie = {_lua_string(u['cookie'].encode())}, csrf = {_lua_string(u['csrf'].encode())}}}"
        for u in users
    )
    target = directory / f"{name}.lua"
    target.write_text(
        "return {\n"
        f"  path = {_lua_string(APPLY_PATH.encode())},\n"
        f"  boundary = {_lua_string(BOUNDARY.encode())},\n"
        f"  nonce = {_lua_string(nonce.encode())},\n"
        f"  threads = {threads},\n"
        f"  body = {_lua_string(body)},\n"
        f"  users = {{\n{users_lua}\n}},\n"
        "}\n",
        encoding="ascii",
    )
    return target


def _settle(pgid: int, *, idle_s: float = 1.0, timeout: float = 60) -> None:
    """Wait until the server has worked off what wrk left in flight (sync workers finish requests
    whose client has gone): until its processes use under 5 % of a core for ``idle_s``, so one
    measurement's backlog does not delay the next one's first requests."""
    deadline = time.monotonic() + timeout
    previous, _ = harness._cpu_s(pgid)
    while time.monotonic() < deadline:
        time.sleep(idle_s)
        current, _ = harness._cpu_s(pgid)
        if current - previous < 0.05 * idle_s:
            return
        previous = current
    raise BenchError(f"the server was still busy {timeout:.0f} s after the load stopped")


def _wrk(
    base: str, data: Path, *, duration: float, connections: int, threads: int, pgid: int
) -> harness.WrkResult:
    os.environ["APPLY_PREFILL_DATA"] = str(data)
    try:
        result = harness.wrk(
            f"{base}{APPLY_PATH}",
            duration=duration,
            connections=connections,
            threads=threads,
            server_pgid=pgid,
            script=SCRIPT,
        )
        _settle(pgid)
        log(
            f"  {data.stem}: {result.requests} requests, {result.rps:.1f}/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms, other_cpu {result.cpu.get('other_cpu_pct')} %"
        )
        return result
    finally:
        os.environ.pop("APPLY_PREFILL_DATA", None)


def _per_request_ms(cpu: dict[str, float], seconds: float, requests: int) -> dict[str, float]:
    capacity_ms = seconds * (os.cpu_count() or 1) * 1000
    return {
        "server_cpu_ms_per_request": round(cpu["server_cpu_pct"] / 100 * capacity_ms / requests, 2),
        "postgres_cpu_ms_per_request": round(cpu["postgres_cpu_pct"] / 100 * capacity_ms / requests, 2),
    }


def _wrk_figures(result: harness.WrkResult) -> dict[str, Any]:
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p95_ms": round(result.p95_ms, 2) if result.p95_ms is not None else None,
        "p99_ms": round(result.p99_ms, 2),
        "requests": result.requests,
        "cpu": result.cpu,
        **_per_request_ms(result.cpu, result.duration_s, result.requests),
    }


def _pair(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {
        "a_prefill": a,
        "b_uploads": b,
        "added_p50_ms": round(a["p50_ms"] - b["p50_ms"], 2),
        "added_p95_ms": round(a["p95_ms"] - b["p95_ms"], 2),
        "added_p99_ms": round(a["p99_ms"] - b["p99_ms"], 2),
        "p95_ratio": round(a["p95_ms"] / b["p95_ms"], 3),
        "rps_ratio": round(a["rps"] / b["rps"], 3),
    }


def _percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    return sorted_ms[max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)]


def _sequential(
    base: str, bodies: dict[str, bytes], users: list[dict[str, str]], *, count: int, pgid: int, nonce: str
) -> dict[str, Any]:
    """One request at a time, A and B alternating, each as the next citizen with a new key."""
    times: dict[str, list[float]] = {"a": [], "b": []}
    turn = 0

    def one(kind: str) -> float:
        nonlocal turn
        turn += 1
        reply, ms = _post(base, bodies[kind], users[turn % len(users)], f"{nonce}-{kind}-{turn}")
        if reply.status != 201:
            raise BenchError(f"sequential ({kind}) answered {reply.status} {reply.body[:300]!r}")
        return ms

    for _ in range(SEQUENTIAL_WARMUP):
        one("a")
        one("b")
    before = harness.CpuSample.take(pgid)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    for _ in range(count):
        for kind in ("a", "b"):
            times[kind].append(one(kind))
    wall = time.monotonic() - started
    after = harness.CpuSample.take(pgid)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = harness.cpu_shares(before, after)
    client_s = (self_after.ru_utime - self_before.ru_utime) + (self_after.ru_stime - self_before.ru_stime)
    client_pct = round(100 * client_s / (wall * (os.cpu_count() or 1)), 1)
    cpu["client_cpu_pct"] = client_pct  # this process: cpu_shares counts it in other_cpu_pct
    cpu["other_cpu_pct"] = round(max(0.0, cpu["other_cpu_pct"] - client_pct), 1)
    figures = {}
    for kind, values in times.items():
        values.sort()
        figures[kind] = {
            "requests": len(values),
            "p50_ms": round(_percentile(values, 50), 2),
            "p95_ms": round(_percentile(values, 95), 2),
            "p99_ms": round(_percentile(values, 99), 2),
            "mean_ms": round(sum(values) / len(values), 2),
            "rps": round(len(values) / sum(values) * 1000, 1),  # back to back, one at a time
        }
    pair = _pair(figures["a"], figures["b"])
    pair["cpu"] = cpu
    pair["seconds"] = round(wall, 1)
    return pair


def measure(args: argparse.Namespace, *, db: str, redis_url: str | None) -> dict[str, Any]:
    database = harness.postgres_database(name=DATABASE) if db == "postgres" else harness.sqlite_database()
    config = server_config(args)
    with database as (var_dir, database_url), tempfile.TemporaryDirectory(prefix="apply-prefill-") as scratch:
        port = harness.free_port(args.port)
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=redis_url)
        if redis_url:
            harness.flush_redis(redis_url)
        log(f"{db}{' + redis' if redis_url else ''}: migrating a fresh database, loading the demo")
        harness.manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
        accounts = json.loads(harness.manage(env, "seed_demo", "--json", timeout=900))
        password = next(a["password"] for a in accounts if a["kind"] == "citizen")
        log(f"{CITIZENS:,} citizens with three licences each, base rows and sessions; the two items")
        setup = _shell(
            env, f"from bench.apply_prefill import setup_inside; setup_inside({CITIZENS}, {password!r})"
        )
        users: list[dict[str, str]] = setup["citizens"]
        log(f"set up in {setup['setup_s']} s ({setup['licences_issued']:,} licences)")
        form = json.dumps(ANSWERS)
        bodies = {
            "a": multipart({"item": str(setup["item_a"]), "form": form, "prefill_consent": "true"}, {}),
            "b": multipart({"item": str(setup["item_b"]), "form": form}, files_b(setup["materials_b"])),
        }
        log("in-process: SQL and CPU of one application of each kind")
        inprocess = _shell(
            env,
            "from bench.apply_prefill import inprocess_inside; inprocess_inside("
            f"{setup['item_a']}, {setup['item_b']}, {setup['materials_b']!r}, {users[-1]['rid']!r}, "
            f"{password!r}, 30)",
        )
        log(f"starting gunicorn on 127.0.0.1:{port} ({config.describe()})")
        with harness.gunicorn(env, port=port, config=config) as server:
            base, pgid = server.base, server.pgid
            users[0] = _login(base, users[0]["rid"], password)  # one real login, as case_submit's
            _check_sessions(base, users[:1] + users[1 :: max(1, len(users) // 5)])
            checked = _check(env, base, bodies, users)
            nonce = f"load-{time.time_ns()}"
            since = dt.datetime.now(tz=dt.UTC).isoformat()
            scratch_dir = Path(scratch)
            loaded: dict[str, dict[str, Any]] = {}
            unqueued: dict[str, dict[str, Any]] = {}
            unqueued_connections = args.workers
            unqueued_threads = min(args.threads, unqueued_connections)

            def files(kind: str, threads: int, tag: str) -> Path:
                return _data_file(
                    scratch_dir,
                    f"{kind}-{tag}",
                    body=bodies[kind],
                    users=users,
                    threads=threads,
                    nonce=f"{nonce}-{tag}-{kind}",
                )

            if args.warmup > 0:
                for kind in ("b", "a"):
                    _wrk(
                        base,
                        files(kind, args.threads, "warm"),
                        duration=args.warmup,
                        connections=args.connections,
                        threads=args.threads,
                        pgid=pgid,
                    )
            for kind in ("b", "a"):
                log(f"wrk ({kind}) {args.connections} connections, {args.duration:.0f} s")
                loaded[kind] = _wrk_figures(
                    _wrk(
                        base,
                        files(kind, args.threads, "loaded"),
                        duration=args.duration,
                        connections=args.connections,
                        threads=args.threads,
                        pgid=pgid,
                    )
                )
            for kind in ("b", "a"):
                log(
                    f"wrk ({kind}) {unqueued_connections} connections (one per worker), {args.duration:.0f} s"
                )
                unqueued[kind] = _wrk_figures(
                    _wrk(
                        base,
                        files(kind, unqueued_threads, "unqueued"),
                        duration=args.duration,
                        connections=unqueued_connections,
                        threads=unqueued_threads,
                        pgid=pgid,
                    )
                )
            log(f"sequential: {SEQUENTIAL} of each, alternating")
            sequential = _sequential(base, bodies, users, count=SEQUENTIAL, pgid=pgid, nonce=f"{nonce}-seq")
        counted = _shell(
            env,
            f"from bench.apply_prefill import count_inside; count_inside({setup['item_a']}, "
            f"{setup['item_b']}, {nonce!r}, {since!r})",
        )
    filed_a = loaded["a"]["requests"] + unqueued["a"]["requests"] + sequential["a_prefill"]["requests"]
    if (
        counted["cases_a"] < filed_a
        or counted["cases_b"] < loaded["b"]["requests"] + unqueued["b"]["requests"]
    ):
        raise BenchError(f"fewer cases in the database than 201 answers: {counted}")
    if counted["cases_a_not_fully_fetched"]:
        raise BenchError(f"{counted['cases_a_not_fully_fetched']} pre-filled cases lack a fetched material")
    if counted["prefill_calls_refused"] or counted["prefill_calls_answered"] < 2 * filed_a:
        raise BenchError(f"exchange calls refused or missing under load: {counted}")
    if counted["most_cases_one_item"] > MAX_CASES_PER_DAY:
        raise BenchError("more cases for one item than a case number's daily serial allows")
    return {
        "sequential": sequential,
        "unqueued": {**_pair(unqueued["a"], unqueued["b"]), "connections": unqueued_connections},
        "loaded": {**_pair(loaded["a"], loaded["b"]), "connections": args.connections},
        "check": checked,
        "counted": counted,
        "citizens": len(users),
        "body_bytes": {kind: len(body) for kind, body in bodies.items()},
        "a_sql_queries": len(inprocess["a_queries"]),
        "b_sql_queries": len(inprocess["b_queries"]),
        "a_gateway_sql_queries": len(inprocess["a_gateway_queries"]),
        "b_gateway_sql_queries": len(inprocess["b_gateway_queries"]),
        "a_sql": [q[:110] for q in inprocess["a_queries"]],
        "b_sql": [q[:110] for q in inprocess["b_queries"]],
        "inprocess_a_cpu_ms": inprocess["a_cpu_ms"],
        "inprocess_b_cpu_ms": inprocess["b_cpu_ms"],
        "inprocess_added_cpu_ms": round(inprocess["a_cpu_ms"] - inprocess["b_cpu_ms"], 3),
    }


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("sequential", "unqueued", "loaded"):
        r = result[name]
        out[name] = {
            "added_p95_ms": r["added_p95_ms"],
            "p95_ratio": r["p95_ratio"],
            "a_p50_p95_p99": [r["a_prefill"][k] for k in ("p50_ms", "p95_ms", "p99_ms")],
            "b_p50_p95_p99": [r["b_uploads"][k] for k in ("p50_ms", "p95_ms", "p99_ms")],
            "rps_a_b": [r["a_prefill"]["rps"], r["b_uploads"]["rps"]],
            "other_cpu_pct": r.get("cpu", {}).get("other_cpu_pct")
            if name == "sequential"
            else [r["a_prefill"]["cpu"]["other_cpu_pct"], r["b_uploads"]["cpu"]["other_cpu_pct"]],
        }
    out["sql_a_b"] = [result["a_sql_queries"], result["b_sql_queries"]]
    out["gateway_sql_a_b"] = [result["a_gateway_sql_queries"], result["b_gateway_sql_queries"]]
    out["inprocess_cpu_ms_a_b"] = [result["inprocess_a_cpu_ms"], result["inprocess_b_cpu_ms"]]
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    variants: list[tuple[str, str, str | None]] = [(db, db, None) for db in databases]
    if args.redis:
        variants += [(f"{db}+redis", db, args.redis_url) for db in databases]
    machine = harness.machine_info()
    results: dict[str, dict[str, Any]] = {}
    for name, db, redis_url in variants:
        results[name] = measure(args, db=db, redis_url=redis_url)
        log(f"{name}: {json.dumps(_brief(results[name]), ensure_ascii=False)}")
    first = results[variants[0][0]]
    machine["loadavg_1m_at_end"] = harness.load_average()
    return {
        "benchmark": "apply_prefill",
        "figure": "added_p95_ms (sequential: one request at a time)",
        "value": first["sequential"]["added_p95_ms"],
        "baseline": first["sequential"]["b_uploads"]["p95_ms"],
        "ratio": first["sequential"]["p95_ratio"],
        "aim_ms": 50,
        "headline": variants[0][0],
        "summary": {name: _brief(r) for name, r in results.items()},
        "results": results,
        "server": config_describe(args),
        "load": {
            "tool": "wrk",
            "script": SCRIPT.name,
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "sequential_requests_each": SEQUENTIAL,
        },
        "machine": machine,
        "request": "(a) item A, prefill_consent=true, no file: 3 e-licences + 2 exchange calls; "
        "(b) item B, 5 PDF uploads; same 5-field form; a different citizen and a new key each",
        "source": str(Path(__file__).name),
    }


def config_describe(args: argparse.Namespace) -> dict[str, Any]:
    return server_config(args).describe()

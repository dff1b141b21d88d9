"""``case_submit``: online applications per second (``POST /api/v1/cases``) against a one-row insert.

For each database: a fresh database, migrations, the demo data (``seed_demo``), then a dedicated
item made through the catalogue services (a 5-field form, 3 required applicant materials, one review
stage), a gunicorn server on 127.0.0.1 running ``bench.baseline.settings`` (Tongban's settings plus
the bench-only baseline ``POST /bench/insert``), and a login through ``POST /api/v1/auth/login`` for
each demo citizen. wrk then runs ``bench/case_submit.lua``: every request is one application, a
multipart body with the form answers and three small files (two PDFs, one PNG, a few KB each), sent
as one of the citizens in turn (session cookie + CSRF token) with an ``Idempotency-Key`` of its own,
so every request files a new case (201). The baseline is a POST with the same cookies and CSRF
header that inserts one row through the ORM.

Besides the figures it records what one application costs inside Django, measured in-process with
the test client: the number of SQL statements and the CPU time per request (best of three rounds).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import struct
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import harness
from bench.harness import BenchError, ServerConfig, log

SETTINGS = "bench.baseline.settings"
SCRIPT = Path(__file__).with_name("case_submit.lua")
BOUNDARY = "----tongban-bench-7MA4YWxkTrZu0gW"
BASELINE_PATH = "/bench/insert"
APPLY_PATH = "/api/v1/cases"
# A case number has a 4-digit serial per item and day: more than 9999 applications would be refused.
MAX_CASES_PER_DAY = 9999

FORM: list[dict[str, Any]] = [
    {"key": "applicant_name", "label": "申请人姓名", "type": "text", "required": True,
     "validation": {"max_length": 50}},
    {"key": "contact_phone", "label": "联系电话", "type": "phone", "required": True},
    {"key": "start_date", "label": "拟开始日期", "type": "date", "required": True},
    {"key": "purpose", "label": "申请事由", "type": "choice", "required": True,
     "options": [{"value": "new", "label": "新办"}, {"value": "renew", "label": "换领"}]},
    {"key": "remarks", "label": "备注", "type": "textarea", "required": False,
     "validation": {"max_length": 500}},
]  # fmt: skip
ANSWERS = {
    "applicant_name": "张伟",
    "contact_phone": "13905640101",
    "start_date": "2026-12-01",
    "purpose": "new",
    "remarks": "压力测试：五项表单、三份材料。",
}

# Runs inside ``manage.py shell``: the bench item, made as the demo administrator would make it.
_SETUP = """
import json
from tongban.catalog import services
from tongban.identity.demo import CITIZENS
from tongban.identity.models import Department, User
admin = User.objects.get(username="admin")
department = Department.objects.get(code="luan-sjj")
item = services.item_create(
    by=admin, department=department, basic_code="0020990001000", item_digits="0020990001000",
    name="压测事项（五项表单、三份材料）", item_type="public_service", level="city",
    statutory_days=10, promised_days=5, service_object="person", channels=["online", "window"],
)
draft = item.versions.get()
materials = [
    services.material_add(version=draft, by=admin, name=name, sort_order=i)
    for i, name in enumerate(("申请书", "居民身份证复印件", "近期免冠照片"))
]
services.form_schema_set(version=draft, schema=json.loads(%(form)r), by=admin)
stages = [{"name": "审查决定", "days": 5, "departments": ["luan-sjj"]}]
services.process_set(version=draft, stages=stages, by=admin)
services.item_version_publish(version=draft, by=admin)
print(json.dumps({"item": item.pk, "materials": [m.pk for m in materials],
                  "citizens": [c.resident_id for c in CITIZENS]}))
"""

# Runs inside ``manage.py shell``: the SQL of one application and the in-process CPU time of an
# application and of the baseline, with the test client (no server, no network).
_INPROCESS = """
import json, time
from django.db import connection
from django.test import Client
client = Client()
reply = client.post("/api/v1/auth/login", {"identifier": %(user)r, "password": %(password)r},
                    content_type="application/json")
assert reply.status_code == 200, reply.content
files = %(files)r
n = [0]
def apply():
    n[0] += 1
    body = {"item": %(item)r, "form": %(form)r}
    for name, (filename, content, ctype) in files.items():
        from django.core.files.uploadedfile import SimpleUploadedFile
        body[name] = SimpleUploadedFile(filename, content, content_type=ctype)
    reply = client.post("/api/v1/cases", body, headers={"Idempotency-Key": f"inprocess-{n[0]}"})
    assert reply.status_code == 201, reply.content
def baseline():
    assert client.post("/bench/insert").status_code == 201
queries = []
def record(execute, sql, params, many, context):
    queries.append(sql)
    return execute(sql, params, many, context)
apply()
with connection.execute_wrapper(record):
    apply()
timings = {}
for name, call in (("baseline", baseline), ("apply", apply)):
    for _ in range(10):
        call()
    rounds = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(%(n)d):
            call()
        rounds.append((time.process_time() - started) / %(n)d * 1000)
    timings[name] = round(min(rounds), 3)
print(json.dumps({"queries": queries, "apply_ms": timings["apply"], "baseline_ms": timings["baseline"]}))
"""


# --- the files of one application ------------------------------------------------------------


def _pdf(title: str, lines: int) -> bytes:
    """A real PDF of a few KB (reportlab, pinned)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1, pageCompression=0)
    page.setTitle(title)
    for i in range(lines):
        page.drawString(72, 800 - 14 * i, f"{title} - line {i + 1}: Tongban benchmark material.")
    page.showPage()
    page.save()
    return buffer.getvalue()


def _png(width: int = 48, height: int = 48) -> bytes:
    """A real PNG (RGB, a gradient), built with zlib: no imaging library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 5 % 256, y * 5 % 256, (x * y) % 256))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def _files(material_ids: list[int]) -> dict[str, tuple[str, bytes, str]]:
    contents = [
        ("application.pdf", _pdf("Application form", 40), "application/pdf"),
        ("id-copy.pdf", _pdf("Resident ID copy", 25), "application/pdf"),
        ("photo.png", _png(), "image/png"),
    ]
    return {f"material_{pk}": content for pk, content in zip(material_ids, contents, strict=True)}


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> bytes:
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _lua_string(data: bytes) -> str:
    """``data`` as a Lua string literal (decimal escapes for everything not plainly printable)."""
    plain = set(range(32, 127)) - {ord('"'), ord("\\")}
    return '"' + "".join(chr(b) if b in plain else f"\\{b:03d}" for b in data) + '"'


def _data_file(directory: Path, name: str, *, path: str, body: bytes, users: list[dict[str, str]]) -> Path:
    users_lua = ", ".join(
        f"{{cookie = {_lua_string(u['cookie'].encode())}, csrf = {_lua_string(u['csrf'].encode())}}}"
        for u in users
    )
    target = directory / f"{name}.lua"
    target.write_text(
        "return {\n"
        f"  path = {_lua_string(path.encode())},\n"
        f"  boundary = {_lua_string(BOUNDARY.encode())},\n"
        f"  nonce = {_lua_string(f'{name}-{time.time_ns()}'.encode())},\n"
        f"  body = {_lua_string(body)},\n"
        f"  users = {{{users_lua}}},\n"
        "}\n",
        encoding="ascii",
    )
    return target


# --- the server ------------------------------------------------------------------------------


def _login(base: str, identifier: str, password: str) -> dict[str, str]:
    reply = harness.request(
        "POST", f"{base}/api/v1/auth/login", body={"identifier": identifier, "password": password}
    )
    session, csrf = reply.cookie("sessionid"), reply.cookie("csrftoken")
    if reply.status != 200 or not session or not csrf:
        raise BenchError(f"login as citizen {identifier[:6]}… failed: {reply.status} {reply.body[:200]!r}")
    return {"cookie": f"sessionid={session}; csrftoken={csrf}", "csrf": csrf}


def _post(base: str, path: str, body: bytes, user: dict[str, str], key: str) -> harness.Reply:
    headers = {"Cookie": user["cookie"], "X-CSRFToken": user["csrf"], "Idempotency-Key": key}
    if body:
        headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
    harness.require_local(base)
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
    try:
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        return harness.Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


def _check(base: str, body: bytes, users: list[dict[str, str]], key: str) -> None:
    """Before loading: an application answers 201, the same key again 200, the baseline 201."""
    first = _post(base, APPLY_PATH, body, users[0], key)
    if first.status != 201 or first.json().get("status") != "submitted":
        raise BenchError(f"{APPLY_PATH} answered {first.status} {first.body[:300]!r}")
    again = _post(base, APPLY_PATH, body, users[0], key)
    if again.status != 200 or again.json().get("id") != first.json().get("id"):
        raise BenchError(f"{APPLY_PATH} with the same key answered {again.status} {again.body[:200]!r}")
    baseline = _post(base, BASELINE_PATH, b"", users[0], key)
    if baseline.status != 201:
        raise BenchError(f"{BASELINE_PATH} answered {baseline.status} {baseline.body[:200]!r}")


def server_config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.server_threads,
        worker_connections=-(-args.connections // args.workers),
    )


def _load(base: str, data: Path, *, duration: float, load: dict[str, Any]) -> harness.WrkResult:
    os.environ["CASE_SUBMIT_DATA"] = str(data)
    try:
        return harness.wrk(f"{base}{APPLY_PATH}", duration=duration, script=SCRIPT, **load)
    finally:
        os.environ.pop("CASE_SUBMIT_DATA", None)


def measure(args: argparse.Namespace, *, db: str, redis_url: str | None) -> dict[str, Any]:
    database = harness.postgres_database() if db == "postgres" else harness.sqlite_database()
    config = server_config(args)
    with database as (var_dir, database_url), tempfile.TemporaryDirectory(prefix="case-submit-") as scratch:
        port = harness.free_port(args.port)
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=redis_url)
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        if redis_url:
            harness.flush_redis(redis_url)
        log(f"{db}{' + redis' if redis_url else ''}: migrating a fresh database")
        harness.manage(env, "migrate", "--run-syncdb", "--noinput", "-v", "0")
        accounts = json.loads(harness.manage(env, "seed_demo", "--json"))
        password = next(a["password"] for a in accounts if a["kind"] == "citizen")
        setup = json.loads(
            harness.manage(env, "shell", "-c", _SETUP % {"form": json.dumps(FORM)}).strip().splitlines()[-1]
        )
        files = _files(setup["materials"])
        form = json.dumps(ANSWERS)
        body = multipart({"item": str(setup["item"]), "form": form}, files)
        inprocess = json.loads(
            harness.manage(
                env,
                "shell",
                "-c",
                _INPROCESS
                % {
                    "user": setup["citizens"][0],
                    "password": password,
                    "files": files,
                    "item": str(setup["item"]),
                    "form": form,
                    "n": 30,
                },
                timeout=600,
            )
            .strip()
            .splitlines()[-1]
        )
        log(f"starting gunicorn on 127.0.0.1:{port} ({config.describe()})")
        with harness.gunicorn(env, port=port, config=config) as server:
            base = server.base
            users = [_login(base, citizen, password) for citizen in setup["citizens"]]
            _check(base, body, users, "check-before")
            scratch_dir = Path(scratch)
            apply_data = _data_file(scratch_dir, "apply", path=APPLY_PATH, body=body, users=users)
            baseline_data = _data_file(scratch_dir, "baseline", path=BASELINE_PATH, body=b"", users=users)
            load: dict[str, Any] = {
                "connections": args.connections,
                "threads": args.threads,
                "server_pgid": server.pgid,
            }
            if args.warmup > 0:
                _load(base, baseline_data, duration=args.warmup, load=load)
                _load(base, apply_data, duration=args.warmup, load=load)
            log(f"wrk {BASELINE_PATH} for {args.duration:.0f} s")
            baseline = _load(base, baseline_data, duration=args.duration, load=load)
            log(f"wrk {APPLY_PATH} for {args.duration:.0f} s")
            apply = _load(base, apply_data, duration=args.duration, load=load)
            _check(base, body, users, "check-after")
        submitted = json.loads(
            harness.manage(
                env,
                "shell",
                "-c",
                "import json; from tongban.cases.models import Case; "
                "print(json.dumps(Case.objects.filter(idempotency_key__startswith='apply-').count()))",
            )
            .strip()
            .splitlines()[-1]
        )
    if submitted > MAX_CASES_PER_DAY:
        raise BenchError(f"{submitted} cases filed: more than a case number's daily serial allows")
    return {
        "apply_rps": round(apply.rps, 1),
        "apply_p50_ms": round(apply.p50_ms, 2),
        "apply_p99_ms": round(apply.p99_ms, 2),
        "baseline_rps": round(baseline.rps, 1),
        "baseline_p50_ms": round(baseline.p50_ms, 2),
        "baseline_p99_ms": round(baseline.p99_ms, 2),
        "ratio": round(apply.rps / baseline.rps, 3),
        "apply_requests": apply.requests,
        "cases_filed_by_wrk": submitted,
        "baseline_requests": baseline.requests,
        "body_bytes": len(body),
        "file_bytes": [len(content) for _, content, _ in files.values()],
        "apply_sql_queries": len(inprocess["queries"]),
        "apply_sql": [q[:120] for q in inprocess["queries"]],
        "inprocess_apply_cpu_ms": inprocess["apply_ms"],
        "inprocess_baseline_cpu_ms": inprocess["baseline_ms"],
        "apply_cpu": apply.cpu,
        "baseline_cpu": baseline.cpu,
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
        log(f"{name}: {json.dumps({k: v for k, v in results[name].items() if k != 'apply_sql'})}")
    first = results[variants[0][0]]
    return {
        "benchmark": "case_submit",
        "figure": "apply_rps",
        "value": first["apply_rps"],
        "baseline": first["baseline_rps"],
        "ratio": first["ratio"],
        "headline": variants[0][0],
        "results": results,
        "server": server_config(args).describe(),
        "load": {
            "tool": "wrk",
            "script": SCRIPT.name,
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
        },
        "machine": machine,
        "request": "5-field form, 3 files (2 PDF, 1 PNG), 3 citizens in turn, a new Idempotency-Key each",
        "source": str(Path(__file__).name),
    }

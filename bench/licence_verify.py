"""``licence_verify``: public licence verifications per second (the signature checked over the registry
row, and the status) over 1,000,000 licences, against a bare lookup of the same row on the same server.

PostgreSQL (the issue's figure) in its own database ``tongban_bench_licences``, or SQLite (a quick
check). Set-up, through the services: six issuing departments of the demo city (with credit codes),
an administrator to own their keys, the ten licence types of the demo (``licences.demo.TYPES``), one
signing key per department and a second for the 公安局 (a rotation: what it issued more than
``ROTATION_YEARS`` ago is signed with the retired key). Then ``LICENCE_BENCH_COUNT`` licences
(1,000,000 by default) are made by ``LOAD_PROCESSES`` processes: each reserves its serials through
the licence counter, builds and signs each licence with ``services._build`` (the issuance path's own
identifier and canonical form) and writes them with ``COPY`` (SQLite: ``executemany``), one
transaction per ``CHUNK`` rows. About 1 % are revoked and 1 % expired (half marked by the nightly
job, half only past their end date). After the load, one licence has one character of its data
changed in the database (it must verify as forged).

A sample of ``PATHS`` identifiers drawn at random across the table is written to a Lua data file;
wrk (``bench/get_rotating.lua``) requests ``GET /api/v1/licences/verify/{identifier}`` in turn over
them, and the same identifiers on the baseline ``GET /bench/licence/{identifier}`` (bench only,
``bench.baseline.urls``): the same joined SELECT of the same columns by identifier, answered as JSON,
with no signature check and no verdict. Before the load: a valid, a revoked, two expired, a tampered,
a retired-key and an unknown licence, and ``CHECKED`` more of the sample, must each get their
verdict. Any non-2xx answer under load fails the run (every requested identifier exists).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import ROOT, BenchError, ServerConfig, log

SETTINGS = "bench.baseline.settings"
SCRIPT = Path(__file__).with_name("get_rotating.lua")
DATABASE = "tongban_bench_licences"
VERIFY_PATH = "/api/v1/licences/verify/"
BASELINE_PATH = "/bench/licence/"
PREPARED_PATH = "/bench/licence-prepared/"
PATHS = 20_000
CHECKED = 200
INPROCESS_CALLS = 1000
CHUNK = 50_000
SEED = "tongban-licence-bench"
DEPARTMENTS = ("gaj", "mzj", "wjw", "scjgj", "bdc", "rsj")
ROTATED = "luan-gaj"
ROTATION_YEARS = 3
REVOKED_SHARE = 0.01
EXPIRED_SHARE = 0.01
LOAD_TIMEOUT = 900
# The share of each demo type in the table (licences.demo's type codes).
WEIGHTS = {
    "11100000110068567G001": 24,  # 居民身份证
    "11100000110068567G002": 20,  # 居民户口簿
    "111000009138160207001": 15,  # 社会保障卡
    "11100000110068567G003": 10,  # 机动车驾驶证
    "11100000267796220H001": 8,  # 结婚证
    "111000007359763115001": 7,  # 不动产权证书
    "11100000097053140N001": 6,  # 营业执照
    "111000005328312867001": 5,  # 出生医学证明
    "11100000097053140N002": 4,  # 食品经营许可证
    "11100000267796220H002": 1,  # 离婚证
}


# --- set-up and load (run in processes of their own, with the server's environment) ----------


def _django() -> None:
    import django

    django.setup()


def _setup() -> dict[str, Any]:
    """Departments, an administrator, the demo's licence types and the signing keys, by the services."""
    from tongban.identity import demo as identity_demo
    from tongban.identity.choices import DepartmentLevel, Role
    from tongban.identity.services import accounts
    from tongban.licences import demo as licence_demo
    from tongban.licences import services
    from tongban.licences.models import LicenceType

    city = identity_demo.CITY_CODE
    departments = {}
    for suffix, name, short_name, category in identity_demo.CITY_DEPARTMENTS:
        if suffix not in DEPARTMENTS:
            continue
        code = f"{identity_demo.CITY_KEY}-{suffix}"
        departments[code] = accounts.department_create(
            name=name,
            short_name=short_name,
            code=code,
            level=DepartmentLevel.CITY,
            division_code=city,
            credit_code=identity_demo.credit_code(category=category, division_code=city, key=code),
            by=None,
        )
    accounts.staff_create(
        username="bench.admin",
        name="压测管理员",
        department=departments[ROTATED],
        roles=[Role.ADMINISTRATOR],
        password=secrets.token_urlsafe(18),
        by=None,
    )
    for spec in licence_demo.TYPES:
        LicenceType.objects.create(
            code=spec.code,
            name=spec.name,
            defining_agency=spec.agency,
            issuing_department=departments[spec.department],
            holder_kind=spec.holder,
            fields=list(spec.fields),
            validity=spec.validity,
            validity_years=spec.years,
            template={"title": spec.name, "colour": spec.colour},
        )
    keys: dict[str, list[str]] = {}
    for code, department in departments.items():
        key = services.signing_key_rotate(department=department, by=None, reason="压测：初始签章密钥")
        keys[code] = [key.key_id]
    rotated = services.signing_key_rotate(department=departments[ROTATED], by=None, reason="压测：密钥轮换")
    keys[ROTATED].append(rotated.key_id)
    return {"departments": len(departments), "types": len(licence_demo.TYPES), "keys": keys}


def _people_namer(rng: random.Random) -> str:
    from bench.exchange_verify import GIVEN, SURNAMES

    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _resident_id(rng: random.Random) -> tuple[str, dt.date, bool]:
    from stdnum.cn import ric

    from bench.exchange_verify import COUNTIES

    birth = dt.date.fromordinal(
        rng.randrange(dt.date(1940, 1, 1).toordinal(), dt.date(2024, 1, 1).toordinal())
    )
    seq = rng.randrange(1000)
    body = f"{rng.choice(COUNTIES)}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0"), birth, seq % 2 == 1


def _credit_code(rng: random.Random) -> str:
    from stdnum.cn import uscc

    from bench.exchange_verify import COUNTIES

    org = "".join(rng.choice("0123456789") for _ in range(8))
    remainder = 11 - sum(int(c) * w for c, w in zip(org, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    body = "91" + rng.choice(COUNTIES) + org + {10: "X", 11: "0"}.get(remainder, str(remainder))
    return body + uscc.calc_check_digit(body)


_ENTITY_WORDS = ("茶业", "农业科技", "商贸", "建材", "餐饮管理", "电子商务", "食品", "物流", "医药", "纺织")


def _value(spec: dict[str, Any], holder: dict[str, Any], rng: random.Random, n: int) -> str:
    """A plausible value for one data field of a licence type (the demo types' fields)."""
    source, key = str(spec.get("from", "")), str(spec["key"])
    if source.startswith("fixed:"):
        return source[6:]
    if source == "holder.name" or key in ("name", "owner"):
        return str(holder["name"])
    if source == "holder.id" or key in ("id_number", "credit_code"):
        return str(holder["id"])
    if key == "gender":
        return "男" if holder.get("male") else "女"
    if key == "birth_date" and holder.get("birth"):
        return str(holder["birth"].isoformat())
    if key.endswith(("_on", "_issued", "_date")):
        return dt.date(2000 + n % 24, 1 + n % 12, 1 + n % 28).isoformat()
    if key in ("address", "location"):
        return f"安徽省六安市金安区测试路{n % 997 + 1}号{n % 31 + 1}栋{n % 6 + 1}0{n % 4 + 1}室"
    if key.endswith("_name"):
        return _people_namer(rng)
    if key in ("spouse_id",):
        return _resident_id(rng)[0]
    if key == "area":
        return f"{60 + n % 100}.{n % 90 + 10}"
    if key == "registered_capital":
        return str(50 + n % 950)
    if key == "scope":
        return "预包装食品销售；农副产品销售；日用百货销售"
    if key == "entity_type":
        return "有限责任公司（自然人投资或控股）"
    return f"{spec.get('label', key)}{n:08d}"


def _people(rng: random.Random, n: int) -> list[dict[str, Any]]:
    people = []
    for _ in range(n):
        rid, birth, male = _resident_id(rng)
        people.append({"id": rid, "name": _people_namer(rng), "birth": birth, "male": male})
    return people


def _enterprises(rng: random.Random, n: int) -> list[dict[str, Any]]:
    return [
        {"id": _credit_code(rng), "name": f"六安市{rng.choice(_ENTITY_WORDS)}{rng.randrange(10**5)}有限公司"}
        for _ in range(n)
    ]


def _load_part(part: int, parts: int, count: int, sample_rate: float) -> dict[str, Any]:
    """Make, sign and write this process's share of the licences; return timings and a sample.

    Each licence is what ``services._build`` makes (the identifier, the number, the canonical form and
    the signature); to save the model instance, it is built from the same parts here, and the first
    licence of every chunk is also built by ``services._build`` and must come out byte for byte the
    same (Ed25519 signatures are deterministic). Holders are drawn from a pool, so one person holds
    several licences, as in life."""
    import psycopg
    from django.conf import settings
    from django.db import DEFAULT_DB_ALIAS, connections, transaction
    from django.db.models import JSONField
    from django.utils import timezone

    from tongban.licences import identifiers, services, signing
    from tongban.licences.choices import HolderKind, LicenceOrigin, LicenceStatus, Validity
    from tongban.licences.models import Licence, LicenceType, SigningKey

    started = time.monotonic()
    db = connections[DEFAULT_DB_ALIAS]
    rng = random.Random(f"{SEED}:{part}")
    today = timezone.localdate()
    now = timezone.now()
    cutoff = today - dt.timedelta(days=365 * ROTATION_YEARS)
    types = {t.code: t for t in LicenceType.objects.select_related("issuing_department")}
    keys: dict[int, list[SigningKey]] = {}
    for key in SigningKey.objects.order_by("created_at", "pk"):
        keys.setdefault(key.department_id, []).append(key)
    share = count // parts + (1 if part < count % parts else 0)
    total_weight = sum(WEIGHTS.values())
    quota = {code: share * w // total_weight for code, w in WEIGHTS.items()}
    first_code = next(iter(WEIGHTS))
    quota[first_code] += share - sum(quota.values())
    years_weight = sum(w for c, w in WEIGHTS.items() if types[c].validity == Validity.YEARS)
    expire_rate = EXPIRED_SHARE * total_weight / years_weight
    people = _people(rng, max(1, share // 3))
    enterprises = _enterprises(rng, max(1, share // 12))

    fields = [f for f in Licence._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(db.ops.quote_name(str(f.column)) for f in fields)
    table = db.ops.quote_name(Licence._meta.db_table)
    index = {f.attname: i for i, f in enumerate(fields)}
    template = Licence(origin=LicenceOrigin.IMPORTED, status=LicenceStatus.VALID, version=1)
    blank = [getattr(template, f.attname) for f in fields]  # every other column: the model's default
    for i, f in enumerate(fields):
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            blank[i] = now
    json_columns = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
    pg = db.vendor == "postgresql"
    sample: list[list[str]] = []
    states = {"valid": 0, "revoked": 0, "expired_marked": 0, "expired_by_date": 0, "retired_key": 0}
    timing = {"build_and_sign_s": 0.0, "checked_against_build": 0}

    def rows_of(type_: LicenceType, first: int, n: int) -> Any:
        issuer = type_.issuing_department
        issuer_code = issuer.credit_code or ""
        dept_keys = keys[issuer.pk]
        active, retired = dept_keys[-1], dept_keys[0]
        private = {k.pk: bytes(k.private_key) for k in dept_keys}
        years = type_.validity_years or 0
        pool = enterprises if type_.holder_kind == HolderKind.ENTERPRISE else people
        for serial in range(first, first + n):
            t0 = time.perf_counter()
            expired = type_.validity == Validity.YEARS and rng.random() < expire_rate
            if expired:
                issued = today - dt.timedelta(days=365 * years + rng.randint(5, 900))
            elif years:
                issued = today - dt.timedelta(days=rng.randint(0, 365 * years - 10))
            else:
                issued = today - dt.timedelta(days=rng.randint(0, 365 * 25))
            until = services.validity_end(type_, issued, None)
            holder = rng.choice(pool)
            data = {str(spec["key"]): _value(spec, holder, rng, serial) for spec in type_.fields}
            old_key = len(dept_keys) > 1 and issued < cutoff
            key = retired if old_key else active
            identifier = identifiers.make(type_.code, issuer_code, serial)
            number = identifier.split(".")[-3]
            document = signing.document(
                identifier=identifier,
                type_code=type_.code,
                type_name=type_.name,
                holder_kind=type_.holder_kind,
                holder_id=holder["id"],
                holder_name=holder["name"],
                number=number,
                issuer_code=issuer_code,
                issuer_name=issuer.name,
                issued_on=issued.isoformat(),
                valid_from=issued.isoformat(),
                valid_until=until.isoformat() if until else "",
                data=data,
                key_id=key.key_id,
            )
            signature = signing.sign(private[key.pk], signing.canonical(document))
            if serial == first:
                new = services.NewLicence(
                    type=type_,
                    holder_id=holder["id"],
                    holder_name=holder["name"],
                    data=data,
                    issued_on=issued,
                    valid_from=issued,
                    valid_until=until,
                )
                built = services._build(
                    new, issuer=issuer, key=key, serial=serial, origin=LicenceOrigin.IMPORTED
                )
                if (built.identifier, built.number, built.signature) != (identifier, number, signature):
                    raise RuntimeError(f"the bench's licence {identifier} differs from services._build's")
                timing["checked_against_build"] += 1
            row = blank.copy()
            row[index["identifier"]] = identifier
            row[index["type_id"]] = type_.pk
            row[index["issuer_id"]] = issuer.pk
            row[index["serial"]] = serial
            row[index["holder_kind"]] = type_.holder_kind
            row[index["holder_id"]] = holder["id"]
            row[index["holder_name"]] = holder["name"]
            row[index["number"]] = number
            row[index["data"]] = data
            row[index["issued_on"]] = issued
            row[index["valid_from"]] = issued
            row[index["valid_until"]] = until
            row[index["key_id"]] = key.pk
            row[index["signature"]] = signature
            verdict = "valid"
            if expired:
                verdict = "expired"
                if rng.random() < 0.5:
                    row[index["status"]] = LicenceStatus.EXPIRED
                    states["expired_marked"] += 1
                else:
                    states["expired_by_date"] += 1
            elif rng.random() < REVOKED_SHARE:
                verdict = "revoked"
                row[index["status"]] = LicenceStatus.REVOKED
                row[index["revoked_at"]] = now
                row[index["revoked_reason"]] = "压测：依法撤销"
                states["revoked"] += 1
            else:
                states["valid"] += 1
            states["retired_key"] += old_key
            if rng.random() < sample_rate:
                sample.append([identifier, verdict, "retired" if old_key else "active"])
            if pg:  # COPY takes dates, times and None as they are; JSON as its text
                for i in json_columns:
                    row[i] = json.dumps(row[i], ensure_ascii=False)
            else:
                row = [f.get_db_prep_save(v, db) for f, v in zip(fields, row, strict=True)]
            timing["build_and_sign_s"] += time.perf_counter() - t0
            yield row

    copy_sql = f"COPY {table} ({columns}) FROM STDIN"
    insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    conn = None
    if pg:
        harness.require_local(settings.DATABASE_URL)
        conn = psycopg.connect(settings.DATABASE_URL)
        # No foreign-key triggers for this connection's COPY (every key is one the set-up made; the
        # bench checks them all in one query after the load). Needs a superuser: else they run.
        try:
            conn.execute("SET session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
        conn.commit()
    generated = time.monotonic()
    for code, n in quota.items():
        type_ = types[code]
        first = services._reserve_serials(type_, type_.issuing_department, n)
        for offset in range(0, n, CHUNK):
            rows = rows_of(type_, first + offset, min(CHUNK, n - offset))
            if conn is not None:
                with conn.cursor() as pg_cursor, pg_cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                conn.commit()
            else:
                batch = list(rows)
                with transaction.atomic(), db.cursor() as cursor:
                    cursor.executemany(insert_sql, batch)
    if conn is not None:
        conn.close()
    return {
        "part": part,
        "licences": share,
        "holders": len(people) + len(enterprises),
        "seconds": round(time.monotonic() - started, 1),
        "pools_s": round(generated - started, 1),
        "build_and_sign_s": round(timing["build_and_sign_s"], 1),
        "checked_against_build": timing["checked_against_build"],
        "states": states,
        "sample": sample,
    }


def _backend_cpu_s(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _inprocess(identifiers: list[str]) -> dict[str, Any]:
    """CPU of one verification and of one bare lookup in-process (no server, no HTTP): this process's
    and, on PostgreSQL, its backend's (best of 3 rounds over the identifiers)."""
    from django.db import connection
    from django.test import RequestFactory

    from bench.baseline import urls as baseline
    from tongban.licences import selectors

    factory = RequestFactory()
    pid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = int(cursor.fetchone()[0])

    def verify(identifier: str) -> None:
        selectors.verify_identifier(identifier)

    def lookup(identifier: str) -> None:
        baseline.licence(factory.get("/"), identifier)

    def lookup_prepared(identifier: str) -> None:
        baseline.licence_prepared(factory.get("/"), identifier)

    figures: dict[str, Any] = {}
    for name, fn in (("verify", verify), ("lookup", lookup), ("lookup_prepared", lookup_prepared)):
        best: tuple[float, float] | None = None
        for _ in range(3):
            cpu, db = time.process_time(), _backend_cpu_s(pid)
            for identifier in identifiers:
                fn(identifier)
            spent = (time.process_time() - cpu, _backend_cpu_s(pid) - db)
            if best is None or sum(spent) < sum(best):
                best = spent
        assert best is not None
        figures[f"{name}_cpu_ms"] = round(1000 * best[0] / len(identifiers), 3)
        if pid is not None:
            figures[f"{name}_postgres_cpu_ms"] = round(1000 * best[1] / len(identifiers), 3)
    figures["calls"] = len(identifiers)
    return figures


def _finish(tamper: str, sample_file: str) -> dict[str, Any]:
    """After the load: statistics, one licence's data changed by one character, the count, and the
    in-process CPU of a verification and of a bare lookup."""
    from django.db import connection

    from tongban.licences.models import Licence

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE) licences_licence")
        else:
            cursor.execute("ANALYZE")
    licence = Licence.objects.get(identifier=tamper)
    data = dict(licence.data)
    field = sorted(data)[0]
    value = data[field]
    data[field] = value[:-1] + ("1" if value[-1:] != "1" else "2")
    Licence.objects.filter(pk=licence.pk).update(data=data)
    identifiers = json.loads(Path(sample_file).read_text())
    return {
        "licences": Licence.objects.count(),
        "tampered": tamper,
        "tampered_field": field,
        "inprocess": _inprocess(identifiers),
    }


def _worker_main(argv: list[str]) -> None:
    _django()
    command = argv[0]
    if command == "setup":
        result = _setup()
    elif command == "load":
        result = _load_part(int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4]))
    elif command == "finish":
        result = _finish(argv[1], argv[2])
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result, ensure_ascii=False))


# --- the benchmark ---------------------------------------------------------------------------


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.licence_verify", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _collect(process: subprocess.Popen[str], what: str, timeout: float = LOAD_TIMEOUT) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise BenchError(f"{what} took longer than {timeout:.0f} s") from None
    if process.returncode != 0:
        raise BenchError(f"{what} failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _run_worker(env: dict[str, str], what: str, *args: str) -> dict[str, Any]:
    return _collect(_worker(env, *args), what)


def _load(env: dict[str, str], count: int, processes: int) -> tuple[dict[str, Any], list[list[str]]]:
    started = time.monotonic()
    rate = min(1.0, PATHS * 1.1 / count)
    running = [_worker(env, "load", str(i), str(processes), str(count), str(rate)) for i in range(processes)]
    try:
        parts = [_collect(p, f"loading licences (process {i})") for i, p in enumerate(running)]
    finally:
        for p in running:
            if p.poll() is None:
                p.kill()
                p.wait()
    sample = [row for part in parts for row in part.pop("sample")]
    states: dict[str, int] = {}
    for part in parts:
        for name, n in part["states"].items():
            states[name] = states.get(name, 0) + n
    return {
        "seconds": round(time.monotonic() - started, 1),
        "processes": processes,
        "parts": parts,
        "states": states,
    }, sample


# Bulk-load practice on PostgreSQL: the indexes that back no constraint are dropped before the load
# and made again from their own definitions after it (one sorted build each instead of a million
# insertions into each); the unique constraints stay, and are checked row by row as always.
_SECONDARY_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = 'licences_licence'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY i.relname
"""
_DANGLING_KEYS = """
SELECT count(*) FROM licences_licence l
WHERE NOT EXISTS (SELECT 1 FROM licences_licencetype t WHERE t.id = l.type_id)
   OR NOT EXISTS (SELECT 1 FROM identity_department d WHERE d.id = l.issuer_id)
   OR NOT EXISTS (SELECT 1 FROM licences_signingkey k WHERE k.id = l.key_id)
   OR (l.batch_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM licences_licenceimport b WHERE b.id = l.batch_id))
   OR (l.revoked_by_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM identity_user u WHERE u.id = l.revoked_by_id))
"""


def _drop_secondary_indexes(database_url: str) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        indexes = [(str(name), str(ddl)) for name, ddl in conn.execute(_SECONDARY_INDEXES).fetchall()]
        for name, _ddl in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    return indexes


def _restore_indexes(database_url: str, indexes: list[tuple[str, str]]) -> dict[str, Any]:
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _name, ddl in indexes:
            conn.execute(ddl)
        again = [(str(name), str(ddl)) for name, ddl in conn.execute(_SECONDARY_INDEXES).fetchall()]
        dangling = conn.execute(_DANGLING_KEYS).fetchone()
    if again != indexes:
        raise BenchError(f"the indexes made again differ from the dropped ones: {again} != {indexes}")
    if dangling is None or dangling[0]:
        raise BenchError(f"{dangling} licences refer to rows that do not exist")
    return {"indexes_rebuilt": len(indexes), "seconds": round(time.monotonic() - started, 1)}


def _lua_string(text: str) -> str:
    data = text.encode()
    plain = set(range(32, 127)) - {ord('"'), ord("\\")}
    return '"' + "".join(chr(b) if b in plain else f"\\{b:03d}" for b in data) + '"'


def _data_file(directory: Path, name: str, paths: list[str]) -> Path:
    target = directory / f"{name}.lua"
    with target.open("w", encoding="ascii") as out:
        out.write('return {\n  headers = {["Accept"] = "application/json"},\n  paths = {\n')
        for path in paths:
            out.write(f"    {_lua_string(path)},\n")
        out.write("  },\n}\n")
    return target


def _busy_pct(seconds: float) -> float:
    """How busy the whole machine was over the next ``seconds`` (percent of all cores)."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        return sum(fields), fields[3] + fields[4]

    total, idle = sample()
    time.sleep(seconds)
    total2, idle2 = sample()
    return 100 * (1 - (idle2 - idle) / max(1, total2 - total))


def _wait_until_quiet() -> None:
    """With ``LICENCE_BENCH_WAIT_QUIET=S``, wait up to S seconds for the machine to be under 15 % busy
    (measured over 5 s) before a measured wrk run: on a machine shared with test suites, the figures
    are worth something only when nothing else runs (``other_cpu_pct``)."""
    limit = float(os.environ.get("LICENCE_BENCH_WAIT_QUIET", "0"))
    deadline = time.monotonic() + limit
    while limit > 0:
        busy = _busy_pct(5)
        if busy < 15:
            return
        if time.monotonic() > deadline:
            log(f"the machine is still {busy:.0f} % busy; measuring anyway")
            return
        log(f"the machine is {busy:.0f} % busy; waiting")


def _wrk(url: str, data: Path, *, duration: float, load: dict[str, Any]) -> harness.WrkResult:
    if duration >= 5:
        _wait_until_quiet()
    os.environ["GET_ROTATING_DATA"] = str(data)
    try:
        return harness.wrk(url, duration=duration, script=SCRIPT, **load)
    finally:
        os.environ.pop("GET_ROTATING_DATA", None)


def _unknown_identifier(known: str) -> str:
    """A well-formed identifier (right check character) that no licence has: serial 99999999."""
    from stdnum.iso7064 import mod_37_36

    parts = known.split(".")
    body = ".".join([*parts[:7], "99999999", parts[8]])
    return f"{body}.{mod_37_36.calc_check_digit(body.replace('.', ''))}"


def _verdict_of(base: str, identifier: str) -> tuple[int, str, dict[str, Any]]:
    reply = harness.request("GET", f"{base}{VERIFY_PATH}{identifier}")
    try:
        body = reply.json()
    except ValueError:
        raise BenchError(f"{VERIFY_PATH}{identifier} answered {reply.status} {reply.body[:200]!r}") from None
    return reply.status, str(body.get("verdict", "")), body


def _check(base: str, sample: list[list[str]], tampered: str) -> dict[str, str]:
    """Before the load: every kind of licence gets its verdict, and the baseline answers."""

    def first(verdict: str, key: str | None = None) -> str:
        for ident, v, k in sample:
            if v == verdict and (key is None or k == key) and ident != tampered:
                return ident
        raise BenchError(f"the sample has no {verdict} licence ({key or 'any'} key)")

    cases = {
        "valid": (first("valid", "active"), 200, "valid"),
        "valid_retired_key": (first("valid", "retired"), 200, "valid"),
        "revoked": (first("revoked"), 200, "revoked"),
        "expired": (first("expired"), 200, "expired"),
        "tampered": (tampered, 200, "forged"),
        "unknown": (_unknown_identifier(sample[0][0]), 404, "not_found"),
    }
    seen: dict[str, str] = {}
    for name, (ident, status, verdict) in cases.items():
        got_status, got, body = _verdict_of(base, ident)
        if got_status != status or got != verdict:
            raise BenchError(f"{name} licence {ident}: expected {status} {verdict}, got {got_status} {body}")
        if status == 200 and (body.get("licence") or {}).get("identifier") != ident:
            raise BenchError(f"{name} licence {ident}: the answer names another licence: {body}")
        seen[name] = f"{got_status} {got}"
    expired = [s for s in sample if s[1] == "expired"]
    rng = random.Random(SEED)
    for ident, verdict, _key in [*expired[:20], *rng.sample(sample, min(CHECKED, len(sample)))]:
        expected = "forged" if ident == tampered else verdict
        got_status, got, body = _verdict_of(base, ident)
        if got_status != 200 or got != expected:
            raise BenchError(f"licence {ident}: expected {expected}, got {got_status} {body}")
    bare = harness.request("GET", f"{base}{BASELINE_PATH}{cases['valid'][0]}")
    if bare.status != 200 or bare.json().get("identifier") != cases["valid"][0]:
        raise BenchError(f"{BASELINE_PATH} answered {bare.status} {bare.body[:300]!r}")
    missing = harness.request("GET", f"{base}{BASELINE_PATH}{cases['unknown'][0]}")
    if missing.status != 404:
        raise BenchError(f"{BASELINE_PATH} (unknown) answered {missing.status}")
    seen["sample_checked"] = str(CHECKED + min(20, len(expired)))
    return seen


def server_config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.server_threads,
        worker_connections=-(-args.connections // args.workers),
    )


def _measure(args: argparse.Namespace, db: str, count: int, processes: int) -> dict[str, Any]:
    config = server_config(args)
    database = harness.postgres_database(name=DATABASE) if db == "postgres" else harness.sqlite_database()
    with (
        database as (var_dir, database_url),
        tempfile.TemporaryDirectory(prefix="licence-verify-") as scratch,
    ):
        port = harness.free_port(args.port)
        redis_url = args.redis_url if args.redis else None
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=redis_url)
        env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        if redis_url:
            harness.flush_redis(redis_url)
        log(f"{db}: migrating a fresh database")
        harness.manage(env, "migrate", "--run-syncdb", "--noinput", "-v", "0")
        setup = _run_worker(env, "set-up", "setup")
        log(f"{db}: {setup['departments']} departments, {setup['types']} types, keys {setup['keys']}")
        log(f"{db}: making and signing {count:,} licences in {processes} processes")
        started = time.monotonic()
        indexes = _drop_secondary_indexes(database_url) if db == "postgres" else []
        loaded, sample = _load(env, count, processes)
        if indexes:
            loaded["indexes"] = _restore_indexes(database_url, indexes)
        log(f"{db}: {count:,} licences loaded in {loaded['seconds']} s: {loaded['states']}")
        rng = random.Random(f"{SEED}:paths")
        rng.shuffle(sample)
        tampered = next(ident for ident, verdict, _ in sample if verdict == "valid")
        sample_file = Path(scratch) / "inprocess.json"
        sample_file.write_text(json.dumps([s[0] for s in sample[:INPROCESS_CALLS]]))
        finished = _run_worker(env, "finish", "finish", tampered, str(sample_file))
        if finished["licences"] != count:
            raise BenchError(f"{finished['licences']} licences in the table, {count} expected")
        loaded["seconds_with_indexes_and_vacuum"] = round(time.monotonic() - started, 1)
        log(f"{db}: ready after {loaded['seconds_with_indexes_and_vacuum']} s (indexes, VACUUM ANALYZE)")
        sample = sample[:PATHS]
        log(f"starting gunicorn on 127.0.0.1:{port} ({config.describe()})")
        with harness.gunicorn(env, port=port, config=config) as server:
            base = server.base
            checks = _check(base, sample, tampered)
            log(f"{db}: verdicts before the load: {checks}")
            directory = Path(scratch)
            verify_data = _data_file(directory, "verify", [f"{VERIFY_PATH}{s[0]}" for s in sample])
            lookup_data = _data_file(directory, "lookup", [f"{BASELINE_PATH}{s[0]}" for s in sample])
            prepared_data = _data_file(directory, "prepared", [f"{PREPARED_PATH}{s[0]}" for s in sample])
            load: dict[str, Any] = {
                "connections": args.connections,
                "threads": args.threads,
                "server_pgid": server.pgid,
            }
            if args.warmup > 0:
                _wrk(f"{base}{BASELINE_PATH}", lookup_data, duration=args.warmup, load=load)
                _wrk(f"{base}{VERIFY_PATH}", verify_data, duration=args.warmup, load=load)
            log(f"{db}: wrk {VERIFY_PATH}… for {args.duration:.0f} s")
            verify = _wrk(f"{base}{VERIFY_PATH}", verify_data, duration=args.duration, load=load)
            log(f"{db}: wrk {BASELINE_PATH}… for {args.duration:.0f} s")
            baseline = _wrk(f"{base}{BASELINE_PATH}", lookup_data, duration=args.duration, load=load)
            if db == "postgres":
                if args.warmup > 0:
                    _wrk(f"{base}{PREPARED_PATH}", prepared_data, duration=args.warmup, load=load)
                log(f"{db}: wrk {PREPARED_PATH}… for {args.duration:.0f} s")
                prepared = _wrk(f"{base}{PREPARED_PATH}", prepared_data, duration=args.duration, load=load)
            else:
                prepared = baseline  # the same view on SQLite
    fastest = max(baseline.rps, prepared.rps)
    return {
        "verify_rps": round(verify.rps, 1),
        "verify_p50_ms": round(verify.p50_ms, 2),
        "verify_p99_ms": round(verify.p99_ms, 2),
        "baseline_rps": round(fastest, 1),
        "ratio": round(verify.rps / fastest, 3),
        "lookup_rps": round(baseline.rps, 1),
        "lookup_p50_ms": round(baseline.p50_ms, 2),
        "lookup_p99_ms": round(baseline.p99_ms, 2),
        "lookup_prepared_rps": round(prepared.rps, 1),
        "lookup_prepared_p50_ms": round(prepared.p50_ms, 2),
        "lookup_prepared_p99_ms": round(prepared.p99_ms, 2),
        "ratio_to_lookup": round(verify.rps / baseline.rps, 3),
        "ratio_to_lookup_prepared": round(verify.rps / prepared.rps, 3),
        "verify_requests": verify.requests,
        "licences": count,
        "paths": len(sample),
        "verify_cpu": verify.cpu,
        "lookup_cpu": baseline.cpu,
        "lookup_prepared_cpu": prepared.cpu,
        "inprocess": finished["inprocess"],
        "checks": checks,
        "data_load": loaded,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    count = int(os.environ.get("LICENCE_BENCH_COUNT", "1000000"))
    processes = int(os.environ.get("LOAD_PROCESSES", "2"))
    if count < 5 * CHECKED:
        raise BenchError("LICENCE_BENCH_COUNT must be at least 1,000")
    machine = harness.machine_info()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = {}
    for db in dbs:
        name = db + ("+redis" if args.redis else "")
        results[name] = _measure(args, db, count, processes)
    first = results[next(iter(results))]
    return {
        "benchmark": "licence_verify",
        "figure": "verify_rps",
        "value": first["verify_rps"],
        "baseline": first["baseline_rps"],
        "ratio": first["ratio"],
        "aim": "verify_rps >= 1000 and ratio >= 0.4 (PostgreSQL, 1,000,000 licences)",
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
        "source": Path(__file__).name,
    }


if __name__ == "__main__":
    _worker_main(sys.argv[1:])

"""``catalog_search``: the public catalogue search over 5,000 published items, against a single-item lookup.

For each database: a fresh database, migrations, the demo data (``seed_demo``: 63 real items of the
demo city), then 5,000 more published items made from them (``populate``), as the same item is
implemented by every county and split into sub-items (四级四同: 食品经营许可（新办）, （变更）,
（延续）… at 金安区市场监督管理局, 霍山县人民政府…), each with its materials, themes and process.

Then, for a fixed list of realistic queries (``QUERIES``):

- **in-process**: the wall time of ``catalog.selectors.search_published(q)`` (all queries in turn,
  many rounds) against the baseline, a bare lookup of one published item by implementation code
  (an indexed single-row query with the same joins), p50/p95/p99 of each;
- **over HTTP**: gunicorn as the harness runs it, wrk with a Lua script rotating the queries on
  ``GET /api/v1/items?q=…`` against ``GET /api/v1/items/{code}`` rotating ten items (the API has no
  cheaper lookup of one item), and ``GET /api/v1/ping``; under load (``--connections``) and without
  queueing (one connection per worker, so latency is the request's own).

The aim is a search p95 under 30 ms (in-process and over HTTP without queueing). See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench import harness
from bench.harness import BenchError, ServerConfig, log

ITEMS = 5_000
QUERIES = (
    "身份证",
    "营业执照",
    "出生",
    "退休",
    "食品经营许可",
    "不动产",
    "公积金提取",
    "社保卡",
    "户口迁移",
    "医保",
)
# Sub-items (办理项) as the national catalogue splits an item: the first is the item itself.
VARIANTS = (
    "",
    "（新办）",
    "（变更）",
    "（延续）",
    "（补办）",
    "（注销）",
    "（告知承诺制）",
    "（跨省通办）",
    "（个人）",
    "（单位）",
    "（首次申请）",
    "（容缺受理）",
    "（网上办理）",
    "（迁入）",
    "（迁出）",
)


def populate(total: int) -> dict[str, Any]:
    """Create ``total`` published items from the demo's published versions. Runs inside Django.

    The rows are what ``catalog.services`` would write (an item, a published v1 pointed to by the
    item, its materials, themes and a valid process naming the implementing department), created in
    bulk because 5,000 items through the services would take minutes; the services' audit rows are
    not written, as no measurement reads them.
    """
    from django.db import transaction
    from django.utils import timezone

    from tongban.catalog.choices import VersionStatus
    from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion
    from tongban.identity.models import Department

    templates = list(
        ServiceItemVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("item__department")
        .prefetch_related("materials", "themes")
        .order_by("item__implementation_code")
    )
    if not templates:
        raise RuntimeError("seed_demo published no items")
    departments = [d for d in Department.objects.filter(is_active=True) if d.credit_code]
    counties = [d for d in departments if d.level == "county" and "-" not in d.code]

    def implementers(template: ServiceItemVersion) -> list[Department]:
        """The template's department, its county counterparts (same code suffix) or else the
        county governments, which implement the items no county bureau has."""
        own = template.item.department
        suffix = own.code.rsplit("-", 1)[-1]
        same = [d for d in departments if d.code != own.code and d.code.endswith(f"-{suffix}")]
        return [own, *(same or counties)]

    plan: list[tuple[ServiceItemVersion, Department, int]] = []
    for variant in range(len(VARIANTS)):
        for template in templates:
            for department in implementers(template):
                if variant == 0 and department.pk == template.item.department_id:
                    continue  # the demo item itself
                plan.append((template, department, variant))
    if len(plan) < total:
        raise RuntimeError(f"only {len(plan)} variations of the demo items; {total} wanted")
    plan = plan[:total]
    now = timezone.now()
    copied = [
        "item_type",
        "level",
        "legal_basis",
        "statutory_days",
        "promised_days",
        "fee_charged",
        "fee_amount",
        "fee_basis",
        "visits",
        "online_depth",
        "channels",
        "window_address",
        "window_hours",
        "consultation_phone",
        "complaint_phone",
        "result_type",
        "result_name",
        "service_object",
        "form_schema",
        "created_by_id",
        "published_by_id",
    ]
    with transaction.atomic():
        items = ServiceItem.objects.bulk_create(
            [
                ServiceItem(
                    basic_code=f"{template.item.basic_code}{variant:02d}",
                    department=department,
                    implementation_code=f"{department.credit_code}{template.item.basic_code}{variant:02d}",
                )
                for template, department, variant in plan
            ],
            batch_size=500,
        )
        versions = []
        for item, (template, department, variant) in zip(items, plan, strict=True):
            own = template.item.department.code
            process = [
                {**stage, "departments": [department.code if c == own else c for c in stage["departments"]]}
                for stage in template.process
            ]
            place = department.name.removesuffix("人民政府")[:6] if department.level != "city" else ""
            conditions = template.conditions.replace("本市", f"本{place}" if place else "本市")
            versions.append(
                ServiceItemVersion(
                    item=item,
                    number=1,
                    status=VersionStatus.PUBLISHED,
                    name=f"{template.name}{VARIANTS[variant]}",
                    conditions=conditions,
                    process=process,
                    published_at=now,
                    **{field: getattr(template, field) for field in copied},
                )
            )
        versions = ServiceItemVersion.objects.bulk_create(versions, batch_size=500)
        for item, version in zip(items, versions, strict=True):
            item.current_version = version
        ServiceItem.objects.bulk_update(items, ["current_version"], batch_size=500)
        materials = []
        themes = []
        through = ServiceItemVersion.themes.through
        for version, (template, _department, _variant) in zip(versions, plan, strict=True):
            for material in template.materials.all():
                materials.append(
                    Material(
                        version=version,
                        **{
                            f.attname: getattr(material, f.attname)
                            for f in Material._meta.concrete_fields
                            if f.attname not in {"id", "version_id"}
                        },
                    )
                )
            themes += [
                through(serviceitemversion_id=version.pk, theme_id=t.pk) for t in template.themes.all()
            ]
        Material.objects.bulk_create(materials, batch_size=1000)
        through.objects.bulk_create(themes, batch_size=1000)
    return {
        "items_created": len(items),
        "materials_created": len(materials),
        "published_items": ServiceItem.objects.filter(current_version__isnull=False).count(),
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)

    return {"p50_ms": at(50), "p95_ms": at(95), "p99_ms": at(99), "max_ms": round(ordered[-1], 3)}


def measure_inprocess(rounds: int) -> dict[str, Any]:
    """Wall time of the search and of the baseline lookup, in this process. Runs inside Django."""
    import time

    from django.db import connection

    from tongban.catalog import selectors

    selectors.search_terms("身份证")  # jieba's dictionary loads once per process
    codes = list(
        selectors.published_items().order_by("pk").values_list("implementation_code", flat=True)[::500]
    )
    results = {q: [i.implementation_code for i in selectors.search_published(q)] for q in QUERIES}
    queries: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        selectors.search_published(QUERIES[0])
    search: list[float] = []
    lookup: list[float] = []
    for _ in range(rounds):
        for n, query in enumerate(QUERIES):
            started = time.perf_counter()
            selectors.search_published(query)
            search.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            selectors.published_items().get(implementation_code=codes[n % len(codes)])
            lookup.append((time.perf_counter() - started) * 1000)
    s, b = _percentiles(search), _percentiles(lookup)
    return {
        "search": s,
        "lookup": b,
        "p95_ratio": round(s["p95_ms"] / b["p95_ms"], 1),
        "samples": len(search),
        "sql_per_search": len(queries),
        "hits": {q: len(found) for q, found in results.items()},
        "results": results,
        "codes": codes[:10],
    }


def _lua(paths: list[str]) -> str:
    """A wrk script that rotates through ``paths`` and prints the p95 that ``--latency`` lacks."""
    listed = ",\n".join(f'  "{p}"' for p in paths)
    return f"""
local paths = {{
{listed}
}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("p95_us %d\\n", latency:percentile(95)))
end
"""


def _wrk(base: str, paths: list[str], *, duration: float, connections: int, threads: int, pgid: int) -> Any:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="tongban-bench-") as script:
        script.write(_lua(paths))
        script.flush()
        return harness.wrk(
            base + paths[0],
            duration=duration,
            connections=connections,
            threads=min(threads, connections),
            script=Path(script.name),
            server_pgid=pgid,
            # Under load a slow search may exceed wrk's 5 s timeout: counted and reported, not fatal.
            allow_socket_errors=True,
        )


def _figures(result: Any) -> dict[str, Any]:
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p90_ms": round(result.p90_ms, 2),
        "p95_ms": round(result.p95_ms, 2) if result.p95_ms is not None else None,
        "p99_ms": round(result.p99_ms, 2),
        "requests": result.requests,
        "socket_errors": result.socket_errors,
        "cpu": result.cpu,
    }


def server_config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.server_threads,
        worker_connections=-(-args.connections // args.workers),
    )


def _warm(base: str, path: str, workers: int, timeout: float = 120) -> None:
    """Wait until every worker has loaded jieba's dictionary (seconds on first use): fire as many
    concurrent searches as twice the workers until all of them answer quickly."""

    def one(_: int) -> bool:
        try:
            return harness.request("GET", base + path, timeout=30).status == 200
        except (OSError, http.client.HTTPException):
            return False

    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(max_workers=2 * workers) as pool:
        while time.monotonic() < deadline:
            started = time.monotonic()
            if all(pool.map(one, range(2 * workers))) and time.monotonic() - started < 1.0:
                return
            time.sleep(0.5)
    raise BenchError(f"the workers were not warm after {timeout:.0f} s")


def _check(base: str, codes: list[str], expected: dict[str, list[str]]) -> None:
    """Before loading: the server finds what the selector found, and the lookups answer 200."""
    for query in QUERIES[:3]:
        reply = harness.request("GET", f"{base}/api/v1/items?q={quote(query)}&page_size=100")
        if reply.status != 200:
            raise BenchError(f"search {query!r} answered {reply.status} {reply.body[:300]!r}")
        found = [i["implementation_code"] for i in reply.json()["items"]]
        if found != expected[query]:
            pairs = enumerate(zip(found, expected[query], strict=False))
            diff = next(((i, a, b) for i, (a, b) in pairs if a != b), None)
            raise BenchError(
                f"search {query!r} over HTTP differs from the selector's result: "
                f"{len(found)}/{len(expected[query])} items, first difference {diff}"
            )
    for code in codes:
        reply = harness.request("GET", f"{base}/api/v1/items/{code}")
        if reply.status != 200:
            raise BenchError(f"/api/v1/items/{code} answered {reply.status} {reply.body[:300]!r}")


def measure(args: argparse.Namespace, *, db: str) -> dict[str, Any]:
    database = harness.postgres_database() if db == "postgres" else harness.sqlite_database()
    config = server_config(args)
    with database as (var_dir, database_url):
        port = harness.free_port(args.port)
        env = harness.server_env(var_dir=var_dir, database_url=database_url, port=port, redis_url=None)
        log(f"{db}: migrating a fresh database and seeding the demo")
        harness.manage(env, "migrate", "--noinput", "-v", "0")
        harness.manage(env, "seed_demo", "--json")
        log(f"{db}: creating {ITEMS} published items")
        populated = _shell(env, f"from bench.catalog_search import populate; r = populate({ITEMS})")
        log(f"{db}: {populated}")
        log(f"{db}: in-process search ({args.rounds} rounds of {len(QUERIES)} queries)")
        inprocess = _shell(
            env, f"from bench.catalog_search import measure_inprocess as m; r = m({args.rounds})"
        )
        log(f"{db}: in-process {json.dumps({k: inprocess[k] for k in ('search', 'lookup', 'p95_ratio')})}")
        search_paths = [f"/api/v1/items?q={quote(q)}" for q in QUERIES]
        lookup_paths = [f"/api/v1/items/{code}" for code in inprocess["codes"]]
        log(f"starting gunicorn on 127.0.0.1:{port} ({config.describe()})")
        http: dict[str, Any] = {}
        with harness.gunicorn(env, port=port, config=config) as server:
            _warm(server.base, search_paths[0], args.workers)
            _check(server.base, inprocess["codes"], inprocess["results"])
            runs = {
                "ping": ["/api/v1/ping"],
                "lookup": lookup_paths,
                "search": search_paths,
            }
            for label, connections in (("load", args.connections), ("unqueued", args.workers)):
                for name, paths in runs.items():
                    if args.warmup > 0:
                        _wrk(
                            server.base,
                            paths,
                            duration=args.warmup,
                            connections=connections,
                            threads=args.threads,
                            pgid=server.pgid,
                        )
                    log(f"{db}: wrk {name} with {connections} connections for {args.duration:.0f} s")
                    result = _wrk(
                        server.base,
                        paths,
                        duration=args.duration,
                        connections=connections,
                        threads=args.threads,
                        pgid=server.pgid,
                    )
                    http[f"{name}_{label}"] = _figures(result)
    unqueued = http["search_unqueued"]
    return {
        "search_p50_ms": inprocess["search"]["p50_ms"],
        "search_p95_ms": inprocess["search"]["p95_ms"],
        "search_p99_ms": inprocess["search"]["p99_ms"],
        "lookup_p95_ms": inprocess["lookup"]["p95_ms"],
        "p95_ratio": inprocess["p95_ratio"],
        "http_search_p95_ms": unqueued["p95_ms"],
        "http_search_rps": http["search_load"]["rps"],
        "http_lookup_rps": http["lookup_load"]["rps"],
        "http_rps_ratio": round(http["search_load"]["rps"] / http["lookup_load"]["rps"], 3),
        "inprocess": {k: v for k, v in inprocess.items() if k not in {"results", "codes"}},
        "http": http,
        "populated": populated,
    }


def _shell(env: dict[str, str], code: str) -> dict[str, Any]:
    """Run ``code`` (which sets ``r``) in ``manage.py shell`` and return ``r`` (JSON on the last line)."""
    out = harness.manage(env, "shell", "-c", f"{code}\nimport json; print(json.dumps(r, ensure_ascii=False))")
    return json.loads(out.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    args.rounds = getattr(args, "rounds", None) or 30
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    machine = harness.machine_info()
    results: dict[str, dict[str, Any]] = {}
    for db in databases:
        results[db] = measure(args, db=db)
        log(f"{db}: {json.dumps({k: v for k, v in results[db].items() if k not in {'http', 'inprocess'}})}")
    first = results[databases[0]]
    return {
        "benchmark": "catalog_search",
        "figure": "search_p95_ms",
        "value": first["search_p95_ms"],
        "baseline": first["lookup_p95_ms"],
        "ratio": first["p95_ratio"],
        "headline": databases[0],
        "aim": "search p95 < 30 ms",
        "items": ITEMS,
        "queries": list(QUERIES),
        "results": results,
        "server": server_config(args).describe(),
        "load": {
            "tool": "wrk (Lua script rotating the paths)",
            "connections": args.connections,
            "unqueued_connections": args.workers,
            "threads": args.threads,
            "duration_s": args.duration,
        },
        "machine": machine,
        "source": str(Path(__file__).name),
    }

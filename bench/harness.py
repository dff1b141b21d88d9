"""What every benchmark needs: a fresh database, a real server on 127.0.0.1, wrk, and clean-up.

Everything here is bounded in time and talks only to 127.0.0.1. The server runs in its own process
group and is stopped (TERM, then KILL) when its ``with`` block ends, whatever happened inside.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(8030, 8040)
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
BENCH_PG_DATABASE = "tongban_bench"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"

# Variables of the caller's environment that must not leak into the server under test.
_SCRUB = ("DATABASE_URL", "REDIS_URL", "TONGBAN_VAR_DIR", "TONGBAN_DEBUG", "TONGBAN_LOG_LEVEL", "TONGBAN_ENV")


class BenchError(RuntimeError):
    """A benchmark could not produce honest figures; the message says why."""


def log(message: str) -> None:
    """Progress goes to stderr; stdout's last line is reserved for the JSON result."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem_gib = round(int(first.split()[1]) / 1024 / 1024, 1)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": mem_gib,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_1m_at_start": load_average(),
    }


def load_average() -> float:
    """The 1-minute load average: figures taken while other work runs on the machine are low."""
    return round(os.getloadavg()[0], 2)


def require_local(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise BenchError(f"benchmarks talk only to 127.0.0.1; refusing {host!r}")


def free_port(preferred: int | None = None) -> int:
    candidates = [preferred] if preferred else list(PORTS)
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise BenchError(f"no free port among {candidates}")


# --- the environment of the server under test ------------------------------------------------


def server_env(*, var_dir: Path, database_url: str, port: int, redis_url: str | None) -> dict[str, str]:
    require_local(database_url if not database_url.startswith("sqlite") else "http://127.0.0.1")
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(
        TONGBAN_ENV="dev",
        TONGBAN_DEBUG="0",
        TONGBAN_LOG_LEVEL="warning",
        TONGBAN_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url,
        TONGBAN_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TONGBAN_STAFF_2FA="optional",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if redis_url:
        require_local(redis_url)
        env["REDIS_URL"] = redis_url
    return env


def manage(env: Mapping[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py`` with the server's environment; return its stdout."""
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"manage.py {' '.join(args)} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


@contextlib.contextmanager
def sqlite_database() -> Iterator[tuple[Path, str]]:
    """A fresh SQLite database in a temporary directory (also the server's var dir)."""
    var_dir = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    try:
        yield var_dir, f"sqlite:///{var_dir / 'bench.sqlite3'}"
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(
    admin_url: str = DEFAULT_PG_URL, name: str = BENCH_PG_DATABASE
) -> Iterator[tuple[Path, str]]:
    """A dedicated database (``tongban_bench`` unless ``name`` says another), dropped and created anew;
    dropped again at the end. Benchmarks that may run side by side use names of their own."""
    import psycopg

    if not name.startswith("tongban_bench"):
        raise BenchError(f"benchmark databases are named tongban_bench…, not {name}")
    require_local(admin_url)
    var_dir = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    parts = urlsplit(admin_url)
    database_url = parts._replace(path=f"/{name}").geturl()

    def recreate(create: bool) -> None:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            if create:
                conn.execute(f"CREATE DATABASE {name}")

    try:
        recreate(create=True)
    except psycopg.OperationalError as exc:
        shutil.rmtree(var_dir, ignore_errors=True)
        raise BenchError(f"PostgreSQL does not answer at {admin_url}: {exc}") from None
    try:
        yield var_dir, database_url
    finally:
        with contextlib.suppress(Exception):
            recreate(create=False)
        shutil.rmtree(var_dir, ignore_errors=True)


def flush_redis(url: str) -> None:
    """Empty the benchmark's own Redis database (db 15 by default) so runs do not see each other."""
    import redis

    require_local(url)
    try:
        redis.Redis.from_url(url, socket_timeout=5).flushdb()
    except redis.RedisError as exc:
        raise BenchError(f"Redis does not answer at {url}: {exc}") from None


# --- the server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 4
    # gthread: the most connections one worker holds. Keep-alive connections stay with the worker that
    # accepted them, and one worker often wins most of wrk's connections at start-up, leaving a core
    # idle; capping each worker at its share makes the others accept the rest (as a proxy's per-upstream
    # connection limit would). None: gunicorn's default (1000).
    worker_connections: int | None = None

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {"server": "gunicorn", **asdict(self)}
        if self.worker_class != "gthread":
            data.pop("threads")
            data.pop("worker_connections")
        return data


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT
    pgid: int  # the process group of the master and its workers


@contextlib.contextmanager
def gunicorn(
    env: Mapping[str, str], *, port: int, config: ServerConfig, start_timeout: float = 60
) -> Iterator[Server]:
    """Start gunicorn on 127.0.0.1:port, wait until /healthz answers, yield it, stop it."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "tongban.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(config.workers),
        "--worker-class",
        config.worker_class,
        "--log-level",
        "warning",
        "--backlog",
        "2048",
        "--timeout",
        "60",
    ]
    if config.worker_class == "gthread":
        command += ["--threads", str(config.threads)]
        if config.worker_connections:
            command += ["--worker-connections", str(config.worker_connections)]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=log_file, stderr=log_file, start_new_session=True
        )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    log_file.seek(0)
                    output = log_file.read()[-3000:].decode(errors="replace")
                    raise BenchError(f"gunicorn exited with {process.returncode}:\n{output}")
                with contextlib.suppress(OSError, http.client.HTTPException):
                    if request("GET", f"{base}/healthz", timeout=2).status == 200:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(f"gunicorn did not answer /healthz within {start_timeout:.0f} s")
                time.sleep(0.2)
            yield Server(base=base, pgid=process.pid)
        finally:
            _stop(process)


# --- HTTP client (stdlib: a handful of requests, not the load) -------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == "set-cookie" and value.startswith(f"{name}="):
                return value.split(";", 1)[0].split("=", 1)[1]
        return None


def request(
    method: str,
    url: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    require_local(url)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if payload is not None else {}
        all_headers.update(headers or {})
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), payload, all_headers)
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


# --- CPU accounting: how much of the machine went to something other than this benchmark -------


def _machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _cpu_s(pgid: int | None) -> tuple[float, float]:
    """CPU seconds used so far by the live processes of the server's process group, and by the
    PostgreSQL backends serving the benchmark database (their command line names it)."""
    server = database = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            rest = stat.read_text().rsplit(")", 1)[1].split()
            ticks = int(rest[11]) + int(rest[12])
            if pgid and int(rest[2]) == pgid:
                server += ticks
            elif BENCH_PG_DATABASE.encode() in (stat.parent / "cmdline").read_bytes():
                database += ticks
    hz = os.sysconf("SC_CLK_TCK")
    return server / hz, database / hz


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSample:
    wall: float
    busy: float
    server: float
    database: float
    children: float

    @classmethod
    def take(cls, server_pgid: int | None) -> CpuSample:
        server, database = _cpu_s(server_pgid)
        return cls(time.monotonic(), _machine_busy_s(), server, database, _children_cpu_s())


def cpu_shares(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Percent of the machine's CPU (all cores) used by the server, PostgreSQL, wrk and the rest."""
    capacity = (after.wall - before.wall) * (os.cpu_count() or 1)
    server = after.server - before.server
    database = after.database - before.database
    load_tool = after.children - before.children
    others = max(0.0, (after.busy - before.busy) - server - database - load_tool)
    return {
        "server_cpu_pct": round(100 * server / capacity, 1),
        "postgres_cpu_pct": round(100 * database / capacity, 1),
        "wrk_cpu_pct": round(100 * load_tool / capacity, 1),
        "other_cpu_pct": round(100 * others / capacity, 1),
    }


# --- wrk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    cpu: dict[str, float] = field(default_factory=dict)
    p95_ms: float | None = None  # printed by a script's done() as "p95_us N" (--latency stops at 90, 99)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Read ``wrk --latency`` output: requests/s, the latency distribution, errors."""
    percentiles = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)}
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", output, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not (total and rps and {"50", "90", "99"} <= set(percentiles)):
        raise BenchError(f"cannot read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, socket.groups()), strict=True))
        if socket
        else {}
    )
    p95 = re.search(r"^p95_us (\d+)$", output, re.M)
    return WrkResult(
        p95_ms=int(p95.group(1)) / 1000 if p95 else None,
        requests=int(total.group(1)),
        duration_s=_ms(total.group(2) + total.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=percentiles["50"],
        p90_ms=percentiles["90"],
        p99_ms=percentiles["99"],
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors,
    )


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed: apt-get install wrk (Debian/Ubuntu package 'wrk')")
    return path


def wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int,
    headers: Mapping[str, str] | None = None,
    allow_socket_errors: bool = False,
    server_pgid: int | None = None,
    script: Path | None = None,
) -> WrkResult:
    """Load ``url`` with wrk and fail loudly unless every response was a success.

    With ``server_pgid`` the result also says how the machine's CPU was shared during the run; a Lua
    ``script`` may choose each request's path (on the host of ``url``) and print ``p95_us N``.
    """
    require_local(url)
    command = [
        wrk_path(),
        "--latency",
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={max(1, round(duration))}s",
        "--timeout=5s",
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    if script is not None:
        command += ["--script", str(script)]
    command.append(url)
    before = CpuSample.take(server_pgid)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {duration + 60:.0f} s") from None
    after = CpuSample.take(server_pgid)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    result = replace(parse_wrk(done.stdout), cpu=cpu_shares(before, after))
    if result.non_2xx_3xx:
        raise BenchError(f"{url}: {result.non_2xx_3xx} of {result.requests} responses were errors")
    if result.requests == 0:
        raise BenchError(f"{url}: wrk completed no request")
    if not allow_socket_errors and any(result.socket_errors.values()):
        raise BenchError(f"{url}: socket errors {result.socket_errors}")
    return result


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (which stop servers) run."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

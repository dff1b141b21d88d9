"""Run one benchmark: ``python bench/run.py NAME [--db sqlite|postgres|both] [--duration S]``.

Each benchmark is a module ``bench/<NAME>.py`` with ``run(args) -> dict``. Progress goes to stderr;
the last line on stdout is one JSON object with the figures, the baseline and their ratio (or
``{"benchmark": NAME, "error": ...}`` and exit status 1 when the benchmark could not run honestly).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import DEFAULT_REDIS_URL, BenchError, log, stop_on_sigterm  # noqa: E402

BENCHMARKS = sorted(
    p.stem for p in Path(__file__).parent.glob("*.py") if p.stem not in {"run", "harness", "__init__"}
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=BENCHMARKS, help="the benchmark to run")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both", help="default: both")
    p.add_argument(
        "--duration", type=float, default=15.0, help="seconds of load per measurement (default 15)"
    )
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first (default 2)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    p.add_argument(
        "--worker-class",
        choices=["sync", "gthread"],
        default="sync",
        help="gunicorn worker class (default sync; see bench/README.md)",
    )
    p.add_argument("--server-threads", type=int, default=4, help="threads per gthread worker (default 4)")
    p.add_argument("--port", type=int, help="server port (default: the first free one in 8030-8039)")
    p.add_argument(
        "--redis", action="store_true", help="also measure each database with Redis-cached sessions"
    )
    p.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help=f"default {DEFAULT_REDIS_URL} (flushed)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or args.threads < 1 or args.workers < 1:
        parser().error("--duration, --connections, --threads and --workers must be positive")
    module = importlib.import_module(f"bench.{args.name}")
    started = time.monotonic()
    try:
        with stop_on_sigterm():
            result = module.run(args)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        print(json.dumps({"benchmark": args.name, "error": str(exc)}, ensure_ascii=False))
        return 1
    except (KeyboardInterrupt, SystemExit) as exc:
        log("interrupted; the server was stopped")
        print(json.dumps({"benchmark": args.name, "error": "interrupted"}))
        return exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 130
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The exchange's background jobs (run by the scheduler, see portal's schedule_jobs command)."""

from __future__ import annotations

from tongban.exchange import partitions, services


def expire_grants() -> int:
    return services.grants_expire()


def rollup_call_stats() -> int:
    return services.call_stats_rollup()


def maintain_partitions() -> list[str]:
    return partitions.ensure_partitions()

"""Monthly partitions of the call record on PostgreSQL (migration 0002 made the table partitioned).

``ensure_partitions`` creates the partitions of the current month and the next ``ahead`` months if
they are missing; scheduled daily, so a month's partition always exists before its first call (a
call that finds none lands in the default partition, and a month whose rows are in the default
partition can no longer get one of its own). ``drop_before`` detaches and drops whole months past
the retention period. SQLite keeps one table and both do nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from tongban.exchange.models import CallRecord

CHINA = dt.timezone(dt.timedelta(hours=8))


def _table() -> str:
    return CallRecord._meta.db_table


def _months(start: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    months = []
    first = start.replace(day=1)
    for _ in range(count):
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        months.append((first, following))
        first = following
    return months


def partition_name(month: dt.date) -> str:
    return f"{_table()}_p{month:%Y%m}"


def existing_partitions() -> list[str]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [_table()],
        )
        return [row[0] for row in cursor.fetchall()]


def ensure_partitions(*, ahead: int = 2, today: dt.date | None = None) -> list[str]:
    """Create the missing partitions from this month to ``ahead`` months on; returns the new ones."""
    if connection.vendor != "postgresql":
        return []
    today = today or dt.datetime.now(tz=CHINA).date()
    have = set(existing_partitions())
    created = []
    with connection.cursor() as cursor:
        for first, following in _months(today, ahead + 1):
            name = partition_name(first)
            if name in have:
                continue
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {_table()} "
                f"FOR VALUES FROM ('{first.isoformat()} 00:00+08') TO ('{following.isoformat()} 00:00+08')"
            )
            created.append(name)
    return created


def drop_before(month: dt.date) -> list[str]:
    """Drop the monthly partitions of months before ``month`` (retention); returns what was dropped."""
    if connection.vendor != "postgresql":
        return []
    cutoff = partition_name(month.replace(day=1))
    dropped = []
    with connection.cursor() as cursor:
        for name in existing_partitions():
            if name.endswith("_default") or name >= cutoff:
                continue
            cursor.execute(f"ALTER TABLE {_table()} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")
            dropped.append(name)
    return dropped

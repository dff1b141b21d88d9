"""On PostgreSQL, make the call record a table partitioned by month of ``requested_at``.

The call record grows by millions of rows a day at a province's scale; monthly partitions keep
each index small and let an old month be detached or dropped at once (docs/adr/0014-data-exchange.md).
The primary key of a partitioned table must include the partition key, so it becomes
(call_id, requested_at); call ids are random UUIDs, unique on their own. This migration creates
the partitions of the current month and the next two plus a default partition; the command
``exchange_partitions`` (scheduled daily) keeps creating the months ahead. SQLite keeps one table.
"""

import datetime

from django.db import migrations

TABLE = "exchange_callrecord"
# The model's indexes; the time index becomes a BRIN index, which for an append-only table in time
# order is a few pages per month instead of a B-tree entry per row.
INDEXES = {
    "exchange_call_consumer": "(consumer_department_id, requested_at)",
    "exchange_call_provider": "(provider_department_id, requested_at)",
    "exchange_call_time": "USING brin (requested_at)",
}


def _months(start: datetime.date, count: int) -> list[tuple[datetime.date, datetime.date]]:
    months = []
    first = start.replace(day=1)
    for _ in range(count):
        following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        months.append((first, following))
        first = following
    return months


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_unpartitioned")
    for name in INDEXES:
        run(f"DROP INDEX IF EXISTS {name}")
    run(
        f"CREATE TABLE {TABLE} (LIKE {TABLE}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (requested_at)"
    )
    run(f"DROP TABLE {TABLE}_unpartitioned")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (call_id, requested_at)")
    for name, columns in INDEXES.items():
        run(f"CREATE INDEX {name} ON {TABLE} {columns}")
    run(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    # Months in China Standard Time (UTC+8, no daylight saving), as the statistics count days.
    china = datetime.timezone(datetime.timedelta(hours=8))
    for first, following in _months(datetime.datetime.now(tz=china).date(), 3):
        run(
            f"CREATE TABLE {TABLE}_p{first:%Y%m} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{first.isoformat()} 00:00+08') TO ('{following.isoformat()} 00:00+08')"
        )


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(f"CREATE TABLE {TABLE}_plain (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    run(f"INSERT INTO {TABLE}_plain SELECT * FROM {TABLE}")
    run(f"DROP TABLE {TABLE}")
    run(f"ALTER TABLE {TABLE}_plain RENAME TO {TABLE}")
    run(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (call_id)")
    for name, columns in INDEXES.items():
        run(f"CREATE INDEX {name} ON {TABLE} {columns}")


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]

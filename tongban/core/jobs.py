"""Background jobs: the one door to the task queue (django-q2, docs/adr/0013-background-jobs.md).

Services call ``enqueue`` inside their transaction; the job is handed to the queue only once that
transaction commits, so a worker never picks up a job whose rows it cannot see yet, and a rolled
back change queues nothing. Jobs are named by dotted path and take plain arguments (ids), never
model instances: they re-read what they need.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_q.tasks import async_task


def enqueue(func: str, *args: Any, group: str = "", **kwargs: Any) -> None:
    """Run ``func`` (a dotted path) with ``args`` in a background worker after the commit."""

    def hand_over() -> None:
        async_task(func, *args, group=group or None, **kwargs)

    transaction.on_commit(hand_over)

"""Register the platform's periodic jobs with the scheduler (django-q2), idempotently.

Run once after each deployment (``./scripts/run`` does); ``manage.py qcluster`` then runs them.
Each job is looked up by name and updated, so running this again changes nothing but what changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_q.models import Schedule

# name -> (dotted function, schedule type, minutes between runs for MINUTES)
JOBS: dict[str, tuple[str, str, int | None]] = {
    "exchange: expire grants past their period": (
        "tongban.exchange.tasks.expire_grants",
        Schedule.DAILY,
        None,
    ),
    "exchange: recount the daily call statistics": (
        "tongban.exchange.tasks.rollup_call_stats",
        Schedule.MINUTES,
        5,
    ),
    "exchange: create the coming months' call-record partitions": (
        "tongban.exchange.tasks.maintain_partitions",
        Schedule.DAILY,
        None,
    ),
    "dashboards: refresh the rollups": ("tongban.dashboards.tasks.refresh_rollups", Schedule.MINUTES, 5),
    "licences: mark licences past their end date expired": (
        "tongban.licences.tasks.expire_licences",
        Schedule.DAILY,
        None,
    ),
    "supervision: sweep every open case and stage, escalate": (
        "tongban.supervision.tasks.sweep",
        Schedule.MINUTES,
        5,
    ),
    "reviews: invite the applicants of newly concluded cases to rate them": (
        "tongban.reviews.tasks.invite_completed",
        Schedule.MINUTES,
        5,
    ),
}


class Command(BaseCommand):
    help = "Register (or update) the periodic background jobs."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        for name, (func, kind, minutes) in JOBS.items():
            _schedule, created = Schedule.objects.update_or_create(
                name=name,
                defaults={
                    "func": func,
                    "schedule_type": kind,
                    "minutes": minutes,
                    "repeats": -1,
                },
            )
            if created:
                _schedule.next_run = now + dt.timedelta(minutes=1)
                _schedule.save(update_fields=["next_run"])
            self.stdout.write(f"{'registered' if created else 'kept'}: {name} ({func})")

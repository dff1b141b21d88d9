"""The periodic jobs are registered once, by name, and every function they name exists."""

from __future__ import annotations

import importlib

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from tongban.portal.management.commands.schedule_jobs import JOBS

pytestmark = pytest.mark.django_db


def test_schedule_jobs_is_idempotent_and_names_real_functions() -> None:
    call_command("schedule_jobs", verbosity=0)
    call_command("schedule_jobs", verbosity=0)
    assert Schedule.objects.count() == len(JOBS)
    for schedule in Schedule.objects.all():
        module, _, name = schedule.func.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), schedule.func
        assert schedule.repeats == -1

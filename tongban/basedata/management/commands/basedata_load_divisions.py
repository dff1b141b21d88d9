"""``manage.py basedata_load_divisions``: write the GB/T 2260 division table into the base (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tongban.basedata import services


class Command(BaseCommand):
    help = "Load today's GB/T 2260 divisions (python-stdnum's table) and Lu'an's townships into the base."

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.divisions_load()
        self.stdout.write(
            f"divisions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )

"""``manage.py dashboards_refresh [--full]``: bring the dashboards' rollups up to date now."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from tongban.dashboards import rollups


class Command(BaseCommand):
    help = "Refresh the dashboards' rollup tables (incrementally, or rebuilt with --full)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--full", action="store_true", help="Rebuild every rollup from the raw tables.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(rollups.refresh(full=options["full"]).as_dict()))

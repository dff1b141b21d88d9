"""``python manage.py appointment_slots --days 14``: create the coming working days' slots of every hall.

Run daily (cron); each run adds only the slots that are missing, from each hall's opening template.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from tongban.appointments.services import slots_generate


class Command(BaseCommand):
    help = "Create the missing appointment slots of every hall for the working days ahead."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--days", type=int, default=14, help="How many days ahead, today included.")

    def handle(self, *args: Any, **options: Any) -> None:
        created = slots_generate(days=options["days"])
        self.stdout.write(f"{created} slots created for the next {options['days']} days")

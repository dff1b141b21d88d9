"""Create the coming months' partitions of the call record (PostgreSQL); optionally drop old ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.exchange import partitions


class Command(BaseCommand):
    help = "Create the monthly partitions of the exchange call record ahead of time (PostgreSQL only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ahead", type=int, default=2, help="months after this one (default 2)")
        parser.add_argument(
            "--drop-before", metavar="YYYY-MM", help="drop the partitions of months before this one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["ahead"] < 0 or options["ahead"] > 24:
            raise CommandError("--ahead must be between 0 and 24")
        created = partitions.ensure_partitions(ahead=options["ahead"])
        for name in created:
            self.stdout.write(f"created {name}")
        if options["drop_before"]:
            try:
                month = dt.date.fromisoformat(options["drop_before"] + "-01")
            except ValueError:
                raise CommandError("--drop-before takes a month as YYYY-MM") from None
            for name in partitions.drop_before(month):
                self.stdout.write(f"dropped {name}")
        self.stdout.write(f"partitions: {', '.join(partitions.existing_partitions()) or '(not PostgreSQL)'}")

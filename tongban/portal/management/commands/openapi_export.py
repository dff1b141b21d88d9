"""Write the live API's OpenAPI document to docs/api/openapi-v1.json (or check that it is current)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.portal.openapi import OPENAPI_PATH, REGENERATE_HINT, render_openapi


class Command(BaseCommand):
    help = "Write the OpenAPI document of /api/v1/ to docs/api/openapi-v1.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", type=Path, default=OPENAPI_PATH, help=f"Where to write (default {OPENAPI_PATH})."
        )
        parser.add_argument(
            "--check", action="store_true", help="Write nothing; fail if the file differs from the live API."
        )

    def handle(self, *args: Any, output: Path, check: bool, **options: Any) -> None:
        document = render_openapi()
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if check:
            if current != document:
                raise CommandError(f"{output} is not the live API's document. {REGENERATE_HINT}")
            self.stdout.write(f"{output} is up to date.")
            return
        if current == document:
            self.stdout.write(f"{output} is already up to date.")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}."))

"""Walk the audit trail's hash chain: ``OK`` with the number of rows, or the first tampered row.

Exit code 0 when the chain is intact, 1 when it is not (for monitoring and cron). ``--json`` prints
one JSON object instead: ``{"ok": true, "checked": N}`` or
``{"ok": false, "checked": N, "first_bad_seq": S, "reason": "..."}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tongban.core.audit import verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exit 1 and name the first tampered row if it is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify()
        if options["json"]:
            payload = asdict(result)
            if result.ok:
                payload = {"ok": True, "checked": result.checked}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
        elif result.ok:
            self.stdout.write(f"OK: {result.checked} audit event(s), the hash chain is intact")
        else:
            self.stderr.write(
                f"TAMPERED: row #{result.first_bad_seq}: {result.reason} "
                f"({result.checked} row(s) before it verified)"
            )
        if not result.ok:
            raise SystemExit(1)

"""``python manage.py seed_demo``: build the demo city (六安市), its accounts and its service catalogue.

Safe to run again: only what is missing is created. Lives in the portal because it seeds several
apps (identity, then catalog, then cases), which the domain apps may not import from each other that
way round.

seed_demo                                   seed, then print a summary and the accounts table
seed_demo --json                            seed, then print only the accounts as a JSON array
seed_demo --print-accounts --from-json F    print the table of accounts saved by --json (no seeding)
seed_demo --people N                        N people in the population base (default 2000)
"""

from __future__ import annotations

import json
import time
import unicodedata
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tongban.appointments.demo import seed as seed_appointments
from tongban.basedata.demo import load as seed_basedata
from tongban.bundles.demo import seed as seed_bundles
from tongban.cases.demo import seed as seed_cases
from tongban.cases.history import load_demo as seed_history
from tongban.catalog.demo import seed_catalog
from tongban.core.errors import DomainError
from tongban.dashboards.demo import load as seed_dashboards
from tongban.exchange.demo import load as seed_exchange
from tongban.identity.demo import seed_demo
from tongban.licences.demo import load as seed_licences
from tongban.resources.demo import load as seed_resources
from tongban.reviews.demo import load as seed_reviews
from tongban.supervision.demo import load as seed_supervision

ROLE_LABELS = {
    "administrator": "管理员 administrator",
    "supervisor": "监察人员 supervisor",
    "window_clerk": "综合窗口人员 window clerk",
    "approver": "审批人员 approver",
    "data_officer": "数据管理员 data officer",
    "citizen": "个人用户 citizen",
    "enterprise": "企业用户 enterprise",
    "department_system": "部门业务系统 (client id / secret)",
}
# (heading, key in the account dict)
COLUMNS = (
    ("role", "role"),
    ("login (username / ID / credit code)", "username"),
    ("password", "password"),
    ("name", "name"),
    ("department", "department"),
)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def accounts_table(accounts: list[dict[str, Any]]) -> str:
    """A plain-text table of demo accounts, aligned for Chinese (double-width) characters too."""
    rows = [[h for h, _ in COLUMNS]]
    for account in accounts:
        cells = {**account, "role": ROLE_LABELS.get(str(account.get("role")), str(account.get("role")))}
        rows.append([str(cells.get(key) or "-") for _, key in COLUMNS])
    widths = [max(_width(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Build the demo city of Lu'an (六安市): departments, one account per role and kind, service items."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print only the accounts, as a JSON array.")
        parser.add_argument(
            "--print-accounts", action="store_true", help="Print the accounts as a table (no summary)."
        )
        parser.add_argument(
            "--from-json",
            metavar="FILE",
            help="With --print-accounts: read the accounts from FILE (written by --json) instead of seeding.",
        )
        parser.add_argument(
            "--people",
            type=int,
            default=2000,
            metavar="N",
            help="People in the population base (default 2000; a million works, best on PostgreSQL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_json"]:
            if not options["print_accounts"] or options["json"]:
                raise CommandError("--from-json goes with --print-accounts only.")
            self.stdout.write(accounts_table(self._read_accounts(Path(options["from_json"]))))
            return
        if options["people"] < 0:
            raise CommandError("--people must not be negative.")
        started = time.monotonic()
        try:
            with transaction.atomic():
                result = seed_demo()
                basedata = seed_basedata(people=options["people"])
                catalog = seed_catalog()
                seed_bundles()
                seed_appointments()
                resources = seed_resources()
                # Licences before the exchange (its licence-library calls read them) and before
                # cases: applications fetch them (免提交) and approvals issue them.
                licences = seed_licences()
                exchange = seed_exchange()
                cases = seed_cases()
                seed_history()
                seed_supervision()
                seed_reviews()
                seed_dashboards()
        except DomainError as exc:
            raise CommandError(f"demo data refused: {exc.code}: {exc.message} {exc.as_dict()}") from exc
        accounts = [a.as_dict() for a in [*result.accounts, *cases.accounts]]
        accounts += [
            {
                "role": "department_system",
                "username": system["client_id"],
                "password": system["secret"],
                "name": system["name"],
                "department": "",
                "kind": "system",
            }
            for system in exchange.systems
        ]
        summary = (
            f"demo data: {result.departments_created} departments, {result.accounts_created} accounts, "
            f"{result.agents_created} agent links, {catalog.items_created} service items created and "
            f"{cases.cases_created} demo cases, base databases: {basedata.summary()}, "
            f"{resources.resources_created} data resources, {exchange.grants_created} exchange grants and "
            f"{exchange.calls_made} exchange calls, {licences.types_created} licence types and "
            f"{licences.licences_created} electronic licences, in {time.monotonic() - started:.1f} s"
            + (
                ""
                if result.changed
                or catalog.changed
                or cases.changed
                or basedata.changed
                or resources.changed
                or exchange.changed
                or licences.changed
                else " (everything was already there)"
            )
        )
        if options["json"]:  # stdout carries only the accounts; the summary goes to stderr
            self.stderr.write(summary)
            self.stdout.write(json.dumps(accounts, ensure_ascii=False, indent=2))
            return
        if not options["print_accounts"]:
            self.stdout.write(summary)
        self.stdout.write(accounts_table(accounts))

    @staticmethod
    def _read_accounts(path: Path) -> list[dict[str, Any]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read accounts from {path}: {exc}") from exc
        if not isinstance(data, list) or not all(isinstance(a, dict) and "username" in a for a in data):
            raise CommandError(f"{path} is not a list of accounts written by seed_demo --json.")
        return data

"""Register a department system as an OpenID Connect client from the command line.

    python manage.py oidc_client_create --name 不动产登记系统 \
        --redirect-uri https://bdc.example.gov.cn/callback --json

prints ``{"client_id": ..., "client_secret": ..., ...}``. The secret is shown only here: the
platform keeps a hash of it. Without ``--department`` the system belongs to the top of the
department tree (when there is exactly one).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import DomainError
from tongban.identity import selectors_clients, services
from tongban.identity.models import Department
from tongban.identity.services.clients import AUTHORIZATION_CODE, CLIENT_CREDENTIALS, CONFIDENTIAL, PUBLIC


class Command(BaseCommand):
    help = "Register a department system as an OpenID Connect client and print its credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The system's name, as people know it.")
        parser.add_argument(
            "--redirect-uri",
            action="append",
            default=[],
            dest="redirect_uris",
            metavar="URI",
            help="Where people return after signing in (repeat for several).",
        )
        parser.add_argument(
            "--post-logout-redirect-uri",
            action="append",
            default=[],
            dest="post_logout_redirect_uris",
            metavar="URI",
            help="Where people may return after an RP-initiated logout (repeat for several).",
        )
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument(
            "--confidential",
            action="store_const",
            const=CONFIDENTIAL,
            dest="client_type",
            help="A server-side system that keeps a secret (the default).",
        )
        kind.add_argument(
            "--public",
            action="store_const",
            const=PUBLIC,
            dest="client_type",
            help="A mobile or browser app that cannot keep a secret (PKCE only).",
        )
        parser.add_argument(
            "--grant",
            choices=[AUTHORIZATION_CODE, CLIENT_CREDENTIALS],
            default=AUTHORIZATION_CODE,
            help="authorization-code signs people in; client-credentials is a machine client.",
        )
        parser.add_argument(
            "--department",
            metavar="CODE",
            help="Code of the owning department (default: the top department).",
        )
        parser.add_argument(
            "--no-skip-authorization",
            action="store_false",
            dest="skip_authorization",
            help="Show people the consent screen (by default government systems skip it).",
        )
        parser.add_argument("--json", action="store_true", help="Print the credentials as one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        department = self._department(options["department"])
        try:
            application, client_secret = services.client_register(
                name=options["name"],
                redirect_uris=options["redirect_uris"],
                post_logout_redirect_uris=options["post_logout_redirect_uris"],
                client_type=options["client_type"] or CONFIDENTIAL,
                grant_type=options["grant"],
                department=department,
                skip_authorization=options["skip_authorization"],
                by=None,
            )
        except DomainError as exc:
            details = "; ".join(str(m) for messages in exc.fields.values() for m in messages)
            raise CommandError(f"{exc.message}{': ' + details if details else ''}") from None
        issuer = settings.PUBLIC_URL
        result = {
            "client_id": application.client_id,
            "client_secret": client_secret,
            "name": application.name,
            "client_type": application.client_type,
            "grant_type": application.authorization_grant_type,
            "redirect_uris": application.redirect_uris.split(),
            "post_logout_redirect_uris": application.post_logout_redirect_uris.split(),
            "skip_authorization": application.skip_authorization,
            "department": department.code,
            "issuer": issuer,
            "discovery_url": f"{issuer}/.well-known/openid-configuration",
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        for key, value in result.items():
            shown = " ".join(value) if isinstance(value, list) else value
            self.stdout.write(f"{key}: {shown if shown not in (None, '') else '-'}")
        if client_secret:
            self.stdout.write(self.style.WARNING("The secret is not stored in readable form; keep it now."))

    def _department(self, code: str | None) -> Department:
        if code:
            department = Department.objects.filter(code=code).first()
            if department is None:
                raise CommandError(f"No department has the code {code!r}.")
            return department
        department = selectors_clients.root_department()
        if department is None:
            raise CommandError(
                "Give --department CODE: there is not exactly one top-level department to own the system."
            )
        return department

"""Identity pages for staff (roles, second factor, department systems) and the lockout answer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.identity import selectors


def _locked_identifier(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The login identifier that is locked, from what django-axes passes or left on the request."""
    for source in (credentials, getattr(request, "axes_credentials", None)):
        if isinstance(source, dict) and source.get("username"):
            return str(source["username"])
    return ""


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """What django-axes answers while a login identifier is locked: when it unlocks, in plain words.

    The page (or, under /api/, the JSON error ``account_locked`` with ``unlock_at``) has status 429.
    """
    identifier = _locked_identifier(request, credentials)
    unlock_at = selectors.lockout_unlock_at(identifier) if identifier else None
    if unlock_at is not None:
        when = timezone.localtime(unlock_at).strftime("%Y-%m-%d %H:%M")
        message = _("Too many wrong passwords. This account is locked until %(when)s.") % {"when": when}
    else:
        message = _("Too many wrong passwords. This account is locked for a while; try again later.")
    if request.path.startswith("/api/"):
        body = {
            "error": {
                "code": "account_locked",
                "message": message,
                "unlock_at": unlock_at.isoformat() if unlock_at else None,
            }
        }
        return JsonResponse(body, status=429)
    return render(
        request, "identity/locked_out.html", {"message": message, "unlock_at": unlock_at}, status=429
    )

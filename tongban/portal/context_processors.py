from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tongban.identity import selectors


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = selectors.roles_of(user) if user is not None and user.is_authenticated else frozenset()
    return {
        "site_name": settings.TONGBAN_SITE_NAME,
        "user_roles": roles,
    }

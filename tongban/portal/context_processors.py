from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tongban.identity import selectors
from tongban.identity.models import User
from tongban.notifications import selectors as notification_selectors


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"site_name": settings.TONGBAN_SITE_NAME, "user_roles": frozenset(), "unread_count": 0}
    return {
        "site_name": settings.TONGBAN_SITE_NAME,
        "user_roles": selectors.roles_of(user),
        # One COUNT for the header badge; nothing at all for visitors.
        "unread_count": notification_selectors.unread_count(user),
    }

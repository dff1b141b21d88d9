"""Guards for staff pages: logged in, a staff account, holding one of the roles, second factor done."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from tongban.identity import selectors

ViewFunc = Callable[..., HttpResponse]


def second_factor_redirect(request: HttpRequest) -> HttpResponse | None:
    """Where a staff member must go before staff pages: enrol (policy "required") or verify."""
    user = request.user
    if getattr(user, "is_verified", lambda: False)():
        return None
    has_device = selectors.has_confirmed_totp_device(user)  # type: ignore[arg-type]
    if has_device:
        return redirect(f"{_url('identity:otp_verify')}?next={request.get_full_path()}")
    if settings.STAFF_2FA == "required":
        return redirect(f"{_url('identity:otp_setup')}?next={request.get_full_path()}")
    return None


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


def staff_required(*roles: str) -> Callable[[ViewFunc], ViewFunc]:
    """Allow staff holding any of ``roles`` (any staff if none given); 403 for everyone else."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not getattr(user, "is_staff_member", False):
                raise PermissionDenied(_("This page is for government staff only."))
            if roles and not selectors.has_role(user, *roles):  # type: ignore[arg-type]
                raise PermissionDenied(_("Your account does not have the role this page requires."))
            pending = second_factor_redirect(request)
            if pending is not None:
                return pending
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

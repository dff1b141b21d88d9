"""Guards for staff pages: logged in, a staff account, holding one of the roles, second factor done."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from tongban.identity import permissions, selectors

ViewFunc = Callable[..., HttpResponse]


def second_factor_redirect(request: HttpRequest) -> HttpResponse | None:
    """Where a staff member must go before staff pages: enrol (policy "required") or verify."""
    pending = permissions.second_factor_pending(request.user)  # type: ignore[arg-type]
    if pending is None:
        return None
    target = reverse("identity:otp_verify" if pending == "verify" else "identity:otp_setup")
    return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")


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
            if roles and not selectors.has_role(user, *roles):
                raise PermissionDenied(_("Your account does not have the role this page requires."))
            pending = second_factor_redirect(request)
            if pending is not None:
                return pending
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

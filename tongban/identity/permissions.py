"""The one place that says who may do what with identity objects."""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import PermissionDenied
from tongban.identity import selectors
from tongban.identity.choices import Role
from tongban.identity.models import Department, User


def ensure_has_role(user: User, *roles: str) -> None:
    if not selectors.has_role(user, *roles):
        raise PermissionDenied(
            _("Your account does not have the role this page requires."), code="role_required"
        )


def ensure_is_administrator(user: User) -> None:
    ensure_has_role(user, Role.ADMINISTRATOR)


def ensure_can_manage_staff(by: User, department: Department | None) -> None:
    ensure_is_administrator(by)
    if not selectors.department_is_visible(by, department):
        raise PermissionDenied(
            _("This department is outside your jurisdiction."), code="department_out_of_scope"
        )


def second_factor_pending(user: User) -> Literal["verify", "enrol"] | None:
    """What a staff session still lacks before it may touch staff data, or None.

    Anyone with a confirmed authenticator must have verified it in this session ("verify"); under
    the "required" policy (settings.STAFF_2FA) staff without one must enrol first ("enrol").
    Citizens and enterprises are never asked. ``is_verified`` is set by django-otp's middleware.
    """
    if not getattr(user, "is_staff_member", False):
        return None
    if getattr(user, "is_verified", lambda: False)():
        return None
    if selectors.has_confirmed_totp_device(user):
        return "verify"
    if settings.STAFF_2FA == "required":
        return "enrol"
    return None

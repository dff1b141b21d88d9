"""The one place that says who may do what with identity objects."""

from __future__ import annotations

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

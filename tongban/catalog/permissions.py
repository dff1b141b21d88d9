"""Who may change the catalogue: administrators whose jurisdiction covers the implementing department."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongban.core.errors import PermissionDenied
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import Role
from tongban.identity.models import Department, User


def can_edit_items_of(user: User, department: Department | None) -> bool:
    return identity_selectors.has_role(user, Role.ADMINISTRATOR) and identity_selectors.department_is_visible(
        user, department
    )


def ensure_can_edit_items_of(user: User, department: Department | None) -> None:
    if not identity_selectors.has_role(user, Role.ADMINISTRATOR):
        raise PermissionDenied(
            _("Only administrators may edit the service catalogue."), code="catalog_admin_required"
        )
    if not identity_selectors.department_is_visible(user, department):
        raise PermissionDenied(
            _("This department is outside your jurisdiction."), code="department_out_of_scope"
        )

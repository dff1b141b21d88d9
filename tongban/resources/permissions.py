"""Who may do what with the data resource catalogue.

- The catalogue's users are staff holding the data officer or administrator role.
- A provider department's data officers and administrators register, edit and submit its
  resources, propose corrections of its published ones, answer demands on them and keep their
  responsibility list.
- The catalogue office (编目审核机构) reviews: the data officers and administrators of the department
  whose code is ``settings.TONGBAN_RESOURCES_OFFICE`` (default ``luan-sjj``, 六安市数据资源管理局).
  The office may also act for any provider (registering a department's catalogue on its behalf is
  part of its job) and sees every resource in every state.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import PermissionDenied
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import Role
from tongban.identity.models import Department, User

CATALOGUE_ROLES = (Role.DATA_OFFICER, Role.ADMINISTRATOR)
DEFAULT_OFFICE = "luan-sjj"


def office_code() -> str:
    """The code of the department whose data officers and administrators review the catalogue."""
    return str(getattr(settings, "TONGBAN_RESOURCES_OFFICE", "") or DEFAULT_OFFICE)


def uses_catalogue(user: User) -> bool:
    return bool(getattr(user, "is_staff_member", False)) and identity_selectors.has_role(
        user, *CATALOGUE_ROLES
    )


def is_office(user: User) -> bool:
    department = getattr(user, "department", None)
    return uses_catalogue(user) and department is not None and department.code == office_code()


def acts_for(user: User, department: Department | None) -> bool:
    """May ``user`` write the catalogue entries of ``department`` (their own, or any for the office)?"""
    if department is None or not uses_catalogue(user):
        return False
    return is_office(user) or user.department_id == department.pk


def ensure_uses_catalogue(user: User) -> None:
    if not uses_catalogue(user):
        raise PermissionDenied(
            _("Only data officers and administrators work with the data resource catalogue."),
            code="resources_role_required",
        )


def ensure_acts_for(user: User, department: Department | None) -> None:
    ensure_uses_catalogue(user)
    if not acts_for(user, department):
        raise PermissionDenied(
            _("Only the providing department's data officers may change its resources."),
            code="resources_not_provider",
        )


def ensure_is_office(user: User) -> None:
    ensure_uses_catalogue(user)
    if not is_office(user):
        raise PermissionDenied(
            _("Only the catalogue office reviews data resources."), code="resources_office_only"
        )


def sees_contacts(user: User, *, provider: Department, responsible: Department) -> bool:
    """Whether the full contact of a responsibility entry is shown: the provider, the responsible
    department and the office need it; everyone else sees it masked."""
    return acts_for(user, provider) or (uses_catalogue(user) and user.department_id == responsible.pk)

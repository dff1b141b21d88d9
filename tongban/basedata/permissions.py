"""Who may do what with the base databases (docs/adr/0015-base-databases-and-imports.md).

- Data officers act for their own department: they import its files, run reconciliations with its
  records, see its jobs, runs and reports, and work the data-quality tasks assigned to it.
- Administrators act for every department of their jurisdiction (the city's see the whole city).
- Any data officer or administrator may look a record up by its key; the values are masked unless
  the asking user acts for the record's source department, which maintains it.
- Nobody else reaches these pages; a job, run or task of another department does not exist for them.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import PermissionDenied
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import Role
from tongban.identity.models import Department, User

DATA_ROLES = (Role.DATA_OFFICER, Role.ADMINISTRATOR)


def is_data_staff(user: User) -> bool:
    return bool(getattr(user, "is_staff_member", False)) and identity_selectors.has_role(user, *DATA_ROLES)


def ensure_data_staff(user: User | None) -> None:
    if user is None or not is_data_staff(user):
        raise PermissionDenied(
            _("Only data officers and administrators work with the base databases."),
            code="data_role_required",
        )


def department_scope(user: User, field: str) -> Q:
    """Rows whose ``field`` (a department foreign key) is a department the user acts for."""
    if not is_data_staff(user) or user.department_id is None:
        return Q(pk__in=[])
    scope = Q(pk__in=[])
    if identity_selectors.has_role(user, Role.DATA_OFFICER):
        scope |= Q(**{f"{field}_id": user.department_id})
    if identity_selectors.has_role(user, Role.ADMINISTRATOR) and user.department is not None:
        prefix = identity_selectors.jurisdiction_prefix(user.department)
        scope |= Q(**{f"{field}__division_code__startswith": prefix})
    return scope


def departments_acted_for(user: User) -> Q:
    """The departments themselves (a filter on Department)."""
    if not is_data_staff(user) or user.department_id is None:
        return Q(pk__in=[])
    scope = Q(pk__in=[])
    if identity_selectors.has_role(user, Role.DATA_OFFICER):
        scope |= Q(pk=user.department_id)
    if identity_selectors.has_role(user, Role.ADMINISTRATOR) and user.department is not None:
        scope |= Q(division_code__startswith=identity_selectors.jurisdiction_prefix(user.department))
    return scope


def acts_for(user: User | None, department: Department | None) -> bool:
    if user is None or department is None or not is_data_staff(user):
        return False
    if identity_selectors.has_role(user, Role.DATA_OFFICER) and user.department_id == department.pk:
        return True
    return identity_selectors.has_role(user, Role.ADMINISTRATOR) and identity_selectors.department_is_visible(
        user, department
    )


def ensure_acts_for(
    user: User | None, department: Department | None, *, code: str = "not_your_department"
) -> None:
    ensure_data_staff(user)
    if not acts_for(user, department):
        raise PermissionDenied(
            _("Only the data officers of that department, or an administrator over it, may do this."),
            code=code,
        )

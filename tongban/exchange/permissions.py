"""Who may do what with grants, sources and call records (docs/adr/0014-data-exchange.md).

- A consumer department's data officers (and administrators whose jurisdiction covers it) apply
  for grants, see their department's grants and the calls its systems made.
- A provider department's data officers decide, suspend and resume grants of their resources and
  see who called their data and why; administrators whose jurisdiction covers the provider too.
- Administrators register upstream systems and resource sources and see the statistics of their
  jurisdiction.
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
    return identity_selectors.has_role(user, *DATA_ROLES)


def is_administrator(user: User) -> bool:
    return identity_selectors.has_role(user, Role.ADMINISTRATOR)


def acts_for(user: User, department: Department | None) -> bool:
    """A data officer of ``department`` itself, or an administrator whose jurisdiction covers it."""
    if department is None or not user.is_authenticated:
        return False
    if identity_selectors.has_role(user, Role.DATA_OFFICER) and user.department_id == department.pk:
        return True
    return is_administrator(user) and identity_selectors.department_is_visible(user, department)


def ensure_acts_for(user: User, department: Department | None, *, code: str = "not_your_department") -> None:
    if not acts_for(user, department):
        raise PermissionDenied(
            _("Only the data officers of that department (or an administrator over it) may do this."),
            code=code,
        )


def ensure_administrator(user: User) -> None:
    if not is_administrator(user):
        raise PermissionDenied(_("Only administrators may do this."), code="administrator_required")


def department_scope_q(user: User, *fields: str) -> Q:
    """Rows whose department in any of ``fields`` the user acts for: their own department for a
    data officer, the jurisdiction for an administrator; nothing for anyone else."""
    if not user.is_authenticated or user.department_id is None:
        return Q(pk__in=[])
    query = Q(pk__in=[])
    if identity_selectors.has_role(user, Role.DATA_OFFICER):
        for field in fields:
            query |= Q(**{f"{field}_id": user.department_id})
    if is_administrator(user):
        visible = identity_selectors.departments_in_jurisdiction(user).values("pk")
        for field in fields:
            query |= Q(**{f"{field}_id__in": visible})
    return query

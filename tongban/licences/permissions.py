"""Who may do what with licences (docs/adr/0017-electronic-licences.md).

- The issuing department's approvers, data officers and administrators issue, revoke and import its
  licences; an administrator whose jurisdiction covers the department may too.
- Administrators over a department create and rotate its signing keys.
- Holders (a citizen, or an enterprise account) see their own licences and authorise their use.
- Staff read a licence in full only through an authorisation for a case their department handles.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongban.core.errors import PermissionDenied
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User

ISSUING_ROLES = (Role.APPROVER, Role.DATA_OFFICER, Role.ADMINISTRATOR)


def holder_id_of(user: User) -> str:
    """The holder ID a portal account's licences are filed under ("" for staff)."""
    if user.kind == AccountKind.CITIZEN:
        return user.resident_id or ""
    if user.kind == AccountKind.ENTERPRISE:
        return user.credit_code or ""
    return ""


def is_administrator_over(user: User, department: Department | None) -> bool:
    return (
        department is not None
        and identity_selectors.has_role(user, Role.ADMINISTRATOR)
        and identity_selectors.department_is_visible(user, department)
    )


def acts_for(user: User, department: Department | None) -> bool:
    """Staff of ``department`` who may issue its licences, or an administrator over it."""
    if department is None or not user.is_authenticated or user.kind != AccountKind.STAFF:
        return False
    if user.department_id == department.pk and identity_selectors.has_role(user, *ISSUING_ROLES):
        return True
    return is_administrator_over(user, department)


def ensure_acts_for(user: User, department: Department | None) -> None:
    if not acts_for(user, department):
        raise PermissionDenied(
            _("Only the issuing department's staff (or an administrator over it) may do this."),
            code="not_issuing_department",
        )


def ensure_key_administrator(user: User, department: Department) -> None:
    if not is_administrator_over(user, department):
        raise PermissionDenied(
            _("Only an administrator over the department manages its signing keys."),
            code="administrator_required",
        )


def is_licence_staff(user: User) -> bool:
    return (
        user.is_authenticated
        and user.kind == AccountKind.STAFF
        and identity_selectors.has_role(user, *ISSUING_ROLES)
    )

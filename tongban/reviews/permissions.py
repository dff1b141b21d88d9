"""Who may do what with reviews (docs/adr/0019-good-and-bad-reviews.md).

- The applicant of a concluded case (or an agent of the enterprise applicant) rates it online once,
  and re-rates it once after its rectification is closed. Anyone else learns nothing (404).
- Staff of the handling department work its rectifications: callbacks, closing with a result, and
  appeals against a rating. Nobody else may file an appeal (403).
- Supervisors (and administrators) read the reviews, rectifications and appeals of their
  jurisdiction (ADR 5); a supervisor over the department decides an appeal, never one they filed.
- Window clerks start on-site visits; administrators set the rectification time limit of their
  jurisdiction's localities.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongban.core.errors import PermissionDenied
from tongban.identity import selectors as identity_selectors
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User

OVERSIGHT_ROLES = (Role.SUPERVISOR, Role.ADMINISTRATOR)
DEPARTMENT_ROLES = tuple(Role.values)


def is_staff(user: User) -> bool:
    return bool(user.is_authenticated and user.kind == AccountKind.STAFF and user.is_active)


def is_department_staff(user: User, department_id: int) -> bool:
    """A staff member of the department itself, holding any staff role."""
    return (
        is_staff(user)
        and user.department_id == department_id
        and identity_selectors.has_role(user, *DEPARTMENT_ROLES)
    )


def oversees(user: User, department: Department) -> bool:
    return (
        is_staff(user)
        and identity_selectors.has_role(user, *OVERSIGHT_ROLES)
        and identity_selectors.department_is_visible(user, department)
    )


def ensure_department_staff(user: User, department: Department) -> None:
    if not is_department_staff(user, department.pk):
        raise PermissionDenied(
            _("Only the staff of the department that handled the case may do this."),
            code="not_handling_department",
        )


def can_decide_appeal(user: User, department: Department) -> bool:
    return (
        is_staff(user)
        and identity_selectors.has_role(user, Role.SUPERVISOR)
        and identity_selectors.department_is_visible(user, department)
    )


def ensure_can_decide_appeal(user: User, department: Department, filed_by_id: int) -> None:
    if not can_decide_appeal(user, department):
        raise PermissionDenied(
            _("Only a supervisor whose jurisdiction covers the department decides its appeals."),
            code="supervisor_required",
        )
    if user.pk == filed_by_id:
        raise PermissionDenied(
            _("An appeal is decided by someone other than the person who filed it."),
            code="appeal_own",
        )


def ensure_window_clerk(user: User) -> None:
    if not (
        is_staff(user)
        and user.department is not None
        and identity_selectors.has_role(user, Role.WINDOW_CLERK)
    ):
        raise PermissionDenied(_("Only window clerks start on-site ratings."), code="window_clerk_required")


def ensure_policy_administrator(user: User, division_prefix: str) -> None:
    """An administrator sets the time limit of a locality inside their own jurisdiction."""
    if not (
        is_staff(user)
        and user.department is not None
        and identity_selectors.has_role(user, Role.ADMINISTRATOR)
        and division_prefix.startswith(identity_selectors.jurisdiction_prefix(user.department))
    ):
        raise PermissionDenied(
            _("Only an administrator whose jurisdiction covers this locality sets its time limit."),
            code="administrator_required",
        )

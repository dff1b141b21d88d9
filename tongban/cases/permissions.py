"""Who may act on a case (ADR 11).

- The applicant, or an agent the enterprise applicant has authorised, acts on their own cases.
- Window clerks accept any item of any department within their jurisdiction (一窗受理): a clerk at
  the city's government service centre serves the whole city, a county clerk the county.
- Approvers act for their own department: pre-review and acceptance of its cases, the tasks of
  its branches, suspension, delivery of its results.
- Supervisors and administrators see the cases of their jurisdiction; they do not handle them.
"""

from __future__ import annotations

from django.db.models import Q

from tongban.cases.models import Case, CaseTask
from tongban.identity.choices import AccountKind, Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import (
    enterprises_represented_by,
    has_role,
    jurisdiction_prefix,
)


def is_applicant_side(user: User, case: Case) -> bool:
    if not user.is_authenticated:
        return False
    if case.applicant_id == user.pk:
        return True
    return (
        user.kind == AccountKind.CITIZEN
        and case.applicant.kind == AccountKind.ENTERPRISE
        and enterprises_represented_by(user).filter(pk=case.applicant_id).exists()
    )


def applicant_scope(user: User) -> Q:
    """The cases a citizen or enterprise account may see: its own, and those of enterprises it represents."""
    if not user.is_authenticated or user.kind == AccountKind.STAFF:
        return Q(pk__in=[])
    own = Q(applicant_id=user.pk)
    if user.kind == AccountKind.CITIZEN:
        return own | Q(applicant__in=enterprises_represented_by(user))
    return own


def _in_jurisdiction(user: User, department: Department) -> bool:
    if user.department is None:
        return False
    return department.division_code.startswith(jurisdiction_prefix(user.department))


def intake_departments_q(user: User) -> Q:
    """Departments whose cases the user may pre-review and accept."""
    if not user.is_authenticated or user.department is None:
        return Q(pk__in=[])
    scope = Q(pk__in=[])
    if has_role(user, Role.WINDOW_CLERK):
        scope |= Q(division_code__startswith=jurisdiction_prefix(user.department))
    if has_role(user, Role.APPROVER):
        scope |= Q(pk=user.department_id)
    return scope


def can_intake(user: User, department: Department) -> bool:
    """Pre-review, corrections, acceptance or refusal of acceptance, one-window intake."""
    if not user.is_authenticated or user.department is None:
        return False
    if has_role(user, Role.WINDOW_CLERK) and _in_jurisdiction(user, department):
        return True
    return has_role(user, Role.APPROVER) and user.department_id == department.pk


def can_decide_task(user: User, task: CaseTask) -> bool:
    return has_role(user, Role.APPROVER) and user.department_id == task.department_id


def can_manage_case(user: User, case: Case) -> bool:
    """Suspension and resumption of the clock: an approver of the responsible department."""
    return has_role(user, Role.APPROVER) and user.department_id == case.department_id


def can_deliver(user: User, case: Case) -> bool:
    """Results come back to the window (统一出件): a clerk of the jurisdiction or the department."""
    return can_intake(user, case.department)


def staff_case_scope(user: User) -> Q:
    """Cases a staff member may open: the ones they can act on, or oversee."""
    if not user.is_authenticated or user.kind != AccountKind.STAFF or user.department is None:
        return Q(pk__in=[])
    scope = Q(pk__in=[])
    if has_role(user, Role.WINDOW_CLERK):
        scope |= Q(department__division_code__startswith=jurisdiction_prefix(user.department))
    if has_role(user, Role.APPROVER):
        scope |= Q(department_id=user.department_id) | Q(tasks__department_id=user.department_id)
    if has_role(user, Role.SUPERVISOR, Role.ADMINISTRATOR):
        scope |= Q(department__division_code__startswith=jurisdiction_prefix(user.department))
    return scope

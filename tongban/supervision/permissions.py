"""Who may see and act on supervision (ADR 18, scoping as ADR 5).

- Supervisors and administrators see the board of their jurisdiction; approvers and window clerks
  the board of their own department (the digest links them to it).
- Only supervisors write handling notes, on alerts of cases in their jurisdiction.
- Only administrators change the thresholds.
"""

from __future__ import annotations

from django.db.models import QuerySet

from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.selectors import departments_in_jurisdiction, has_role

BOARD_ROLES = (Role.SUPERVISOR, Role.ADMINISTRATOR, Role.APPROVER, Role.WINDOW_CLERK)
NOTE_ROLES = (Role.SUPERVISOR,)
POLICY_ROLES = (Role.ADMINISTRATOR,)


def board_departments(user: User) -> QuerySet[Department]:
    if not has_role(user, *BOARD_ROLES):
        return Department.objects.none()
    return departments_in_jurisdiction(user)


def can_note(user: User) -> bool:
    return has_role(user, *NOTE_ROLES)


def can_set_policy(user: User) -> bool:
    return has_role(user, *POLICY_ROLES)

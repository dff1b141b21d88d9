"""Reads for identity, scoped to what the asking user may see.

A staff member's *jurisdiction* is the territory of their department's division code: a city-level
department (``340100``) covers every department whose code starts with ``3401``, a county-level
one (``340102``) its own county, and so on. Supervisors and administrators see their jurisdiction;
everyone else sees only their own department. See docs/adr/0005-staff-scoping.md.
"""

from __future__ import annotations

from datetime import datetime

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tongban.core.errors import AuthenticationFailed
from tongban.identity.choices import DepartmentLevel, Role
from tongban.identity.models import Department, EnterpriseAgent, RoleAssignment, User

_PREFIX_LENGTH = {
    DepartmentLevel.PROVINCE: 2,
    DepartmentLevel.CITY: 4,
    DepartmentLevel.COUNTY: 6,
    DepartmentLevel.TOWNSHIP: 9,
    DepartmentLevel.VILLAGE: 12,
}


def portal_user(request: HttpRequest) -> User:
    """The logged-in account of a request that ``login_required`` already let through."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user


def api_person(request: HttpRequest) -> User:
    """The person behind an API request its authentication let through (``session_or_token``): a
    department system's client-credentials token acts for no one, and is refused with a 401."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationFailed(
            _("This token was issued to a system, not a person."), code="token_has_no_user"
        )
    return user


def roles_of(user: User) -> frozenset[str]:
    """The user's staff roles, cached on the instance for the request."""
    if not user.is_authenticated or not getattr(user, "is_staff_member", False):
        return frozenset()
    cached = getattr(user, "_tongban_roles", None)
    if cached is None:
        cached = frozenset(RoleAssignment.objects.filter(user_id=user.pk).values_list("role", flat=True))
        user._tongban_roles = cached  # type: ignore[attr-defined]
    return cached


def has_role(user: User, *roles: str) -> bool:
    return bool(roles_of(user).intersection(roles))


def jurisdiction_prefix(department: Department) -> str:
    return department.division_code[: _PREFIX_LENGTH.get(DepartmentLevel(department.level), 6)]


def departments_in_jurisdiction(user: User) -> QuerySet[Department]:
    if not user.is_authenticated or user.department is None:
        return Department.objects.none()
    if has_role(user, Role.ADMINISTRATOR, Role.SUPERVISOR):
        return Department.objects.filter(division_code__startswith=jurisdiction_prefix(user.department))
    return Department.objects.filter(pk=user.department.pk)


def department_is_visible(user: User, department: Department | None) -> bool:
    if department is None:
        return False
    return departments_in_jurisdiction(user).filter(pk=department.pk).exists()


def staff_visible_to(user: User) -> QuerySet[User]:
    if not has_role(user, Role.ADMINISTRATOR):
        return User.objects.none()
    return (
        User.objects.filter(kind="staff", department__in=departments_in_jurisdiction(user))
        .select_related("department")
        .prefetch_related("role_assignments")
        .order_by("department__sort_order", "username")
    )


def enterprise_agents(enterprise: User) -> QuerySet[EnterpriseAgent]:
    return (
        EnterpriseAgent.objects.filter(enterprise=enterprise, revoked_at__isnull=True)
        .select_related("agent")
        .order_by("-granted_at")
    )


def enterprises_represented_by(agent: User) -> QuerySet[User]:
    return User.objects.filter(agents__agent=agent, agents__revoked_at__isnull=True)


def lockout_unlock_at(identifier: str) -> datetime | None:
    """When the lockout for this login identifier ends (the last failure plus the cool-off)."""
    attempt = (
        AccessAttempt.objects.filter(Q(username=identifier))
        .order_by("-attempt_time")
        .only("attempt_time")
        .first()
    )
    cool_off = get_cool_off()
    if attempt is None or cool_off is None:
        return None
    return attempt.attempt_time + cool_off


def has_confirmed_totp_device(user: User) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def totp_devices_of(user: User, *, confirmed: bool) -> QuerySet:
    """The person's authenticators (django-otp TOTP devices), confirmed or in set-up, newest first."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=confirmed).order_by("-pk")


def staff_search(
    user: User,
    *,
    q: str = "",
    department_id: int | None = None,
    role: str = "",
    active: bool | None = None,
) -> QuerySet[User]:
    """Staff in the administrator's jurisdiction, filtered, each with ``has_second_factor``."""
    from django.db.models import Exists, OuterRef
    from django_otp.plugins.otp_totp.models import TOTPDevice

    qs = staff_visible_to(user).annotate(
        has_second_factor=Exists(TOTPDevice.objects.filter(user_id=OuterRef("pk"), confirmed=True))
    )
    q = q.strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(name__icontains=q))
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    if role:
        qs = qs.filter(role_assignments__role=role)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def department_tree(user: User) -> list[tuple[Department, list]]:
    """The departments the user may see as a forest of ``(department, children)`` pairs.

    Each department carries ``staff_count`` (active staff). A department whose parent lies outside
    the jurisdiction is a root of its own.
    """
    from django.db.models import Count

    departments = list(
        departments_in_jurisdiction(user)
        .annotate(staff_count=Count("staff", filter=Q(staff__is_active=True)))
        .order_by("sort_order", "name")
    )
    ids = {d.pk for d in departments}
    children: dict[int | None, list[Department]] = {}
    for d in departments:
        children.setdefault(d.parent_id if d.parent_id in ids else None, []).append(d)

    def build(parent_id: int | None) -> list[tuple[Department, list]]:
        return [(d, build(d.pk)) for d in children.get(parent_id, [])]

    return build(None)

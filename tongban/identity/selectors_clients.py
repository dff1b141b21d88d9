"""Reads for department systems registered as OpenID Connect clients, scoped to the asking user.

Only administrators see registered systems, and only those owned by a department in their
jurisdiction (``selectors.departments_in_jurisdiction``, ADR 0005).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from tongban.identity import selectors
from tongban.identity.choices import Role
from tongban.identity.models import Department, DepartmentSystem, User


def clients_visible_to(user: User) -> QuerySet[DepartmentSystem]:
    if not selectors.has_role(user, Role.ADMINISTRATOR):
        return DepartmentSystem.objects.none()
    return (
        DepartmentSystem.objects.filter(department__in=selectors.departments_in_jurisdiction(user))
        .select_related("application", "department", "registered_by", "disabled_by")
        .order_by("-created_at", "-pk")
    )


def client_for(user: User, pk: int) -> DepartmentSystem:
    """One registered system the administrator may manage; 404 for anything else."""
    return get_object_or_404(clients_visible_to(user), pk=pk)


def client_departments(user: User) -> QuerySet[Department]:
    """The departments an administrator may register systems for."""
    if not selectors.has_role(user, Role.ADMINISTRATOR):
        return Department.objects.none()
    return selectors.departments_in_jurisdiction(user).filter(is_active=True).order_by("sort_order", "name")


def application_is_enabled(application_id: int) -> bool:
    """False once the system behind this OAuth application has been disabled."""
    return not DepartmentSystem.objects.filter(
        application_id=application_id, disabled_at__isnull=False
    ).exists()


def root_department() -> Department | None:
    """The single top of the department tree, if there is exactly one (the command-line default owner)."""
    roots = list(Department.objects.filter(parent__isnull=True, is_active=True)[:2])
    return roots[0] if len(roots) == 1 else None

"""Writes for accounts, departments and roles. Every change is audited in its own transaction."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tongban.core import audit
from tongban.core.errors import (
    AuthenticationFailed,
    Conflict,
    Locked,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.core.idnumbers import validate_credit_code, validate_resident_id
from tongban.core.masking import mask_resident_id
from tongban.core.models import AuditOutcome
from tongban.identity import permissions, selectors
from tongban.identity.choices import AccountKind, DepartmentLevel, RealNameLevel, Role
from tongban.identity.models import Department, EnterpriseAgent, RoleAssignment, User

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_NAME = re.compile(r"^[\u3400-\u9fffA-Za-z·.\s]{2,50}$")
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,31}$")


# --- field checks ----------------------------------------------------------------------------


def _check_phone(phone: str) -> str:
    phone = (phone or "").strip().replace(" ", "")
    if not _PHONE.match(phone):
        raise ValidationFailed(
            _("Enter an 11-digit mainland mobile number starting with 1."),
            code="phone_invalid",
            fields={"phone": [_("Enter an 11-digit mainland mobile number starting with 1.")]},
        )
    return phone


def _check_person_name(name: str, *, field: str = "name") -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        message = _("Enter the name as on the identity card (2 to 50 characters).")
        raise ValidationFailed(message, code="name_invalid", fields={field: [message]})
    return name


def _check_org_name(name: str) -> str:
    name = (name or "").strip()
    if not 2 <= len(name) <= 100:
        message = _("Enter the enterprise's registered name (2 to 100 characters).")
        raise ValidationFailed(message, code="name_invalid", fields={"name": [message]})
    return name


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            _("The password is too weak."), code="password_weak", fields={"password": list(exc.messages)}
        ) from None


def _with_field(error: ValidationFailed, field: str) -> ValidationFailed:
    error.fields = {field: [error.message]}
    return error


# --- registration ----------------------------------------------------------------------------


def citizen_register(*, resident_id: str, name: str, phone: str, password: str) -> User:
    """Create a citizen account at real-name level L1 (self-declared)."""
    try:
        rid = validate_resident_id(resident_id)
    except ValidationFailed as exc:
        raise _with_field(exc, "resident_id") from None
    name = _check_person_name(name)
    phone = _check_phone(phone)
    user = User(
        username=f"c{rid}",
        kind=AccountKind.CITIZEN,
        resident_id=rid,
        name=name,
        phone=phone,
        real_name_level=RealNameLevel.L1,
    )
    _check_password(password, user)
    user.set_password(password)
    return _save_new_account(
        user,
        key_field="resident_id",
        duplicate_message=_(
            "An account with this resident ID number already exists. Log in, or reset the password."
        ),
    )


def enterprise_register(
    *,
    credit_code: str,
    name: str,
    legal_rep_name: str,
    legal_rep_resident_id: str,
    phone: str,
    password: str,
) -> User:
    try:
        code = validate_credit_code(credit_code)
    except ValidationFailed as exc:
        raise _with_field(exc, "credit_code") from None
    name = _check_org_name(name)
    legal_rep_name = _check_person_name(legal_rep_name, field="legal_rep_name")
    try:
        rep_id = validate_resident_id(legal_rep_resident_id)
    except ValidationFailed as exc:
        raise _with_field(exc, "legal_rep_resident_id") from None
    phone = _check_phone(phone)
    user = User(
        username=f"e{code.lower()}",
        kind=AccountKind.ENTERPRISE,
        credit_code=code,
        name=name,
        legal_rep_name=legal_rep_name,
        legal_rep_resident_id=rep_id,
        phone=phone,
    )
    _check_password(password, user)
    user.set_password(password)
    return _save_new_account(
        user,
        key_field="credit_code",
        duplicate_message=_("An account with this credit code already exists."),
    )


def _save_new_account(user: User, *, key_field: str, duplicate_message: Promise) -> User:
    """Insert a registered account and its audit row, or refuse a duplicate of ``key_field``.

    The unique constraint decides a race between two registrations of the same identifier.
    """
    duplicate = Conflict(duplicate_message, code="account_exists", fields={key_field: [duplicate_message]})
    if User.objects.filter(**{key_field: getattr(user, key_field)}).exists():
        raise duplicate
    try:
        with transaction.atomic():
            user.save(force_insert=True)
            audit.record(
                action="account.register", actor=user, subject=user, summary=f"{user.kind} registered"
            )
    except IntegrityError:
        raise duplicate from None
    return user


@transaction.atomic
def staff_create(
    *,
    username: str,
    name: str,
    department: Department,
    roles: Iterable[str],
    password: str,
    by: User | None,
    phone: str = "",
) -> User:
    """Create a staff account. ``by`` is the administrator (None only for seeding and commands)."""
    if by is not None:
        permissions.ensure_can_manage_staff(by, department)
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        message = _("A username is 3 to 32 lower-case letters, digits, dots, dashes or underscores.")
        raise ValidationFailed(message, code="username_invalid", fields={"username": [message]})
    if User.objects.filter(username=username).exists():
        message = _("This username is taken.")
        raise Conflict(message, code="account_exists", fields={"username": [message]})
    user = User(
        username=username,
        kind=AccountKind.STAFF,
        name=_check_person_name(name),
        department=department,
        phone=_check_phone(phone) if phone else "",
    )
    _check_password(password, user)
    user.set_password(password)
    user.save(force_insert=True)
    role_list = _clean_roles(roles)
    RoleAssignment.objects.bulk_create([RoleAssignment(user=user, role=r, granted_by=by) for r in role_list])
    audit.record(
        action="staff.create",
        actor=by,
        subject=user,
        summary=f"staff {username} created",
        data={"department_id": department.pk, "roles": role_list},
    )
    return user


def _clean_roles(roles: Iterable[str]) -> list[str]:
    role_list = sorted(set(roles))
    unknown = [r for r in role_list if r not in Role.values]
    if unknown:
        raise ValidationFailed(
            _("Unknown role."), code="role_invalid", fields={"roles": [", ".join(unknown)]}
        )
    return role_list


@transaction.atomic
def staff_roles_set(*, user: User, roles: Iterable[str], by: User) -> User:
    """Replace a staff member's roles; the change (old and new sets) is audited."""
    if not user.is_staff_member:
        raise ValidationFailed(_("Only staff accounts hold roles."), code="not_staff")
    permissions.ensure_can_manage_staff(by, user.department)
    new = _clean_roles(roles)
    if by.pk == user.pk and Role.ADMINISTRATOR not in new and Role.ADMINISTRATOR in selectors.roles_of(by):
        raise ValidationFailed(_("You cannot remove your own administrator role."), code="role_self_demotion")
    user = User.objects.select_for_update().get(pk=user.pk)
    old = sorted(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    if old == new:
        return user
    RoleAssignment.objects.filter(user=user).exclude(role__in=new).delete()
    RoleAssignment.objects.bulk_create(
        [RoleAssignment(user=user, role=r, granted_by=by) for r in new if r not in old]
    )
    audit.record(
        action="staff.roles_change",
        actor=by,
        subject=user,
        summary=f"roles of {user.username} changed",
        data={"old": old, "new": new},
    )
    return user


@transaction.atomic
def staff_active_set(*, user: User, active: bool, by: User) -> User:
    if not user.is_staff_member:
        raise ValidationFailed(_("Only staff accounts can be managed here."), code="not_staff")
    permissions.ensure_can_manage_staff(by, user.department)
    if by.pk == user.pk:
        raise ValidationFailed(_("You cannot deactivate your own account."), code="self_deactivation")
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(action="staff.activate" if active else "staff.deactivate", actor=by, subject=user)
    return user


@transaction.atomic
def department_create(
    *,
    name: str,
    code: str,
    level: str,
    division_code: str,
    parent: Department | None = None,
    credit_code: str | None = None,
    short_name: str = "",
    sort_order: int = 0,
    by: User | None,
) -> Department:
    if by is not None:
        permissions.ensure_is_administrator(by)
    if level not in DepartmentLevel.values:
        raise ValidationFailed(_("Unknown department level."), code="department_level_invalid")
    if not (division_code.isdigit() and len(division_code) in (6, 9, 12)):
        message = _("A division code has 6, 9 or 12 digits (GB/T 2260 and its township extension).")
        raise ValidationFailed(message, code="division_code_invalid", fields={"division_code": [message]})
    if credit_code:
        try:
            credit_code = validate_credit_code(credit_code)
        except ValidationFailed as exc:
            raise _with_field(exc, "credit_code") from None
    if Department.objects.filter(code=code).exists():
        raise Conflict(_("A department with this code exists."), code="department_exists")
    department = Department.objects.create(
        name=name,
        short_name=short_name,
        code=code,
        level=level,
        division_code=division_code,
        parent=parent,
        credit_code=credit_code or None,
        sort_order=sort_order,
    )
    audit.record(action="department.create", actor=by, subject=department, summary=name)
    return department


# --- sessions --------------------------------------------------------------------------------


def login(*, request: HttpRequest, identifier: str, password: str) -> User:
    """Check the credentials, enforce the lockout, start the session; audit every outcome."""
    ident = (
        (identifier or "").strip().upper()
        if len((identifier or "").strip()) == 18
        else (identifier or "").strip()
    )
    masked = mask_resident_id(ident) if len(ident) == 18 else ident[:64]
    credentials = {"username": ident}
    if not AxesProxyHandler.is_allowed(request, credentials):
        request.axes_locked_out = True  # type: ignore[attr-defined]
        # AxesMiddleware answers with the lockout page for these credentials (it shows the unlock time).
        request.axes_credentials = credentials  # type: ignore[attr-defined]
        unlock_at = selectors.lockout_unlock_at(ident)
        audit.record(
            action="auth.login",
            outcome=AuditOutcome.DENIED,
            summary="login refused: locked out",
            data={"identifier": masked, "unlock_at": unlock_at.isoformat() if unlock_at else None},
        )
        raise _locked(unlock_at)
    user = authenticate(request, username=ident, password=password)
    if user is None:
        just_locked = bool(getattr(request, "axes_locked_out", False))
        audit.record(
            action="auth.lockout" if just_locked else "auth.login",
            outcome=AuditOutcome.DENIED if just_locked else AuditOutcome.FAILURE,
            summary="account locked after repeated failures"
            if just_locked
            else "wrong identifier or password",
            data={"identifier": masked},
        )
        if just_locked:
            raise _locked(selectors.lockout_unlock_at(ident))
        raise AuthenticationFailed(
            _("The account or password is wrong."),
            code="invalid_credentials",
        )
    if not isinstance(user, User):  # another backend answered with a foreign user type
        raise AuthenticationFailed(_("The account or password is wrong."), code="invalid_credentials")
    django_login(request, user, backend="tongban.identity.backends.IdentifierBackend")
    audit.record(action="auth.login", actor=user, subject=user, summary="logged in")
    return user


def _locked(unlock_at: datetime | None) -> Locked:
    when = timezone.localtime(unlock_at).strftime("%Y-%m-%d %H:%M") if unlock_at else ""
    return Locked(
        _("Too many wrong passwords. This account is locked until %(when)s.") % {"when": when},
        code="account_locked",
        extra={"unlock_at": unlock_at.isoformat() if unlock_at else None},
    )


def logout(*, request: HttpRequest) -> None:
    user = request.user
    if user.is_authenticated:
        audit.record(action="auth.logout", actor=user, subject=user, summary="logged out")
    django_logout(request)


def password_change(*, user: User, old_password: str, new_password: str) -> User:
    if not user.check_password(old_password):
        message = _("The current password is wrong.")
        # Recorded outside the change's transaction: the failed attempt must stay in the trail.
        audit.record(action="account.password_change", actor=user, subject=user, outcome=AuditOutcome.FAILURE)
        raise ValidationFailed(message, code="password_wrong", fields={"old_password": [message]})
    if old_password == new_password:
        message = _("The new password must differ from the current one.")
        raise ValidationFailed(message, code="password_unchanged", fields={"password": [message]})
    _check_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit.record(action="account.password_change", actor=user, subject=user)
    return user


@transaction.atomic
def profile_update(*, user: User, phone: str) -> User:
    user.phone = _check_phone(phone)
    user.save(update_fields=["phone"])
    audit.record(action="account.profile_update", actor=user, subject=user, data={"fields": ["phone"]})
    return user


@transaction.atomic
def real_name_level_raise(*, user: User, level: int, evidence: dict[str, str]) -> User:
    """Record that ``user`` was checked at ``level`` (never lowers it); ``evidence`` says how, e.g. the
    exchange call id of the verification against the population base."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if level > user.real_name_level:
        previous = user.real_name_level
        user.real_name_level = level
        user.save(update_fields=["real_name_level"])
        audit.record(
            action="account.real_name_raised",
            actor=user,
            subject=user,
            data={"from": previous, "to": level, **evidence},
        )
    return user


# --- enterprise agents -----------------------------------------------------------------------


@transaction.atomic
def enterprise_agent_add(*, enterprise: User, agent_resident_id: str, by: User) -> EnterpriseAgent:
    if by.pk != enterprise.pk or not enterprise.is_enterprise:
        raise PermissionDenied(
            _("Only the enterprise itself can authorise agents."), code="not_enterprise_owner"
        )
    try:
        rid = validate_resident_id(agent_resident_id)
    except ValidationFailed as exc:
        raise _with_field(exc, "agent_resident_id") from None
    agent = User.objects.filter(resident_id=rid, kind=AccountKind.CITIZEN).first()
    if agent is None:
        message = _("No citizen account has this resident ID number; the agent must register first.")
        raise NotFound(message, code="agent_not_found", fields={"agent_resident_id": [message]})
    if EnterpriseAgent.objects.filter(enterprise=enterprise, agent=agent, revoked_at__isnull=True).exists():
        raise Conflict(_("This person is already an authorised agent."), code="agent_exists")
    link = EnterpriseAgent.objects.create(enterprise=enterprise, agent=agent)
    audit.record(
        action="enterprise.agent_add",
        actor=by,
        subject=enterprise,
        data={"agent_id": agent.pk, "agent": agent.masked_resident_id},
    )
    return link


@transaction.atomic
def enterprise_agent_revoke(*, link: EnterpriseAgent, by: User) -> EnterpriseAgent:
    if by.pk != link.enterprise_id:
        raise PermissionDenied(
            _("Only the enterprise itself can revoke agents."), code="not_enterprise_owner"
        )
    link = EnterpriseAgent.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        audit.record(
            action="enterprise.agent_revoke",
            actor=by,
            subject=link.enterprise,
            data={"agent_id": link.agent_id},
        )
    return link

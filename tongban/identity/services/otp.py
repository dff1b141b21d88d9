"""Writes for the staff second factor (TOTP, django-otp): enrol, confirm, verify, reset.

django-otp's ``TOTPDevice`` does the cryptography, replay protection (``last_t``) and the
exponential throttling after wrong codes (1, 2, 4, 8 … seconds). These services add what the
platform needs around it: one device per person, confirmation before it counts, the verified
device bound to the session, and an audit row for every outcome.

Failures are audited too, so the service writes them in a transaction that commits and raises the
error only afterwards: a wrong code must leave both its audit row and its throttle count behind.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import django_otp
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.core import audit
from tongban.core.errors import DomainError, Locked, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditOutcome
from tongban.identity import permissions
from tongban.identity.models import User

DEVICE_NAME = "authenticator"


def _clean_token(token: str) -> str:
    return "".join((token or "").split())


def _throttled(locked_until: datetime | None) -> Locked:
    now = timezone.now()
    seconds = max(1, math.ceil((locked_until - now).total_seconds())) if locked_until else 1
    if seconds < 120:
        message = ngettext_lazy(
            "Too many wrong codes. Wait %(seconds)d second, then enter the newest code.",
            "Too many wrong codes. Wait %(seconds)d seconds, then enter the newest code.",
            "seconds",
        ) % {"seconds": seconds}
    else:
        when = timezone.localtime(now + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M")
        message = _("Too many wrong codes. Try again after %(when)s.") % {"when": when}
    return Locked(
        message,
        code="totp_throttled",
        extra={
            "retry_after": seconds,
            "retry_at": locked_until.isoformat() if locked_until else None,
        },
    )


def _wrong_code() -> ValidationFailed:
    message = _("The code is wrong or has expired. Enter the code your authenticator shows now.")
    return ValidationFailed(message, code="totp_invalid", fields={"token": [message]})


def _throttle_info(device: TOTPDevice) -> datetime | None:
    """When ``device`` accepts codes again, or None when it accepts them now."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return None
    if info and info.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
        return info.get("locked_until") or timezone.now()
    return timezone.now()


@transaction.atomic
def totp_enrol_start(*, user: User) -> TOTPDevice:
    """Create a new unconfirmed authenticator for ``user`` (a confirmed one stays until replaced)."""
    if not user.is_staff_member:
        raise PermissionDenied(_("The second factor is for staff accounts."), code="not_staff")
    User.objects.select_for_update().filter(pk=user.pk).first()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_enrol_confirm(*, user: User, device: TOTPDevice, token: str, request: HttpRequest) -> TOTPDevice:
    """Check the first code from a new authenticator; on success it becomes the person's only device.

    Replacing a confirmed authenticator needs a session already verified with it, so a stolen
    password alone cannot swap the second factor.
    """
    error: DomainError
    with transaction.atomic():
        locked = (
            TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
        )
        if locked is None:
            raise NotFound(
                _("This set-up has expired or was replaced. Start again."), code="totp_enrolment_not_found"
            )
        has_confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        if has_confirmed and not getattr(request.user, "is_verified", lambda: False)():
            raise PermissionDenied(
                _("Verify with your current authenticator before replacing it."),
                code="totp_verification_required",
            )
        locked_until = _throttle_info(locked)
        if locked_until is not None:
            audit.record(
                action="auth.totp_enrol",
                actor=user,
                subject=user,
                outcome=AuditOutcome.DENIED,
                summary="second factor set-up refused: too many wrong codes",
                data={"retry_at": locked_until.isoformat()},
            )
            error = _throttled(locked_until)
        elif locked.verify_token(_clean_token(token)):
            replaced = TOTPDevice.objects.filter(user=user).exclude(pk=locked.pk).delete()[0]
            locked.confirmed = True
            locked.save(update_fields=["confirmed"])
            _bind_to_session(request, locked)
            audit.record(
                action="auth.totp_enrol",
                actor=user,
                subject=user,
                summary="second factor enrolled",
                data={"device_id": locked.pk, "replaced_devices": replaced},
            )
            return locked
        else:
            audit.record(
                action="auth.totp_enrol",
                actor=user,
                subject=user,
                outcome=AuditOutcome.FAILURE,
                summary="second factor set-up: wrong code",
                data={"failures": locked.throttling_failure_count},
            )
            error = _wrong_code()
    raise error


def totp_verify(*, request: HttpRequest, user: User, token: str) -> TOTPDevice:
    """Check a code from the person's confirmed authenticator and mark the session as verified."""
    error: DomainError
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            raise ValidationFailed(_("You have not set up a second factor yet."), code="totp_not_enrolled")
        locked_until = _throttle_info(device)
        if locked_until is not None:
            audit.record(
                action="auth.totp_verify",
                actor=user,
                subject=user,
                outcome=AuditOutcome.DENIED,
                summary="second factor refused: too many wrong codes",
                data={"retry_at": locked_until.isoformat()},
            )
            error = _throttled(locked_until)
        elif device.verify_token(_clean_token(token)):
            _bind_to_session(request, device)
            audit.record(
                action="auth.totp_verify", actor=user, subject=user, summary="second factor verified"
            )
            return device
        else:
            audit.record(
                action="auth.totp_verify",
                actor=user,
                subject=user,
                outcome=AuditOutcome.FAILURE,
                summary="second factor: wrong code",
                data={"failures": device.throttling_failure_count},
            )
            error = _wrong_code()
    raise error


def _bind_to_session(request: HttpRequest, device: TOTPDevice) -> None:
    # A new session key for the raised privilege, as Django does at login (session fixation).
    request.session.cycle_key()
    django_otp.login(request, device)


@transaction.atomic
def totp_reset(*, user: User, by: User) -> int:
    """An administrator removes a staff member's authenticators (lost phone); returns how many.

    The person's sessions lose their verified state at once (the device they name is gone) and
    they enrol again at their next staff page.
    """
    if not user.is_staff_member:
        raise ValidationFailed(_("Only staff accounts have a second factor."), code="not_staff")
    permissions.ensure_can_manage_staff(by, user.department)
    if by.pk == user.pk:
        raise ValidationFailed(
            _("Replace your own authenticator on the second-factor page instead."), code="totp_reset_self"
        )
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    audit.record(
        action="auth.totp_reset",
        actor=by,
        subject=user,
        summary=f"second factor of {user.username} reset",
        data={"removed_devices": removed},
    )
    return removed

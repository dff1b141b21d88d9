"""Writes for department systems registered as OpenID Connect clients.

A client is django-oauth-toolkit's ``Application`` plus Tongban's ``DepartmentSystem`` row (owning
department, who registered it, whether it is disabled). The secret is generated here and its plain
value is returned once, to be shown to the administrator and never stored. Every change is audited
in its own transaction.

Stored secrets: DOT would hash a secret with the first password hasher (Argon2, ~0.3 s of CPU per
check), and it checks the secret on every token request and introspection call. A client secret is
384 random bits, not a password a person chose, so nothing can be guessed by brute force and a
password hasher's slowness buys nothing: the application stores ``tongban-sha256$<SHA-256 hex>``
(``hash_client_secret=False`` keeps DOT from hashing it again) and ``oidc.TongbanOAuth2Validator``
compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.validators import AllowedURIValidator

from tongban.core import audit
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.identity import permissions, selectors
from tongban.identity.models import Department, DepartmentSystem, User

CONFIDENTIAL = AbstractApplication.CLIENT_CONFIDENTIAL
PUBLIC = AbstractApplication.CLIENT_PUBLIC
AUTHORIZATION_CODE = AbstractApplication.GRANT_AUTHORIZATION_CODE
CLIENT_CREDENTIALS = AbstractApplication.GRANT_CLIENT_CREDENTIALS
CLIENT_TYPES = (CONFIDENTIAL, PUBLIC)
GRANT_TYPES = (AUTHORIZATION_CODE, CLIENT_CREDENTIALS)


class ClientCredentials(NamedTuple):
    """A registered client and its plain secret (None for public clients, which hold none)."""

    application: Any
    client_secret: str | None


SECRET_DIGEST_PREFIX = "tongban-sha256$"  # noqa: S105 - a label, not a secret


def _new_secret() -> str:
    return secrets.token_urlsafe(48)


def client_secret_digest(plain: str) -> str:
    """What is stored for a client secret (see the module docstring)."""
    return SECRET_DIGEST_PREFIX + hashlib.sha256(plain.encode()).hexdigest()


def client_secret_matches(plain: str, stored: str) -> bool:
    return stored.startswith(SECRET_DIGEST_PREFIX) and hmac.compare_digest(
        stored, client_secret_digest(plain)
    )


def _ensure_can_manage(by: User | None, department: Department | None) -> None:
    """``by`` None is the command line (the operator); an administrator must own the department."""
    if by is None:
        return
    permissions.ensure_is_administrator(by)
    if not selectors.department_is_visible(by, department):
        raise PermissionDenied(
            _("This department is outside your jurisdiction."), code="department_out_of_scope"
        )


def _clean_uris(values: Iterable[str], errors: list[str | Promise]) -> list[str]:
    validator = AllowedURIValidator(
        oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES, name="redirect uri", allow_path=True, allow_query=True
    )
    uris: list[str] = []
    for value in values:
        for uri in (value or "").split():
            if uri in uris:
                continue
            try:
                validator(uri)
            except DjangoValidationError:
                errors.append(
                    _(
                        "%(uri)s is not an acceptable address: use an absolute %(schemes)s URL "
                        "without a #fragment."
                    )
                    % {"uri": uri[:200], "schemes": "/".join(oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)}
                )
                continue
            uris.append(uri)
    return uris


@transaction.atomic
def client_register(
    *,
    name: str,
    redirect_uris: Iterable[str] = (),
    client_type: str = CONFIDENTIAL,
    grant_type: str = AUTHORIZATION_CODE,
    department: Department,
    skip_authorization: bool = True,
    post_logout_redirect_uris: Iterable[str] = (),
    by: User | None,
) -> ClientCredentials:
    """Register a department system as an OIDC client; returns the application and its plain secret.

    ``grant_type`` is ``authorization-code`` (signs people in; PKCE S256 required, refresh tokens)
    or ``client-credentials`` (a machine client, confidential, tokens with no person behind them).
    ``skip_authorization`` skips the consent screen: the government's own systems need none.
    """
    _ensure_can_manage(by, department)
    fields: dict[str, list[str | Promise]] = {}
    name = (name or "").strip()
    if not 2 <= len(name) <= 100:
        fields.setdefault("name", []).append(_("Give the system a name of 2 to 100 characters."))
    if client_type not in CLIENT_TYPES:
        fields.setdefault("client_type", []).append(_("Choose confidential or public."))
    if grant_type not in GRANT_TYPES:
        fields.setdefault("grant_type", []).append(_("Choose authorization code or client credentials."))
    uri_errors: list[str | Promise] = []
    uris = _clean_uris(redirect_uris, uri_errors)
    logout_errors: list[str | Promise] = []
    logout_uris = _clean_uris(post_logout_redirect_uris, logout_errors)
    if grant_type == AUTHORIZATION_CODE:
        if not uris and not uri_errors:
            uri_errors.append(_("A system that signs people in needs at least one redirect URI."))
    elif grant_type == CLIENT_CREDENTIALS:
        if client_type != CONFIDENTIAL:
            fields.setdefault("client_type", []).append(
                _("A machine client authenticates with its secret, so it must be confidential.")
            )
        if uris or uri_errors:
            uri_errors = [_("A machine client signs nobody in; leave the redirect URIs empty.")]
        if logout_uris or logout_errors:
            logout_errors = [_("A machine client signs nobody in; leave the logout URIs empty.")]
    if uri_errors:
        fields["redirect_uris"] = uri_errors
    if logout_errors:
        fields["post_logout_redirect_uris"] = logout_errors
    if fields:
        raise ValidationFailed(_("Correct the marked fields."), code="client_invalid", fields=fields)

    secret = _new_secret()
    application = get_application_model()(
        name=name,
        client_type=client_type,
        authorization_grant_type=grant_type,
        redirect_uris=" ".join(uris),
        post_logout_redirect_uris=" ".join(logout_uris),
        skip_authorization=bool(skip_authorization),
        algorithm=AbstractApplication.RS256_ALGORITHM if grant_type == AUTHORIZATION_CODE else "",
        client_secret=client_secret_digest(secret),
        hash_client_secret=False,
    )
    try:
        application.clean()
    except DjangoValidationError as exc:
        raise ValidationFailed(
            _("Correct the marked fields."),
            code="client_invalid",
            fields={key: list(messages) for key, messages in exc.message_dict.items()},
        ) from None
    application.save()
    system = DepartmentSystem.objects.create(application=application, department=department, registered_by=by)
    audit.record(
        action="oidc.client_register",
        actor=by,
        subject=system,
        summary=f"OIDC client {name} registered",
        data={
            "client_id": application.client_id,
            "name": name,
            "client_type": client_type,
            "grant_type": grant_type,
            "department_id": department.pk,
            "redirect_uris": uris,
            "post_logout_redirect_uris": logout_uris,
            "skip_authorization": bool(skip_authorization),
        },
    )
    return ClientCredentials(application, secret if client_type == CONFIDENTIAL else None)


def _locked(system: DepartmentSystem) -> DepartmentSystem:
    return (
        DepartmentSystem.objects.select_for_update()
        .select_related("application", "department")
        .get(pk=system.pk)
    )


@transaction.atomic
def client_secret_rotate(*, system: DepartmentSystem, by: User | None) -> ClientCredentials:
    """Give a confidential client a new secret; the old one stops working at once."""
    _ensure_can_manage(by, system.department)
    system = _locked(system)
    if not system.is_active:
        raise Conflict(_("This system has been disabled."), code="client_disabled")
    application = system.application
    if application.client_type != CONFIDENTIAL:
        raise ValidationFailed(_("A public client holds no secret to rotate."), code="client_public")
    secret = _new_secret()
    application.client_secret = client_secret_digest(secret)
    application.hash_client_secret = False
    application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
    system.secret_rotated_at = timezone.now()
    system.save(update_fields=["secret_rotated_at", "updated_at"])
    audit.record(
        action="oidc.client_secret_rotate",
        actor=by,
        subject=system,
        summary=f"secret of OIDC client {application.name} rotated",
        data={"client_id": application.client_id},
    )
    return ClientCredentials(application, secret)


@transaction.atomic
def client_disable(*, system: DepartmentSystem, by: User | None) -> DepartmentSystem:
    """Disable a client for good: it can no longer authenticate, and every token it holds is revoked."""
    _ensure_can_manage(by, system.department)
    system = _locked(system)
    if not system.is_active:
        return system
    application = system.application
    now = timezone.now()
    grants, _unused = get_grant_model().objects.filter(application=application).delete()
    refresh_tokens = (
        get_refresh_token_model()
        .objects.filter(application=application, revoked__isnull=True)
        .update(revoked=now)
    )
    access_tokens = get_access_token_model().objects.filter(application=application).count()
    get_access_token_model().objects.filter(application=application).delete()
    get_id_token_model().objects.filter(application=application).delete()
    system.disabled_at = now
    system.disabled_by = by
    system.save(update_fields=["disabled_at", "disabled_by", "updated_at"])
    audit.record(
        action="oidc.client_disable",
        actor=by,
        subject=system,
        summary=f"OIDC client {application.name} disabled",
        data={
            "client_id": application.client_id,
            "revoked_access_tokens": access_tokens,
            "revoked_refresh_tokens": refresh_tokens,
            "deleted_grants": grants,
        },
    )
    return system

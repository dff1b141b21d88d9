"""The OpenID Connect provider for department systems, built on django-oauth-toolkit (DOT).

- ``TongbanOAuth2Validator`` adds Tongban's claims (gated by scope, the same in the ID token and at
  userinfo), refuses disabled clients and deactivated accounts, and limits machine clients to the
  ``exchange`` scope.
- ``TongbanOIDCServer`` is oauthlib's OpenID Connect server with PKCE limited to S256.
- The views mounted under ``/o/`` are DOT's, with the pages people see (consent, errors, logout)
  rendered in the portal's layout, discovery completed with the endpoints DOT leaves out, and the
  portal login audited on RP-initiated logout.

DOT is configured in ``settings.OAUTH2_PROVIDER``; the issuer is ``settings.PUBLIC_URL``. The pages
use their own template names (``oauth2_provider/tongban_*.html``): DOT is listed before identity in
``INSTALLED_APPS``, so a template of the same name as DOT's would never be found.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    InvalidOIDCRedirectURIError,
    LogoutDenied,
    OAuthToolkitError,
)
from oauth2_provider.models import AbstractApplication, get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.openid import Server as OpenIDServer

from tongban.identity import selectors, services
from tongban.identity.decorators import second_factor_redirect
from tongban.identity.models import User
from tongban.identity.selectors_clients import application_is_enabled
from tongban.identity.services.clients import SECRET_DIGEST_PREFIX, client_secret_matches

# Scopes a machine client (client credentials, no person behind the token) may hold.
MACHINE_SCOPES = frozenset({"exchange"})

# The portal user of the authorization request being handled, for oauthlib's prompt=none checks.
_authorizing_user: ContextVar[Any] = ContextVar("tongban_authorizing_user", default=None)


# --- claims ----------------------------------------------------------------------------------


def _claim_name(request: OAuthRequest) -> str | None:
    return request.user.name or None


def _claim_account_kind(request: OAuthRequest) -> str:
    return str(request.user.kind)


def _claim_real_name_level(request: OAuthRequest) -> int:
    return int(request.user.real_name_level)


def _claim_resident_id_masked(request: OAuthRequest) -> str | None:
    return request.user.masked_resident_id or None


def _claim_credit_code(request: OAuthRequest) -> str | None:
    return request.user.credit_code or None


def _claim_department(request: OAuthRequest) -> dict[str, Any] | None:
    user: User = request.user
    if not user.is_staff_member or user.department is None:
        return None
    department = user.department
    return {"id": department.pk, "name": department.name, "division_code": department.division_code}


def _claim_roles(request: OAuthRequest) -> list[str] | None:
    user: User = request.user
    if not user.is_staff_member:
        return None
    return sorted(selectors.roles_of(user))


class TongbanOAuth2Validator(OAuth2Validator):
    """DOT's validator with Tongban's claims and client rules."""

    # Which scope releases which claim; a claim not listed here is never released.
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "sub": "openid",
        "name": "profile",
        "account_kind": "profile",
        "real_name_level": "profile",
        "resident_id_masked": "identity",
        "credit_code": "identity",
        "department": "staff",
        "roles": "staff",
    }

    def get_additional_claims(self) -> dict[str, Callable[[OAuthRequest], Any]]:
        # Request-agnostic form (callables), so discovery can list the claims without a request.
        return {
            "name": _claim_name,
            "account_kind": _claim_account_kind,
            "real_name_level": _claim_real_name_level,
            "resident_id_masked": _claim_resident_id_masked,
            "credit_code": _claim_credit_code,
            "department": _claim_department,
            "roles": _claim_roles,
        }

    def get_oidc_claims(self, token: Any, token_handler: Any, request: OAuthRequest) -> dict[str, Any]:
        claims = super().get_oidc_claims(token, token_handler, request)
        # A claim that does not apply to this kind of account is left out, not sent as null.
        return {key: value for key, value in claims.items() if value is not None}

    # --- client secrets, clients and accounts that may no longer be used ---

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        # Registered clients store a SHA-256 digest of their random secret (identity.services.clients).
        if stored_secret.startswith(SECRET_DIGEST_PREFIX):
            return client_secret_matches(provided_secret or "", stored_secret)
        return bool(super()._check_secret(provided_secret, stored_secret))

    def _load_application(self, client_id: str, request: OAuthRequest) -> Any:
        client = super()._load_application(client_id, request)
        if client is not None and not self._client_enabled(client):
            request.client = None
            return None
        return client

    @staticmethod
    def _client_enabled(client: Any) -> bool:
        enabled = getattr(client, "_tongban_enabled", None)
        if enabled is None:
            enabled = application_is_enabled(client.pk)
            client._tongban_enabled = enabled
        return bool(enabled)

    def validate_bearer_token(self, token: str, scopes: list[str], request: OAuthRequest) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        client = request.client
        user = request.user
        if (client is not None and not self._client_enabled(client)) or (
            user is not None and not user.is_active
        ):
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The access token is invalid.",
            }
            return False
        return True

    def validate_refresh_token(self, refresh_token: str, client: Any, request: OAuthRequest) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request):
            return False
        return request.user is None or bool(request.user.is_active)

    def validate_code(self, client_id: str, code: str, client: Any, request: OAuthRequest) -> bool:
        if not super().validate_code(client_id, code, client, request):
            return False
        return bool(request.user.is_active)

    # --- scopes ---

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: OAuthRequest, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        if client.authorization_grant_type == AbstractApplication.GRANT_CLIENT_CREDENTIALS:
            return set(scopes) <= MACHINE_SCOPES
        return True

    def get_default_scopes(
        self, client_id: str, request: OAuthRequest, *args: Any, **kwargs: Any
    ) -> list[str]:
        if request.client.authorization_grant_type == AbstractApplication.GRANT_CLIENT_CREDENTIALS:
            return sorted(MACHINE_SCOPES)
        return list(super().get_default_scopes(client_id, request, *args, **kwargs))

    # --- prompt=none (OpenID Connect Core 3.1.2.1) ---

    def validate_silent_login(self, request: OAuthRequest) -> bool:
        user = _authorizing_user.get()
        return user is not None and user.is_authenticated

    def validate_silent_authorization(self, request: OAuthRequest) -> bool:
        # Registered government systems skip consent; others need the person to have seen the screen.
        return bool(request.client is not None and request.client.skip_authorization)


class TongbanOIDCServer(OpenIDServer):
    """oauthlib's OpenID Connect server accepting only S256 code challenges (RFC 9700 §2.1.1).

    A missing ``code_challenge_method`` means ``plain`` (RFC 7636), so it is refused too; the error
    is an ordinary ``invalid_request`` sent back to the client's registered redirect URI.
    """

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(request_validator, *args, **kwargs)
        s256_only = {"S256": code_challenge_method_s256}
        for grant in (
            self.auth_grant,
            self.openid_connect_auth.proxy_target,
            self.openid_connect_hybrid.proxy_target,
        ):
            grant._code_challenge_methods = s256_only


# --- pages -----------------------------------------------------------------------------------


def _explain_authorization_error(error: Exception) -> str:
    if isinstance(error, oauth_errors.InvalidClientIdError | oauth_errors.MissingClientIdError):
        return _(
            "The system that sent you here is not registered with this platform, or it has been disabled."
        )
    if isinstance(
        error,
        oauth_errors.MismatchingRedirectURIError
        | oauth_errors.InvalidRedirectURIError
        | oauth_errors.MissingRedirectURIError,
    ):
        return _(
            "The address this sign-in request would return you to is not registered for the system. "
            "For your safety you have not been sent there."
        )
    return _("This sign-in request is not valid. Go back to the system you came from and try again.")


def _explain_logout_error(error: Exception) -> str:
    if isinstance(error, LogoutDenied):
        return _("You stayed logged in.")
    if isinstance(error, InvalidOIDCRedirectURIError):
        return _("The address this logout request would return you to is not registered for the system.")
    if isinstance(error, InvalidOIDCClientError | ClientIdMissmatch):
        return _("The system that sent you here is not registered with this platform.")
    if isinstance(error, InvalidIDTokenError):
        return _("The logout request carries a sign-in token that is not valid here.")
    return _("This logout request is not valid.")


def _with_context(response: HttpResponse, **extra: Any) -> HttpResponse:
    if isinstance(response, TemplateResponse) and isinstance(response.context_data, dict):
        response.context_data.update(extra)
    return response


class AuthorizeView(dot_views.AuthorizationView):
    """DOT's authorization endpoint in the portal's layout.

    An anonymous request is checked before the login page: an unknown client or an unregistered
    redirect URI gets the error page at once (never a redirect), other errors go back to the
    client's registered redirect URI as OAuth errors, and only a valid request is sent to log in.
    Staff must pass their second factor (the staff-page policy) before a system gets a code.
    """

    template_name = "oauth2_provider/tongban_authorize.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        marker = _authorizing_user.set(request.user)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            _authorizing_user.reset(marker)

    def handle_no_permission(self) -> HttpResponse:
        prompt = set(self.request.GET.get("prompt", "").split())
        if self.request.method == "GET" and not prompt & {"none", "create"}:
            try:
                self.validate_authorization_request(self.request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)
        return super().handle_no_permission()

    def _second_factor_pending(self, request: HttpRequest) -> HttpResponse | None:
        if getattr(request.user, "is_staff_member", False):
            return second_factor_redirect(request)
        return None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._second_factor_pending(request) or super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._second_factor_pending(request) or super().post(request, *args, **kwargs)

    def error_response(self, error: OAuthToolkitError, application: Any, **kwargs: Any) -> HttpResponse:
        response = super().error_response(error, application, **kwargs)
        return _with_context(response, error_message=_explain_authorization_error(error.oauthlib_error))


class LogoutView(dot_views.RPInitiatedLogoutView):
    """RP-initiated logout: ends the portal session (audited as any logout) and the system's tokens."""

    template_name = "oauth2_provider/tongban_logout_confirm.html"

    def get_request_application(self, id_token: Any, client_id: str | None) -> Any:
        if client_id:
            application = get_application_model().objects.filter(client_id=client_id).first()
            if application is None or not application_is_enabled(application.pk):
                raise InvalidOIDCClientError()
            return application
        if id_token:
            return id_token.application
        return None

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        token_user: Any = None,
    ) -> HttpResponse:
        session_user = self.request.user
        if session_user.is_authenticated:
            services.logout(request=self.request)
            token_user = token_user or session_user
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)

    def error_response(self, error: Any) -> HttpResponse:
        response = super().error_response(error)
        return _with_context(response, error_message=_explain_logout_error(error))


class DiscoveryView(dot_views.ConnectDiscoveryInfoView):
    """OpenID Provider metadata: DOT's document plus revocation, introspection and grant types.

    Every endpoint is an absolute URL on the issuer's origin (``settings.PUBLIC_URL``).
    """

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        data = json.loads(response.content)
        data.update(
            {
                "revocation_endpoint": self._get_endpoint_url(request, "revoke-token", required=True),
                "introspection_endpoint": self._get_endpoint_url(request, "introspect", required=True),
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "response_modes_supported": ["query"],
                "claims_supported": sorted(data.get("claims_supported", [])),
                # Registration gives every client that signs people in RS256 (identity.services.clients).
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_parameter_supported": False,
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
                "ui_locales_supported": ["zh-CN", "en"],
            }
        )
        answer = JsonResponse(data)
        answer["Access-Control-Allow-Origin"] = "*"
        return answer


# Mounted at /o/ in the "oauth2_provider" namespace, whose URL names DOT reverses. DOT's own
# application-management pages are deliberately not mounted: administrators register systems at
# /staff/clients/ (identity.views.clients).
urlpatterns = [
    path("authorize/", AuthorizeView.as_view(), name="authorize"),
    path("token/", dot_views.TokenView.as_view(), name="token"),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", dot_views.IntrospectTokenView.as_view(), name="introspect"),
    re_path(
        r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(), name="oidc-connect-discovery-info"
    ),
    path(".well-known/jwks.json", dot_views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", dot_views.UserInfoView.as_view(), name="user-info"),
    path("logout/", LogoutView.as_view(), name="rp-initiated-logout"),
]

# Mounted at the site root: discovery where OpenID Connect clients look for it (issuer +
# /.well-known/openid-configuration) and the RFC 8414 authorization-server metadata.
root_urlpatterns = [
    path(".well-known/openid-configuration", DiscoveryView.as_view(), name="oidc-discovery"),
    path(
        ".well-known/oauth-authorization-server",
        dot_views.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
]

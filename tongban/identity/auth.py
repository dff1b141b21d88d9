"""API authentication: a portal session (cookie + CSRF) or an OAuth2 bearer token from our OIDC provider."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.core.signals import setting_changed
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth
from oauth2_provider.oauth2_backends import OAuthLibCore, get_oauthlib_core

from tongban.identity import permissions


class PortalSession(SessionAuth):
    """The logged-in portal user; unsafe methods need the CSRF token, as for any form.

    A staff session counts only once its second factor is settled (``permissions.second_factor_pending``):
    the password alone opens no staff data, through pages or through the API.
    """

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or permissions.second_factor_pending(user) is not None:
            return None
        return user


@cache
def _oauthlib_core() -> OAuthLibCore:
    """DOT's OAuthLibCore, built once (it is stateless between requests, as DOT's own views assume)."""
    return get_oauthlib_core()


def _forget_oauthlib_core(*, setting: str, **kwargs: Any) -> None:
    if setting == "OAUTH2_PROVIDER":
        _oauthlib_core.cache_clear()


setting_changed.connect(_forget_oauthlib_core)


class OAuth2Bearer(HttpBearer):
    """A valid, unexpired access token issued by this platform's provider.

    Sets ``request.user`` to the token's user (None for client-credentials tokens) and
    ``request.oauth2_client`` to the calling application.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        valid, oauth_request = _oauthlib_core().verify_request(request, scopes=[])
        if not valid:
            return None
        request.oauth2_client = oauth_request.client  # type: ignore[attr-defined]
        if oauth_request.user is not None:
            request.user = oauth_request.user
        return oauth_request.access_token


session_or_token = [PortalSession(), OAuth2Bearer()]

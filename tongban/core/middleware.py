"""Request id and access logging.

Every request gets an id (the caller's ``X-Request-ID`` when it is a sane token, else a new one),
returned in the response header, bound to every log line and stored on audit rows.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import structlog
from csp.constants import HEADER as CSP_HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from tongban.core import context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = structlog.get_logger("tongban.request")


def client_ip(request: HttpRequest) -> str | None:
    if getattr(settings, "TONGBAN_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.bind(context.RequestContext(request_id=request_id, ip=client_ip(request)))
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            log.info(
                "request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                user_id=getattr(user, "pk", None),
            )
            return response
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            context.reset(token)


class StaticCSPMiddleware(CSPMiddleware):
    """django-csp with the header built once.

    django-csp rebuilds the policy string from settings on every response (about a third of a
    millisecond here). Tongban's policy is static, so the string is built on the first response and
    reused; a response with per-view CSP changes, or a request that used a nonce, takes
    django-csp's own path.
    """

    _PER_RESPONSE = ("_csp_exempt", "_csp_config", "_csp_update", "_csp_replace")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self._header: str | None = None

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if settings.DEBUG and response.status_code in (404, 500):
            return response  # Django's technical error pages use inline styles, as django-csp allows
        if any(hasattr(response, name) for name in self._PER_RESPONSE) or isinstance(
            getattr(request, "_csp_nonce", None), str
        ):
            return super().process_response(request, response)
        if self._header is None:
            self._header = build_policy(config=None)
        if self._header and CSP_HEADER not in response:
            response[CSP_HEADER] = self._header
        return response

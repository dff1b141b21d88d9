"""The JSON API under /api/v1/ (Django Ninja). Every error has the same shape:

{"error": {"code": "stable_code", "message": "human message (Chinese by default)", "fields": {...}}}
"""

from __future__ import annotations

import structlog
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from tongban.cases.api import router as cases_router
from tongban.catalog.api import router as catalog_router
from tongban.core.errors import DomainError
from tongban.dashboards.api import router as dashboards_router
from tongban.exchange.api import router as exchange_router
from tongban.identity.api import router as identity_router
from tongban.licences.api_public import router as licences_public_router
from tongban.licences.api_wallet import router as licences_wallet_router
from tongban.reviews.api import router as reviews_router
from tongban.supervision.api import router as supervision_router

log = structlog.get_logger("tongban.api")

api = NinjaAPI(
    title="Tongban API",
    version="1.0.0",
    description="Tongban (通办) Internet + Government Services platform: identity, services, data exchange.",
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, **extra: object) -> HttpResponse:
    return api.create_response(request, {"error": {"code": code, "message": message, **extra}}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"error": exc.as_dict()}, status=exc.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
        fields.setdefault(".".join(loc) or "request", []).append(str(err.get("msg", "")))
    return _error(request, 422, "request_invalid", _("The request is malformed."), fields=fields)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "not_authenticated", _("Log in first, or send a valid access token."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("No such object, or it is not yours to see."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("api.unhandled_error", path=request.path)
    return _error(request, 500, "internal_error", _("Something went wrong on our side; it has been logged."))


@api.get("/ping", auth=None, tags=["meta"], summary="Bare JSON answer (no database); the benchmark baseline")
def ping(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}


# The exchange first: its calls are the API's most frequent requests, and URL resolution tries the
# routes in order.
api.add_router("/", exchange_router)
api.add_router("/", identity_router)
api.add_router("/", catalog_router)
api.add_router("/", cases_router)
api.add_router("/", licences_public_router)
api.add_router("/", licences_wallet_router)
api.add_router("/", supervision_router)
api.add_router("/", reviews_router)
api.add_router("/", dashboards_router)

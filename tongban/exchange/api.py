"""The exchange API for department systems, under /api/v1/exchange/ (docs/adr/0014-data-exchange.md).

A system authenticates with an access token from OAuth2 client credentials (scope ``exchange``,
``POST /o/token/``) and sends ``Authorization: Bearer …``. The call endpoints answer with only the
granted items, or with ``{"error": {"code", "message"}, "call_id"}``; every call, answered or
refused, is recorded before the answer leaves (``X-Call-Id`` names the record).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from tongban.core import context
from tongban.core.schemas import ErrorOut
from tongban.exchange import gateway, selectors
from tongban.exchange.choices import GrantStatus, Operation
from tongban.exchange.schemas import (
    BatchIn,
    BatchOut,
    GrantOut,
    ItemOut,
    QueryIn,
    QueryOut,
    ResourceListOut,
    ResourceOut,
    VerifyIn,
    VerifyOut,
)

router = Router(tags=["exchange"])

_BEARER: list[dict[str, list[str]]] = [{"OAuth2Bearer": []}]  # the scheme the rest of the API declares
_ERRORS: dict[int, Any] = {
    400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut, 502: ErrorOut, 503: ErrorOut,
    504: ErrorOut,
}  # fmt: skip


def _body_doc(schema: Any) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        },
        "security": _BEARER,
    }


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _respond(result: gateway.CallResult) -> HttpResponse:
    encoded = result.encoded or json.dumps(result.body, ensure_ascii=False).encode()
    response = HttpResponse(encoded, status=result.status, content_type="application/json")
    for name, value in result.headers.items():
        response[name] = value
    return response


def _call(request: HttpRequest, operation: str) -> HttpResponse:
    raw = request.body
    body: Any
    if len(raw) > gateway.MAX_BODY_BYTES:
        body = None
    else:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
    result = gateway.call(
        caller=None,
        request=gateway.CallRequest(
            operation=operation, body=body, size=len(raw), request_id=context.current().request_id
        ),
        authenticate_with=_bearer(request),
    )
    return _respond(result)


@router.post(
    "/exchange/query",
    auth=None,
    response={200: QueryOut, **_ERRORS},
    summary="Query one record of a resource by its key (only the granted items are returned)",
    openapi_extra=_body_doc(QueryIn),
)
def exchange_query(request: HttpRequest) -> HttpResponse:
    return _call(request, Operation.QUERY)


@router.post(
    "/exchange/verify",
    auth=None,
    response={200: VerifyOut, **_ERRORS},
    summary="Verify given values of a record (核验): match or no match per field, no data returned",
    openapi_extra=_body_doc(VerifyIn),
)
def exchange_verify(request: HttpRequest) -> HttpResponse:
    return _call(request, Operation.VERIFY)


@router.post(
    "/exchange/batch",
    auth=None,
    response={200: BatchOut, **_ERRORS},
    summary="Query up to 100 records of a resource at once",
    openapi_extra=_body_doc(BatchIn),
)
def exchange_batch(request: HttpRequest) -> HttpResponse:
    return _call(request, Operation.BATCH)


def _caller_or_error(request: HttpRequest) -> gateway.Caller | HttpResponse:
    try:
        return gateway.authenticate(_bearer(request))
    except gateway.CallError as exc:
        body = {"error": {"code": exc.code, "message": exc.message}}
        return HttpResponse(
            json.dumps(body, ensure_ascii=False), status=exc.status, content_type="application/json"
        )


def _resource_out(resource: Any, grant: Any) -> ResourceOut:
    granted = set(grant.items) if grant is not None and grant.status == GrantStatus.ACTIVE else set()
    return ResourceOut(
        code=resource.code,
        name=resource.name,
        provider=resource.provider.name,
        summary=resource.summary,
        sharing_type=resource.sharing_type,
        update_cycle=resource.update_cycle,
        operations=[Operation.QUERY, Operation.VERIFY, Operation.BATCH],
        grant=GrantOut(
            id=grant.pk,
            status=selectors.effective_status(grant),
            items=list(grant.items),
            valid_from=grant.valid_from.isoformat(),
            valid_until=grant.valid_until.isoformat(),
            rate_per_minute=grant.rate_per_minute,
        )
        if grant is not None
        else None,
        items=[
            ItemOut(
                key=item.key,
                name=item.name,
                data_type=item.data_type,
                length=item.length,
                sensitive=item.sensitive,
                is_key=item.is_key,
                granted=item.key in granted,
            )
            for item in resource.items.all()
        ],
    )


@router.get(
    "/exchange/resources",
    auth=None,
    response={200: ResourceListOut, 401: ErrorOut, 403: ErrorOut},
    summary="The resources this system's department holds a grant (or an application) for, with their items",
    openapi_extra={"security": _BEARER},
)
def exchange_resources(request: HttpRequest) -> Any:
    caller = _caller_or_error(request)
    if isinstance(caller, HttpResponse):
        return caller
    pairs = selectors.client_resources(caller.department_id)
    return ResourceListOut(count=len(pairs), items=[_resource_out(r, g) for r, g in pairs])


@router.get(
    "/exchange/resources/{path:code}",
    auth=None,
    response={200: ResourceOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="One published resource: its items and types, and this department's grant if any",
    openapi_extra={"security": _BEARER},
)
def exchange_resource(request: HttpRequest, code: str) -> Any:
    caller = _caller_or_error(request)
    if isinstance(caller, HttpResponse):
        return caller
    resource, grant = selectors.client_resource(caller.department_id, code)
    return _resource_out(resource, grant)

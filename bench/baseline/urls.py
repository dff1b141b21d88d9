"""Tongban's URLs plus the baselines ``POST /bench/insert``, ``POST /bench/lookup``,
``GET /bench/licence/{identifier}`` and ``GET /bench/licence-prepared/{identifier}``: only under
bench.baseline.settings."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from bench.baseline.models import Row
from tongban.urls import urlpatterns as tongban_urlpatterns


@require_POST
def insert(request: HttpRequest) -> JsonResponse:
    """One authenticated write: the session and CSRF checks of any POST, then one INSERT.

    The CSRF middleware checks the token as for every other POST; the body is not read.
    """
    if not request.user.is_authenticated:
        return JsonResponse({"error": "log in first"}, status=401)
    with transaction.atomic():
        row = Row._default_manager.create(note=str(request.user.pk))
    return JsonResponse({"id": row.pk}, status=201)


@csrf_exempt
@require_POST
def lookup(request: HttpRequest) -> JsonResponse:
    """The exchange benchmarks' baseline: read ``key`` from a JSON body and fetch the same row the
    exchange fetches (one primary-key SELECT of the population base), with no token, no grant, no
    check of the key and no call record."""
    key = json.loads(request.body)["key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, birth_date FROM basedata_person WHERE resident_id = %s", [key])
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"found": False}, status=404)
    return JsonResponse({"name": row[0], "birth_date": row[1].isoformat()})


_LICENCE_SQL = (
    "SELECT l.id, l.identifier, l.holder_kind, l.holder_id, l.holder_name, l.number, l.data, "
    "l.issued_on, l.valid_from, l.valid_until, l.status, l.signature, t.code, t.name, "
    "d.credit_code, d.name, k.key_id, k.public_key "
    "FROM licences_licence l JOIN licences_licencetype t ON t.id = l.type_id "
    "JOIN identity_department d ON d.id = l.issuer_id JOIN licences_signingkey k ON k.id = l.key_id "
    "WHERE l.identifier = %s"
)


def _licence_answer(row: Any) -> JsonResponse:
    if row is None:
        return JsonResponse({"found": False}, status=404)
    return JsonResponse(
        {
            "identifier": row[1],
            "type_name": row[13],
            "issuer_name": row[15],
            "holder_name": row[4],
            "holder_id": row[3],
            "issued_on": str(row[7]),
            "valid_until": "" if row[9] is None else str(row[9]),
            "status": row[10],
        }
    )


@require_GET
def licence(request: HttpRequest, identifier: str) -> JsonResponse:
    """The licence verification benchmark's baseline: the statement the verification runs (the licence
    row with its type, issuer and key, by identifier) through Django's cursor, as a plain view would,
    answered as JSON: no check of the identifier, no signature check, no verdict, no masking."""
    with connection.cursor() as cursor:
        cursor.execute(_LICENCE_SQL, [identifier])
        return _licence_answer(cursor.fetchone())


@require_GET
def licence_prepared(request: HttpRequest, identifier: str) -> JsonResponse:
    """The same, with the statement prepared once per connection on PostgreSQL (a psycopg cursor
    with server-side binding, as ``exchange.gateway`` does: Django turns prepared statements off)."""
    if connection.vendor != "postgresql":
        return licence(request, identifier)
    connection.close_if_health_check_failed()  # what Django's cursor() does first
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 1_000_000
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(_LICENCE_SQL, [identifier], prepare=True)
        return _licence_answer(cursor.fetchone())


urlpatterns = [
    path("bench/insert", insert),
    path("bench/lookup", lookup),
    path("bench/licence/<str:identifier>", licence),
    path("bench/licence-prepared/<str:identifier>", licence_prepared),
    *tongban_urlpatterns,
]

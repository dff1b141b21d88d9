"""Tongban's URLs plus the baselines ``POST /bench/insert`` and ``POST /bench/lookup``: only under
bench.baseline.settings."""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

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


urlpatterns = [path("bench/insert", insert), path("bench/lookup", lookup), *tongban_urlpatterns]

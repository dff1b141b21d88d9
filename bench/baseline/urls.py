"""Tongban's URLs plus ``POST /bench/insert`` (the baseline): only under bench.baseline.settings."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
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


urlpatterns = [path("bench/insert", insert), *tongban_urlpatterns]

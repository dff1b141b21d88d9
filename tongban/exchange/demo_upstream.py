"""Stand-ins for two departments' own systems, so the demo's upstream resources answer (demo only).

In a real deployment 民政局's marriage registry and 人社局's social-insurance system are separate
systems behind the exchange (``exchange/upstream.py`` describes the contract they implement). The
demo has neither, so with ``TONGBAN_DEMO_UPSTREAMS`` (on in ``TONGBAN_ENV=dev`` only) the platform
mounts these two small endpoints under ``/demo-upstream/`` and registers them as the upstream
systems of the demo resources. They answer from the demo population, through the exchange like a
real upstream would: bearer key, 200 with a JSON object, 404 when there is no record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from tongban.basedata.models import Person


def demo_api_key(system: str) -> str:
    """The key each stand-in expects (derived from the secret key, so never a constant in the repo)."""
    message = f"demo-upstream:{system}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _authorised(request: HttpRequest, system: str) -> bool:
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(sent, demo_api_key(system))


def _person(key: str) -> Person | None:
    return Person.objects.filter(resident_id=key.upper()).first()


def _day(key: str, start: int, span: int) -> dt.date:
    offset = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % span
    return dt.date(start, 1, 1) + dt.timedelta(days=offset)


@require_GET
def marriage(request: HttpRequest, key: str) -> JsonResponse:
    if not _authorised(request, "mzj"):
        return JsonResponse({"error": "unauthorised"}, status=401)
    person = _person(key)
    first_year = 1990
    if person is None or person.marital_status in ("10", "90"):
        return JsonResponse({"error": "no marriage registration"}, status=404)
    return JsonResponse(
        {
            "resident_id": person.resident_id,
            "name": person.name,
            "marital_status": person.marital_status,
            "registered_on": _day(
                person.resident_id, max(person.birth_date.year + 22, first_year), 3000
            ).isoformat(),
            "registration_office": "六安市民政局婚姻登记处",
        }
    )


@require_GET
def social_insurance(request: HttpRequest, key: str) -> JsonResponse:
    if not _authorised(request, "rsj"):
        return JsonResponse({"error": "unauthorised"}, status=401)
    person = _person(key)
    if person is None or person.birth_date.year > 2008:
        return JsonResponse({"error": "not insured"}, status=404)
    return JsonResponse(
        {
            "resident_id": person.resident_id,
            "name": person.name,
            "insured": True,
            "insurance_types": "城镇职工基本养老保险、基本医疗保险",
            "since": _day(person.resident_id, max(person.birth_date.year + 20, 2000), 2000).isoformat(),
        }
    )


urlpatterns = [
    path("mzj/marriages/<str:key>", marriage, name="demo_upstream_marriage"),
    path("rsj/insurance/<str:key>", social_insurance, name="demo_upstream_insurance"),
]

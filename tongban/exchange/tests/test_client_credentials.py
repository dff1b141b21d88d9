"""The issue's walk: a department system gets a token with an ordinary OAuth2 client library (Authlib),
is refused until its department's application is approved, then gets exactly the granted items."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache
from django.utils import timezone

from tongban.exchange import gateway, services
from tongban.exchange.models import CallRecord
from tongban.exchange.tests import factories as f
from tongban.identity.services import clients

TIMEOUT = 10


@pytest.mark.django_db(transaction=True)
def test_a_system_with_client_credentials_is_refused_then_served(live_server: Any, settings: Any) -> None:
    settings.PUBLIC_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    cache.clear()
    gateway.forget_cached_items()
    gaj = f.department("c-gaj", "六安市公安局")
    rsj = f.department("c-rsj", "六安市人力资源和社会保障局")
    provider_officer = f.data_officer(gaj)
    consumer_officer = f.data_officer(rsj)
    population = f.resource(gaj)
    person = f.person(name="李娜", gender="2", marital_status="10")
    registered = clients.client_register(
        name="人社业务系统", grant_type="client-credentials", department=rsj, by=None
    )

    session = OAuth2Session(registered.application.client_id, registered.client_secret, scope="exchange")
    token = session.fetch_token(
        f"{live_server.url}/o/token/", grant_type="client_credentials", timeout=TIMEOUT
    )
    assert token["scope"] == "exchange"

    def query(**extra: Any) -> Any:
        body = {
            "resource": population.code,
            "key": person.resident_id,
            "purpose": "失业保险金申领核验身份",
            **extra,
        }
        return session.post(f"{live_server.url}/api/v1/exchange/query", json=body, timeout=TIMEOUT)

    refused = query()
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "grant_missing"

    today = timezone.localdate()
    grant = services.grant_request(
        resource=population,
        consumer=rsj,
        items=["name", "gender"],
        purpose="失业保险金申领时核验申请人身份",
        valid_from=today,
        valid_until=today + dt.timedelta(days=365),
        by=consumer_officer,
    )
    pending = query()
    assert pending.status_code == 403
    assert pending.json()["error"]["code"] == "grant_pending"

    services.grant_approve(grant=grant, by=provider_officer)
    served = query()
    assert served.status_code == 200, served.text
    assert served.json()["record"] == {"name": "李娜", "gender": "2"}
    too_much = query(items=["name", "marital_status"])
    assert too_much.status_code == 403
    assert too_much.json()["error"]["not_granted"] == ["marital_status"]

    records = list(
        CallRecord.objects.order_by("requested_at").values_list("error_code", "http_status", "client_id")
    )
    client_id = registered.application.client_id
    assert records == [
        ("grant_missing", 403, client_id),
        ("grant_pending", 403, client_id),
        ("", 200, client_id),
        ("items_not_granted", 403, client_id),
    ]
    session.close()

"""The exchange API: only granted items, every refusal with its code, every call recorded."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tongban.exchange import gateway
from tongban.exchange.choices import GrantStatus
from tongban.exchange.models import CallRecord
from tongban.exchange.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    cache.clear()
    gateway.forget_cached_items()


@pytest.fixture
def world() -> dict[str, Any]:
    gaj = f.department("x-gaj", "六安市公安局")
    rsj = f.department("x-rsj", "六安市人力资源和社会保障局")
    other = f.department("x-other", "六安市文化和旅游局")
    population = f.resource(gaj)
    zhang = f.person(name="张伟", marital_status="20")
    return {
        "gaj": gaj,
        "rsj": rsj,
        "other": other,
        "population": population,
        "zhang": zhang,
        "system": f.system(rsj),
        "stranger": f.system(other),
    }


def post(client: Client, path: str, body: Any, system: f.System | None) -> Any:
    headers = system.headers if system else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"/api/v1/exchange/{path}", data, content_type="application/json", headers=headers)


def ask(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resource": world["population"].code,
        "key": world["zhang"].resident_id,
        "purpose": "办理就业登记核验身份",
        **extra,
    }


def test_query_returns_exactly_the_granted_items_and_records_the_call(
    client: Client, world: dict[str, Any]
) -> None:
    f.grant(world["rsj"], world["population"], items=["name", "gender", "birth_date"])
    reply = post(
        client, "query", ask(world, case_number="CASE-1", on_behalf_of="approver.rsj"), world["system"]
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["record"] == {"name": "张伟", "gender": "1", "birth_date": "1986-03-12"}
    assert reply["X-Call-Id"] == body["call_id"]
    record = CallRecord.objects.get(pk=body["call_id"])
    assert record.outcome == "ok"
    assert record.http_status == 200
    assert record.consumer_department_id == world["rsj"].pk
    assert record.provider_department_id == world["gaj"].pk
    assert record.resource_id == world["population"].pk
    assert record.items == ["name", "gender", "birth_date"]
    assert record.purpose == "办理就业登记核验身份"
    assert record.case_number == "CASE-1"
    assert record.on_behalf_of == "approver.rsj"
    assert record.client_id == world["system"].client_id
    assert record.key_hash
    assert world["zhang"].resident_id not in record.key_hash
    assert record.key_hash == gateway.hash_key(world["zhang"].resident_id)
    assert record.response_bytes == len(reply.content)
    assert record.request_bytes > 0
    assert record.latency_ms >= 0


def test_a_subset_of_the_granted_items_can_be_asked(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name", "gender", "birth_date"])
    reply = post(client, "query", ask(world, items=["name"]), world["system"])
    assert reply.json()["record"] == {"name": "张伟"}


def test_items_outside_the_grant_are_refused_and_named(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name"])
    reply = post(
        client, "query", ask(world, items=["name", "household_address", "marital_status"]), world["system"]
    )
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["code"] == "items_not_granted"
    assert error["not_granted"] == ["household_address", "marital_status"]
    assert "record" not in reply.json()
    record = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert (record.outcome, record.error_code, record.items) == ("refused", "items_not_granted", [])


def test_unknown_items_are_a_bad_request(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name"])
    reply = post(client, "query", ask(world, items=["salary"]), world["system"])
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "items_unknown"


@pytest.mark.parametrize(
    ("status", "code"),
    [(GrantStatus.PENDING, "grant_pending"), (GrantStatus.SUSPENDED, "grant_suspended")],
)
def test_a_grant_that_is_not_active_refuses_the_call(
    client: Client, world: dict[str, Any], status: str, code: str
) -> None:
    f.grant(world["rsj"], world["population"], status=status)
    reply = post(client, "query", ask(world), world["system"])
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == code
    assert "record" not in reply.json()
    assert CallRecord.objects.get(pk=reply.json()["call_id"]).error_code == code


def test_an_expired_grant_refuses_the_call_even_before_the_sweep(
    client: Client, world: dict[str, Any]
) -> None:
    today = timezone.localdate()
    f.grant(
        world["rsj"],
        world["population"],
        valid_from=today - dt.timedelta(days=60),
        valid_until=today - dt.timedelta(days=1),
    )
    reply = post(client, "query", ask(world), world["system"])
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "grant_expired"


def test_no_grant_refuses_and_another_departments_grant_does_not_help(
    client: Client, world: dict[str, Any]
) -> None:
    f.grant(world["rsj"], world["population"])
    reply = post(client, "query", ask(world), world["stranger"])
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "grant_missing"
    record = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert record.consumer_department_id == world["other"].pk
    assert record.provider_department_id == world["gaj"].pk  # the provider sees refused calls too


def test_refused_and_revoked_grants_are_no_grant(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], status=GrantStatus.REVOKED)
    reply = post(client, "query", ask(world), world["system"])
    assert reply.json()["error"]["code"] == "grant_missing"


def test_unknown_or_unpublished_resource_is_404(client: Client, world: dict[str, Any]) -> None:
    draft = f.resource(world["gaj"], name="草稿资源", status="draft")
    f.grant(world["rsj"], draft)
    for code in ("999999/000000", draft.code):
        reply = post(client, "query", ask(world, resource=code), world["system"])
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "resource_not_found"


def test_missing_purpose_is_400(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"])
    for purpose in (None, "", " "):
        body = ask(world)
        body["purpose"] = purpose
        reply = post(client, "query", body, world["system"])
        assert reply.status_code == 400
        assert reply.json()["error"]["code"] == "purpose_required"
    assert CallRecord.objects.filter(error_code="purpose_required").count() == 3


@pytest.mark.parametrize("key", ["34150219860312123X", "3415021986031212", "ABCDEFGHIJKLMNOPQR", ""])
def test_malformed_resident_id_is_400(client: Client, world: dict[str, Any], key: str) -> None:
    f.grant(world["rsj"], world["population"])
    reply = post(client, "query", ask(world, key=key), world["system"])
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] in {"key_invalid", "key_required"}


def test_malformed_credit_code_is_400(client: Client, world: dict[str, Any]) -> None:
    scjgj = f.department("x-scjgj", "六安市市场监督管理局")
    entities = f.resource(
        scjgj,
        name="法人单位基础信息",
        items=f.LEGAL_ENTITY_ITEMS,
        dataset="legal_entity",
        sharing_type="unconditional",
    )
    company = f.entity()
    f.grant(world["rsj"], entities, items=["name", "status", "registered_capital", "established_on"])
    ok = post(
        client,
        "query",
        {"resource": entities.code, "key": company.credit_code, "purpose": "开办企业"},
        world["system"],
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["record"] == {
        "name": "六安市测试茶业有限公司",
        "status": "active",
        "registered_capital": "500",
        "established_on": "2013-05-20",
    }
    bad = post(
        client,
        "query",
        {"resource": entities.code, "key": "91341500MA2TEST00X", "purpose": "开办企业"},
        world["system"],
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "key_invalid"


def test_a_key_not_in_the_base_is_404_and_recorded_as_not_found(
    client: Client, world: dict[str, Any]
) -> None:
    f.grant(world["rsj"], world["population"])
    missing = f.make_resident_id("341522", "19900101", seq=7)
    reply = post(client, "query", ask(world, key=missing), world["system"])
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "record_not_found"
    record = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert (record.outcome, record.items) == ("not_found", [])


def test_verify_answers_per_field_without_data(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name", "birth_date", "marital_status"])
    reply = post(
        client,
        "verify",
        ask(world, fields={"name": "张伟", "birth_date": "1986-03-12", "marital_status": "10"}),
        world["system"],
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["match"] is False
    assert body["fields"] == {"name": True, "birth_date": True, "marital_status": False}
    assert "张伟" not in reply.content.decode()
    assert "20" not in json.dumps(body["fields"])
    record = CallRecord.objects.get(pk=body["call_id"])
    assert (record.operation, record.outcome, record.items) == ("verify", "ok", [])


def test_verify_of_an_unknown_key_says_no_match(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name"])
    missing = f.make_resident_id("341522", "19900101", seq=8)
    reply = post(client, "verify", ask(world, key=missing, fields={"name": "张伟"}), world["system"])
    assert reply.status_code == 200
    assert reply.json()["match"] is False
    assert CallRecord.objects.get(pk=reply.json()["call_id"]).outcome == "not_found"


def test_verify_of_items_outside_the_grant_is_refused(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name"])
    reply = post(client, "verify", ask(world, fields={"marital_status": "20"}), world["system"])
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "items_not_granted"


def test_batch_returns_each_key_in_order(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name"])
    li = f.person(name="李娜", gender="2")
    missing = f.make_resident_id("341522", "19900101", seq=9)
    keys = [li.resident_id, missing, world["zhang"].resident_id]
    reply = post(client, "batch", {**ask(world), "keys": keys}, world["system"])
    assert reply.status_code == 200, reply.content
    results = reply.json()["results"]
    assert [(r["key"], r["found"], r["record"]) for r in results] == [
        (li.resident_id, True, {"name": "李娜"}),
        (missing, False, None),
        (world["zhang"].resident_id, True, {"name": "张伟"}),
    ]
    record = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert record.key_count == 3
    assert record.key_hashes == [gateway.hash_key(k) for k in keys]


def test_batch_over_the_limit_is_refused(client: Client, world: dict[str, Any], settings: Any) -> None:
    settings.TONGBAN_EXCHANGE_BATCH_MAX = 2
    f.grant(world["rsj"], world["population"], items=["name"])
    keys = [f.make_resident_id(seq=i) for i in range(3)]
    reply = post(client, "batch", {**ask(world), "keys": keys}, world["system"])
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "batch_too_large"


def test_over_the_rate_is_429_with_retry_after(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], rate_per_minute=3)
    codes = [post(client, "query", ask(world), world["system"]).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    reply = post(client, "query", ask(world), world["system"])
    assert reply.status_code == 429
    assert reply.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(reply["Retry-After"]) <= 60
    assert CallRecord.objects.filter(error_code="rate_limited").count() == 1


@pytest.mark.parametrize(
    ("headers", "code", "status"),
    [
        ({}, "not_authenticated", 401),
        ({"Authorization": "Bearer not-a-token"}, "token_invalid", 401),
        ({"Authorization": "Basic abc"}, "not_authenticated", 401),
    ],
)
def test_calls_without_a_valid_token_are_401_and_recorded(
    client: Client, world: dict[str, Any], headers: dict[str, str], code: str, status: int
) -> None:
    reply = client.post(
        "/api/v1/exchange/query", json.dumps(ask(world)), content_type="application/json", headers=headers
    )
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code
    record = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert record.consumer_department_id is None
    assert record.error_code == code


def test_an_expired_token_or_one_without_the_scope_is_refused(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"])
    expired = f.system(world["rsj"], expires_in=-10)
    assert post(client, "query", ask(world), expired).json()["error"]["code"] == "token_invalid"
    no_scope = f.system(world["rsj"], scope="openid")
    assert post(client, "query", ask(world), no_scope).json()["error"]["code"] == "scope_missing"


def test_a_disabled_system_is_refused(client: Client, world: dict[str, Any]) -> None:
    from tongban.identity.models import DepartmentSystem

    f.grant(world["rsj"], world["population"])
    DepartmentSystem.objects.filter(application__client_id=world["system"].client_id).update(
        disabled_at=timezone.now()
    )
    reply = post(client, "query", ask(world), world["system"])
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "client_not_allowed"


def test_malformed_json_is_400_and_recorded(client: Client, world: dict[str, Any]) -> None:
    reply = post(client, "query", "{not json", world["system"])
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "request_invalid"
    assert CallRecord.objects.get(pk=reply.json()["call_id"]).http_status == 400


def test_the_records_match_the_calls_made(client: Client, world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name"])
    made = []
    for body in (ask(world), ask(world, items=["gender"]), ask(world, purpose=""), ask(world)):
        reply = post(client, "query", body, world["system"])
        made.append((reply.json()["call_id"], reply.status_code))
    recorded = {(str(r.call_id), r.http_status) for r in CallRecord.objects.all()}
    assert recorded == set(made)


def test_metadata_lists_the_departments_resources_and_their_schema(
    client: Client, world: dict[str, Any]
) -> None:
    f.grant(world["rsj"], world["population"], items=["name", "gender"])
    listing = client.get("/api/v1/exchange/resources", headers=world["system"].headers)
    assert listing.status_code == 200, listing.content
    body = listing.json()
    assert body["count"] == 1
    entry = body["items"][0]
    assert entry["code"] == world["population"].code
    assert entry["grant"]["status"] == "active"
    granted = {i["key"] for i in entry["items"] if i["granted"]}
    assert granted == {"name", "gender"}
    assert next(i for i in entry["items"] if i["key"] == "resident_id")["is_key"] is True

    one = client.get(
        f"/api/v1/exchange/resources/{world['population'].code}", headers=world["system"].headers
    )
    assert one.status_code == 200
    assert one.json()["name"] == "人口基础信息"
    assert client.get("/api/v1/exchange/resources", headers=world["stranger"].headers).json()["count"] == 0
    assert client.get("/api/v1/exchange/resources").status_code == 401
    missing = client.get("/api/v1/exchange/resources/999/000", headers=world["system"].headers)
    assert missing.status_code == 404


def test_repeated_calls_answer_the_same_after_the_source_or_the_items_change(
    client: Client, world: dict[str, Any]
) -> None:
    """The second call of a resource reads the record with the token (a per-process hint of where
    the resource is served from); the hint must never give a stale or a wrong answer."""
    f.grant(world["rsj"], world["population"], items=["name", "gender", "birth_date"])
    first = post(client, "query", ask(world, items=["name"]), world["system"]).json()
    again = post(client, "query", ask(world, items=["name"]), world["system"]).json()
    assert first["record"] == again["record"] == {"name": "张伟"}
    wider = post(client, "query", ask(world, items=["name", "birth_date"]), world["system"]).json()
    assert wider["record"] == {"name": "张伟", "birth_date": "1986-03-12"}
    everything = post(client, "query", ask(world), world["system"]).json()
    assert everything["record"] == {"name": "张伟", "gender": "1", "birth_date": "1986-03-12"}
    verify = post(client, "verify", ask(world, fields={"gender": "1"}), world["system"]).json()
    assert verify["fields"] == {"gender": True}
    other = f.person(name="李娜", gender="2")
    assert (
        post(client, "query", ask(world, key=other.resident_id), world["system"]).json()["record"]["name"]
        == "李娜"
    )
    # The provider moves the resource to another source: the next call must not use the hint.
    from tongban.exchange.models import ResourceSource

    ResourceSource.objects.filter(resource=world["population"]).update(dataset="legal_entity")
    moved = post(client, "query", ask(world, items=["name"]), world["system"])
    assert moved.status_code == 404  # the resident ID is no credit code in the legal-entity base

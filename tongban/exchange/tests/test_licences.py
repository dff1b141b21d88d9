"""The licence library through the exchange: a licence by holder and type, under a grant, every use
in the holder's wallet with the call's id (issue 5, item 6)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongban.exchange import gateway
from tongban.exchange.models import CallRecord
from tongban.exchange.tests import factories as f
from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import make_resident_id
from tongban.licences import selectors as licence_selectors
from tongban.licences import services as licence_services
from tongban.licences.choices import HolderKind, LicenceOrigin, UseKind, Validity
from tongban.licences.models import Licence, LicenceType, LicenceUse
from tongban.licences.tests import staff_world as lw

pytestmark = pytest.mark.django_db

ALL_ITEMS = [key for key, _n, _t, is_key in f.LICENCE_ITEMS if not is_key]


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    cache.clear()
    gateway.forget_cached_items()


@dataclass
class World:
    sjj: Department  # provides the library
    rsj: Department  # the consumer with a grant
    other: Department  # a department without one
    mzj: Department  # issues marriage certificates
    scj: Department  # issues food licences (to enterprises)
    library: Any
    marriage: LicenceType
    food: LicenceType
    approver: User  # of mzj
    scj_approver: User
    holder_id: str
    licence: Licence
    system: f.System
    stranger: f.System


def issue_marriage(world_or_type: Any, by: User, holder_id: str, name: str = "张晓明") -> Licence:
    type_ = world_or_type.marriage if isinstance(world_or_type, World) else world_or_type
    data = lw.person_data(name, holder_id, registry="六安市民政局婚姻登记处")
    return lw.issue(type_, by, holder_id=holder_id, name=name, data=data)


@pytest.fixture
def world() -> World:
    sjj = f.department("x-sjj", "六安市数据资源管理局")
    rsj = f.department("x-rsj", "六安市人力资源和社会保障局")
    other = f.department("x-wlj", "六安市文化和旅游局")
    mzj = lw.department("x-mzj", "六安市民政局")
    scj = lw.department("x-scj", "六安市市场监督管理局")
    admin = lw.staff(sjj, Role.ADMINISTRATOR)
    marriage = lw.licence_type(mzj)
    food = lw.licence_type(
        scj, name="食品经营许可证", holder=HolderKind.ENTERPRISE, fields=lw.ENTERPRISE_FIELDS,
        validity=Validity.GIVEN,
    )  # fmt: skip
    licence_services.signing_key_rotate(department=mzj, by=admin, reason="初始密钥")
    licence_services.signing_key_rotate(department=scj, by=admin, reason="初始密钥")
    approver = lw.staff(mzj, Role.APPROVER)
    holder_id = make_resident_id("341502", "19900101", seq=11)
    licence = issue_marriage(marriage, approver, holder_id)
    return World(
        sjj=sjj,
        rsj=rsj,
        other=other,
        mzj=mzj,
        scj=scj,
        library=f.licence_library(sjj),
        marriage=marriage,
        food=food,
        approver=approver,
        scj_approver=lw.staff(scj, Role.APPROVER),
        holder_id=holder_id,
        licence=licence,
        system=f.system(rsj),
        stranger=f.system(other),
    )


def post(client: Client, operation: str, body: Any, system: f.System) -> Any:
    return client.post(
        f"/api/v1/exchange/{operation}",
        json.dumps(body),
        content_type="application/json",
        headers=system.headers,
    )


def ask(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "resource": world.library.code,
        "key": world.holder_id,
        "licence_type": world.marriage.code,
        "purpose": "遗属待遇申领核验婚姻关系",
        "case_number": "RSJ-2026-0042",
        **extra,
    }


def uses(licence: Licence) -> list[LicenceUse]:
    return list(LicenceUse.objects.filter(licence=licence).order_by("pk"))


# --- query -----------------------------------------------------------------------------------------


def test_query_serves_the_licence_with_the_granted_items_and_the_holder_sees_the_use(
    client: Client, world: World
) -> None:
    f.grant(world.rsj, world.library, items=ALL_ITEMS)
    reply = post(client, "query", ask(world, on_behalf_of="approver.rsj"), world.system)
    assert reply.status_code == 200, reply.content
    body = reply.json()
    record = body["record"]
    licence = world.licence
    assert set(record) == set(ALL_ITEMS)
    assert record["identifier"] == licence.identifier
    assert (record["type_code"], record["type_name"]) == (world.marriage.code, "结婚证")
    assert record["holder_name"] == "张晓明"
    assert record["issuer_name"] == "六安市民政局"
    assert record["issued_on"] == licence.issued_on.isoformat()
    assert record["valid_until"] is None  # long-term
    assert record["status"] == "valid"
    assert record["data"] == licence.data
    assert record["data"]["spouse_name"] == "李四"
    assert record["signature"] == licence.signature
    assert record["key_id"] == licence.key.key_id
    assert record["signature_valid"] is True
    call = CallRecord.objects.get(pk=body["call_id"])
    assert (call.outcome, call.http_status, call.operation) == ("ok", 200, "query")
    assert call.items == ALL_ITEMS
    assert call.key_hash == gateway.hash_key(world.holder_id)
    assert call.provider_department_id == world.sjj.pk
    [use] = uses(licence)
    assert use.kind == UseKind.EXCHANGE_FETCH
    assert use.department == world.rsj
    assert use.actor_label == world.system.client_id
    assert (use.case_number, use.purpose) == ("RSJ-2026-0042", "遗属待遇申领核验婚姻关系")
    assert str(use.call_id) == body["call_id"]
    assert list(licence_selectors.uses_of(licence)) == [use]  # what the wallet lists


def test_only_the_granted_items_come_back_and_others_are_refused(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=["identifier", "status", "signature_valid"])
    reply = post(client, "query", ask(world), world.system)
    assert reply.json()["record"] == {
        "identifier": world.licence.identifier,
        "status": "valid",
        "signature_valid": True,
    }
    refused = post(client, "query", ask(world, items=["identifier", "data"]), world.system)
    assert refused.status_code == 403
    assert refused.json()["error"]["not_granted"] == ["data"]
    assert len(uses(world.licence)) == 1  # only the answered call


def test_the_newest_usable_licence_is_served_and_a_revoked_one_never(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=["identifier", "status"])
    newer = issue_marriage(world, world.approver, world.holder_id)
    assert post(client, "query", ask(world), world.system).json()["record"]["identifier"] == newer.identifier
    licence_services.licence_revoke(licence=newer, reason="登记错误，依法撤销", by=world.approver)
    older = post(client, "query", ask(world), world.system)
    assert older.json()["record"]["identifier"] == world.licence.identifier
    licence_services.licence_revoke(licence=world.licence, reason="登记错误，依法撤销", by=world.approver)
    gone = post(client, "query", ask(world), world.system)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "record_not_found"
    assert "record" not in gone.json()
    call = CallRecord.objects.get(pk=gone.json()["call_id"])
    assert (call.outcome, call.error_code, call.items) == ("not_found", "record_not_found", [])
    assert not LicenceUse.objects.filter(call_id=call.call_id).exists()


def test_an_expired_licence_is_not_served_even_before_the_nightly_job(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=["identifier"])
    today = timezone.localdate()
    code = lw.credit_code()
    prepared = licence_services.prepare(
        type_=world.food,
        holder_id=code,
        holder_name="六安市过期食品有限公司",
        data={"name": "六安市过期食品有限公司", "credit_code": code},
        issued_on=today - dt.timedelta(days=400),
        valid_until=today - dt.timedelta(days=1),
    )
    licence_services.issue_prepared_batch(
        [prepared], type_=world.food, batch=None, origin=LicenceOrigin.IMPORTED
    )
    expired = Licence.objects.get(holder_id=code)
    assert expired.status == "valid"  # not marked yet
    reply = post(client, "query", ask(world, key=code, licence_type=world.food.code), world.system)
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "record_not_found"
    assert not uses(expired)


def test_an_enterprise_is_looked_up_by_its_credit_code(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=["identifier", "holder_name", "valid_until"])
    code = lw.credit_code()
    until = timezone.localdate() + dt.timedelta(days=365 * 5)
    food = licence_services.licence_issue(
        type_=world.food,
        holder_id=code,
        holder_name="六安市茶香食品有限公司",
        data={"name": "六安市茶香食品有限公司", "credit_code": code, "address": "六安市金安区"},
        by=world.scj_approver,
        valid_until=until,
    )
    reply = post(client, "query", ask(world, key=code.lower(), licence_type=world.food.code), world.system)
    assert reply.status_code == 200, reply.content
    assert reply.json()["record"] == {
        "identifier": food.identifier,
        "holder_name": "六安市茶香食品有限公司",
        "valid_until": until.isoformat(),
    }
    assert uses(food)[0].kind == UseKind.EXCHANGE_FETCH


# --- verify ------------------------------------------------------------------------------------------


def test_verify_answers_per_field_and_records_a_verify_use(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=["identifier", "holder_name", "status"])
    claims = {"identifier": world.licence.identifier, "holder_name": "张晓明", "status": "valid"}
    reply = post(client, "verify", {**ask(world), "fields": claims}, world.system)
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["match"] is True
    assert body["fields"] == {"identifier": True, "holder_name": True, "status": True}
    assert "record" not in body
    wrong = post(
        client, "verify", {**ask(world), "fields": {**claims, "holder_name": "张小明"}}, world.system
    )
    assert wrong.json()["match"] is False
    assert wrong.json()["fields"]["holder_name"] is False
    kinds = [(u.kind, str(u.call_id)) for u in uses(world.licence)]
    assert kinds == [
        (UseKind.EXCHANGE_VERIFY, body["call_id"]),
        (UseKind.EXCHANGE_VERIFY, wrong.json()["call_id"]),
    ]
    call = CallRecord.objects.get(pk=body["call_id"])
    assert (call.operation, call.outcome, call.items) == ("verify", "ok", [])


def test_verify_of_a_holder_without_the_licence_says_no_match_and_uses_nothing(
    client: Client, world: World
) -> None:
    f.grant(world.rsj, world.library, items=["holder_name", "status"])
    nobody = make_resident_id("341503", "19750101", seq=3)
    reply = post(
        client, "verify", {**ask(world, key=nobody), "fields": {"holder_name": "王五", "status": "valid"}},
        world.system,
    )  # fmt: skip
    assert reply.status_code == 200
    assert reply.json()["fields"] == {"holder_name": False, "status": False}
    assert CallRecord.objects.get(pk=reply.json()["call_id"]).outcome == "not_found"
    assert not LicenceUse.objects.exists()


# --- batch -------------------------------------------------------------------------------------------


def test_batch_serves_several_holders_of_one_type_each_with_its_use(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=["identifier", "holder_name"])
    second_id = make_resident_id("341503", "19880808", seq=21)
    second = issue_marriage(world, world.approver, second_id, name="李娜")
    nobody = make_resident_id("341504", "19700101", seq=5)
    body = {**ask(world), "keys": [world.holder_id, second_id, nobody, world.holder_id]}
    body.pop("key")
    reply = post(client, "batch", body, world.system)
    assert reply.status_code == 200, reply.content
    results = reply.json()["results"]
    assert [(r["key"], r["found"]) for r in results] == [
        (world.holder_id, True),
        (second_id, True),
        (nobody, False),
    ]
    assert results[1]["record"] == {"identifier": second.identifier, "holder_name": "李娜"}
    call_id = reply.json()["call_id"]
    served = LicenceUse.objects.filter(call_id=call_id)
    assert sorted(served.values_list("licence_id", flat=True)) == sorted([world.licence.pk, second.pk])
    assert set(served.values_list("kind", flat=True)) == {UseKind.EXCHANGE_FETCH}
    call = CallRecord.objects.get(pk=call_id)
    assert (call.operation, call.key_count, len(call.key_hashes)) == ("batch", 3, 3)


# --- refusals ----------------------------------------------------------------------------------------


def test_without_a_grant_the_call_is_refused_recorded_and_uses_nothing(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=ALL_ITEMS)  # another department's grant does not help
    reply = post(client, "query", ask(world), world.stranger)
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "grant_missing"
    call = CallRecord.objects.get(pk=reply.json()["call_id"])
    assert (call.consumer_department_id, call.error_code) == (world.other.pk, "grant_missing")
    assert not LicenceUse.objects.exists()


@pytest.mark.parametrize(
    ("licence_type", "status", "code"),
    [
        (None, 400, "licence_type_required"),
        ("  ", 400, "licence_type_required"),
        (42, 400, "request_invalid"),
        ("11100000MB0000000X999", 404, "licence_type_unknown"),
        ("X" * 200, 404, "licence_type_unknown"),
    ],
)
def test_the_licence_type_is_required_and_must_be_known(
    client: Client, world: World, licence_type: Any, status: int, code: str
) -> None:
    f.grant(world.rsj, world.library, items=ALL_ITEMS)
    body = ask(world, licence_type=licence_type)
    if licence_type is None:
        body.pop("licence_type")
    reply = post(client, "query", body, world.system)
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code
    assert "licence_type" in reply.json()["error"]["fields"]
    assert CallRecord.objects.get(pk=reply.json()["call_id"]).error_code == code
    assert not LicenceUse.objects.exists()


def test_an_inactive_licence_type_is_unknown(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=ALL_ITEMS)
    LicenceType.objects.filter(pk=world.marriage.pk).update(is_active=False)
    reply = post(client, "query", ask(world), world.system)
    assert (reply.status_code, reply.json()["error"]["code"]) == (404, "licence_type_unknown")


def _wrong_last(value: str) -> str:
    return value[:-1] + ("1" if value[-1] != "1" else "2")


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("", "key_required"),
        ("12345", "key_invalid"),
        (_wrong_last(make_resident_id("341502", "19900101", seq=12)), "key_invalid"),  # check digit
        (_wrong_last("11341500MB1234567K"), "key_invalid"),  # a credit code's check character
    ],
)
def test_a_bad_holder_id_is_a_bad_request(client: Client, world: World, key: str, code: str) -> None:
    f.grant(world.rsj, world.library, items=ALL_ITEMS)
    assert post(client, "query", ask(world, key="11341500MB1234567K"), world.system).status_code == 404
    reply = post(client, "query", ask(world, key=key), world.system)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == code
    assert CallRecord.objects.get(pk=reply.json()["call_id"]).error_code == code
    assert not LicenceUse.objects.exists()


# --- the record and the uses commit together -----------------------------------------------------------


def _refuse_call_records() -> None:
    table = connection.ops.quote_name(CallRecord._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION h4_refuse_call() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'call records refused'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER h4_refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION h4_refuse_call()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER h4_refuse BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'call records refused'); END"
            )


def test_no_use_row_and_no_answer_without_the_call_record(client: Client, world: World) -> None:
    f.grant(world.rsj, world.library, items=ALL_ITEMS)
    _refuse_call_records()  # the database refuses the INSERT (a full disk, a lost partition…)
    reply = post(client, "query", ask(world), world.system)
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "call_record_failed"
    assert "record" not in reply.json()
    assert not LicenceUse.objects.exists()


# --- the other paths are untouched ---------------------------------------------------------------------


def test_the_base_data_path_runs_no_more_statements_than_before(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The licence branch adds nothing to a base-data call: once warm, a verify is the one joined
    statement (token, grant and record) and the call record's INSERT.

    On PostgreSQL the hot path runs through its own prepared psycopg cursor, which Django's query
    capture does not see, so the gateway's statements are counted where they are run."""
    hot_path: list[str] = []
    fetch = gateway._fetch

    def counted(sql: str, params: Any, **kwargs: Any) -> Any:
        if connection.vendor == "postgresql":
            hot_path.append(sql)
        return fetch(sql, params, **kwargs)

    monkeypatch.setattr(gateway, "_fetch", counted)
    gaj = f.department("x-gaj", "六安市公安局")
    population = f.resource(gaj)
    zhang = f.person(name="张伟")
    f.grant(world.rsj, population, items=["name"])
    body = {
        "resource": population.code,
        "key": zhang.resident_id,
        "purpose": "核验身份",
        "fields": {"name": "张伟"},
    }
    assert post(client, "verify", body, world.system).json()["match"] is True  # warms the caches
    hot_path.clear()
    with CaptureQueriesContext(connection) as queries:
        assert post(client, "verify", body, world.system).json()["match"] is True
    statements = [q["sql"] for q in queries.captured_queries] + hot_path
    assert len(statements) == 2, statements
    assert not [sql for sql in statements if "licences_" in sql]

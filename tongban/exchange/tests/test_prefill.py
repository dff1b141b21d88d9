"""The platform's own calls while a citizen applies (免提交): under the handling department's grant,
recorded and limited like any system's; and what that department's grants let it fetch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from tongban.exchange import gateway, services
from tongban.exchange.choices import GrantStatus
from tongban.exchange.models import CallRecord
from tongban.exchange.tests import factories as f
from tongban.identity.choices import Role
from tongban.identity.tests.factories import make_resident_id
from tongban.licences import services as licence_services
from tongban.licences.choices import UseKind
from tongban.licences.models import LicenceUse
from tongban.licences.tests import staff_world as lw

pytestmark = pytest.mark.django_db

PURPOSE = "办理“城乡居民养老保险参保登记”时免提交材料"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    cache.clear()
    gateway.forget_cached_items()


@pytest.fixture
def world() -> dict[str, Any]:
    gaj = f.department("p-gaj", "六安市公安局")
    rsj = f.department("p-rsj", "六安市人力资源和社会保障局")
    other = f.department("p-wlj", "六安市文化和旅游局")
    return {
        "gaj": gaj,
        "rsj": rsj,
        "other": other,
        "population": f.resource(gaj),
        "zhang": f.person(name="张伟"),
    }


def test_platform_fetch_calls_under_the_departments_grant_and_is_recorded(world: dict[str, Any]) -> None:
    grant = f.grant(world["rsj"], world["population"], items=["name", "gender", "birth_date"])
    result = services.platform_fetch(
        department=world["rsj"],
        resource_code=world["population"].code,
        key=world["zhang"].resident_id,
        purpose=PURPOSE,
        case_number="SL2026000042",
        on_behalf_of="341502********0012",
        items=["name", "birth_date"],
    )
    assert result.status == 200, result.body
    assert result.body["record"] == {"name": "张伟", "birth_date": "1986-03-12"}
    call = CallRecord.objects.get(pk=result.call_id)
    assert call.client_id == services.PREFILL_CLIENT == "tongban-prefill"
    assert call.consumer_department_id == world["rsj"].pk
    assert call.grant_id == grant.pk
    assert (call.case_number, call.purpose, call.on_behalf_of) == (
        "SL2026000042",
        PURPOSE,
        "341502********0012",
    )
    assert (call.operation, call.outcome, call.items) == ("query", "ok", ["name", "birth_date"])


def test_platform_fetch_without_items_gets_every_granted_item(world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], items=["name", "gender"])
    result = services.platform_fetch(
        department=world["rsj"], resource_code=world["population"].code,
        key=world["zhang"].resident_id, purpose=PURPOSE,
    )  # fmt: skip
    assert result.body["record"] == {"name": "张伟", "gender": "1"}


def test_platform_fetch_is_refused_without_the_departments_own_grant(world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"])  # rsj's grant is not the other department's
    result = services.platform_fetch(
        department=world["other"], resource_code=world["population"].code,
        key=world["zhang"].resident_id, purpose=PURPOSE, case_number="SL2026000043",
    )  # fmt: skip
    assert result.status == 403
    assert result.body["error"]["code"] == "grant_missing"
    assert "record" not in result.body
    call = CallRecord.objects.get(pk=result.call_id)
    assert (call.consumer_department_id, call.error_code, call.case_number) == (
        world["other"].pk,
        "grant_missing",
        "SL2026000043",
    )


def test_platform_fetch_is_limited_like_any_call(world: dict[str, Any]) -> None:
    f.grant(world["rsj"], world["population"], rate_per_minute=1)
    args: dict[str, Any] = {
        "department": world["rsj"],
        "resource_code": world["population"].code,
        "key": world["zhang"].resident_id,
        "purpose": PURPOSE,
    }
    assert services.platform_fetch(**args).status == 200
    limited = services.platform_fetch(**args)
    assert (limited.status, limited.body["error"]["code"]) == (429, "rate_limited")


def test_platform_fetch_of_a_licence_passes_the_type_and_records_the_use(world: dict[str, Any]) -> None:
    sjj = f.department("p-sjj", "六安市数据资源管理局")
    mzj = lw.department("p-mzj", "六安市民政局")
    marriage = lw.licence_type(mzj)
    licence_services.signing_key_rotate(department=mzj, by=lw.staff(sjj, Role.ADMINISTRATOR), reason="初始")
    holder = make_resident_id("341502", "19920708", seq=40)
    data = lw.person_data("李娜", holder, registry="六安市民政局婚姻登记处")
    licence = lw.issue(marriage, lw.staff(mzj, Role.APPROVER), holder_id=holder, name="李娜", data=data)
    library = f.licence_library(sjj)
    f.grant(world["rsj"], library, items=["identifier", "signature_valid"])
    result = services.platform_fetch(
        department=world["rsj"],
        resource_code=library.code,
        key=holder,
        purpose=PURPOSE,
        case_number="SL2026000044",
        # extra adds the licence type; it cannot point the call elsewhere
        extra={"licence_type": marriage.code, "resource": world["population"].code, "key": "x"},
    )
    assert result.status == 200, result.body
    assert result.body["resource"] == library.code
    assert result.body["record"] == {"identifier": licence.identifier, "signature_valid": True}
    [use] = LicenceUse.objects.filter(licence=licence)
    assert (use.kind, use.department, use.actor_label, use.case_number) == (
        UseKind.EXCHANGE_FETCH,
        world["rsj"],
        "tongban-prefill",
        "SL2026000044",
    )
    assert use.call_id == result.call_id
    assert CallRecord.objects.get(pk=result.call_id).case_number == "SL2026000044"


def test_prefill_resources_lists_what_the_departments_usable_grants_allow(
    world: dict[str, Any], django_assert_num_queries: Any
) -> None:
    today = timezone.localdate()
    scj = f.department("p-scj", "六安市市场监督管理局")
    entities = f.resource(scj, name="法人单位基础信息", items=f.LEGAL_ENTITY_ITEMS, dataset="legal_entity")
    marriages = f.resource(world["gaj"], name="婚姻登记信息", dataset=None)
    draft = f.resource(world["gaj"], name="未发布资源", status="draft", dataset=None)
    later = f.resource(world["gaj"], name="明年起的资源", dataset=None)
    lapsed = f.resource(world["gaj"], name="已到期的资源", dataset=None)
    f.grant(world["rsj"], world["population"], items=["name", "gender", "birth_date"])
    f.grant(world["rsj"], entities, items=["name", "status"])
    f.grant(world["rsj"], marriages, status=GrantStatus.SUSPENDED)
    f.grant(world["rsj"], draft)
    f.grant(world["rsj"], later, valid_from=today + dt.timedelta(days=10))
    f.grant(
        world["rsj"],
        lapsed,
        valid_from=today - dt.timedelta(days=30),
        valid_until=today - dt.timedelta(days=1),
    )
    f.grant(world["other"], marriages, items=["name"])
    with django_assert_num_queries(1):
        allowed = services.prefill_resources(world["rsj"])
    assert allowed == {
        world["population"].code: ["name", "gender", "birth_date"],
        entities.code: ["name", "status"],
    }
    assert services.prefill_resources(world["other"]) == {marriages.code: ["name"]}
    assert services.prefill_resources(world["gaj"]) == {}

"""The exchange's demo: sources, systems, grants in every state and a fortnight of recorded calls."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tongban.basedata import demo as basedata_demo
from tongban.catalog.demo import seed_catalog
from tongban.exchange import demo, gateway, services
from tongban.exchange.choices import GrantStatus
from tongban.exchange.models import OPEN_GRANT_STATUSES, AccessGrant, CallRecord, CallStatDay, ResourceSource
from tongban.exchange.tests import factories as f
from tongban.identity import demo as identity_demo
from tongban.identity.demo import seed_demo
from tongban.identity.models import Department
from tongban.licences import demo as licences_demo
from tongban.licences.choices import UseKind
from tongban.licences.models import LicenceUse
from tongban.resources import demo as resources_demo
from tongban.resources.models import DataResource

pytestmark = pytest.mark.django_db


def test_the_demo_has_grants_in_every_state_and_calls_and_is_idempotent() -> None:
    cache.clear()
    gateway.forget_cached_items()
    seed_demo()
    resources_demo.load()
    for i in range(45):
        f.person(name=f"演示{i}")
    f.entity()
    first = demo.load()
    assert first.changed
    statuses = set(AccessGrant.objects.values_list("status", flat=True))
    assert statuses == {s for s, _ in GrantStatus.choices}
    assert ResourceSource.objects.filter(kind="basedata").count() == 2
    assert ResourceSource.objects.filter(kind="upstream").count() == 2
    assert ResourceSource.objects.filter(kind="licences").count() == 1
    calls = CallRecord.objects.count()
    assert calls == first.calls_made > 40
    assert set(CallRecord.objects.values_list("outcome", flat=True)) >= {"ok", "refused"}
    assert CallRecord.objects.filter(error_code="grant_suspended").exists()
    assert CallStatDay.objects.values("day").distinct().count() >= 7
    assert [s["client_id"] for s in first.systems] == [s.client_id for s in demo.SYSTEMS]

    again = demo.load()
    assert not again.changed
    assert CallRecord.objects.count() == calls
    assert AccessGrant.objects.count() == 11  # 9, and the licence library's two


def test_the_licence_library_is_granted_called_and_shown_in_the_wallets() -> None:
    cache.clear()
    gateway.forget_cached_items()
    seed_demo()
    basedata_demo.load(people=60)
    seed_catalog()
    resources_demo.load()
    licences_demo.load()
    result = demo.load()
    library = DataResource.objects.get(code=resources_demo.LICENCE_LIBRARY_CODE)
    assert ResourceSource.objects.get(resource=library).kind == "licences"
    grants = AccessGrant.objects.filter(resource=library).select_related("consumer")
    assert {(g.consumer.code, g.status) for g in grants} == {("luan-rsj", "active"), ("luan-gjj", "active")}
    calls = CallRecord.objects.filter(resource=library)
    assert {c.operation for c in calls} == {"query", "batch", "verify"}
    assert {c.outcome for c in calls} == {"ok"}
    uses = LicenceUse.objects.filter(call_id__in=calls.values("call_id"))
    assert {u.kind for u in uses} == {UseKind.EXCHANGE_FETCH, UseKind.EXCHANGE_VERIFY}
    zhang = identity_demo.CITIZENS[0].resident_id
    assert uses.filter(licence__holder_id=zhang, kind=UseKind.EXCHANGE_FETCH).exists()
    assert result.calls_made >= 3


def test_departments_get_grants_to_prefill_their_items_shared_data_materials() -> None:
    cache.clear()
    gateway.forget_cached_items()
    seed_demo()
    basedata_demo.load(people=60)
    seed_catalog()
    resources_demo.load()
    demo.load()
    needs = demo._prefill_needs()
    assert len(needs) >= 8
    for (department_id, code), items in needs.items():
        department = Department.objects.get(pk=department_id)
        open_grants = AccessGrant.objects.filter(
            consumer_id=department_id, resource__code=code, status__in=OPEN_GRANT_STATUSES
        )
        assert open_grants.count() == 1, (department.code, code)  # no clash with the demo's own
        grant = open_grants.get()
        if grant.purpose.startswith("办理政务服务事项时免提交材料"):
            assert grant.status == "active"
            assert set(grant.service_items.all()) == set(items)
            assert code in services.prefill_resources(department)
    scj = Department.objects.get(code="luan-scjgj")
    assert services.prefill_resources(scj)[resources_demo.LEGAL_ENTITY_CODE] == [
        "name", "entity_type", "legal_representative_name", "registered_capital", "address",
        "established_on", "status", "business_scope",
    ]  # fmt: skip
    # 民政局's own application for the population base still waits for 公安局 (the demo's pending one).
    mzj = Department.objects.get(code="luan-mzj")
    assert resources_demo.POPULATION_CODE not in services.prefill_resources(mzj)
    count = AccessGrant.objects.count()
    demo.load()
    assert AccessGrant.objects.count() == count

"""The exchange's demo: sources, systems, grants in every state and a fortnight of recorded calls."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tongban.exchange import demo, gateway
from tongban.exchange.choices import GrantStatus
from tongban.exchange.models import AccessGrant, CallRecord, CallStatDay, ResourceSource
from tongban.exchange.tests import factories as f
from tongban.identity.demo import seed_demo
from tongban.resources import demo as resources_demo

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
    calls = CallRecord.objects.count()
    assert calls == first.calls_made > 40
    assert set(CallRecord.objects.values_list("outcome", flat=True)) >= {"ok", "refused"}
    assert CallRecord.objects.filter(error_code="grant_suspended").exists()
    assert CallStatDay.objects.values("day").distinct().count() >= 7
    assert [s["client_id"] for s in first.systems] == [s.client_id for s in demo.SYSTEMS]

    again = demo.load()
    assert not again.changed
    assert CallRecord.objects.count() == calls
    assert AccessGrant.objects.count() == 9

"""Real-name level 2: a citizen's name checked against the population base through the exchange."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from tongban.core.errors import Conflict, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.exchange import gateway, services
from tongban.exchange.models import CallRecord
from tongban.exchange.tests import factories as f
from tongban.identity.tests.factories import CitizenFactory, EnterpriseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Any) -> dict[str, Any]:
    cache.clear()
    gateway.forget_cached_items()
    gaj = f.department("r-gaj", "六安市公安局")
    sjj = f.department("r-sjj", "六安市数据资源管理局")
    settings.TONGBAN_REAL_NAME_DEPARTMENT = sjj.code
    population = f.resource(gaj)
    person = f.person(name="王建国", gender="1")
    return {"gaj": gaj, "sjj": sjj, "population": population, "person": person}


def test_a_matching_citizen_reaches_level_2_and_the_call_is_recorded(world: dict[str, Any]) -> None:
    f.grant(world["sjj"], world["population"], items=["name", "life_status"])
    citizen: Any = CitizenFactory(resident_id=world["person"].resident_id, name="王建国", real_name_level=1)
    result = services.real_name_verify(user=citizen)
    citizen.refresh_from_db()
    assert result.matched
    assert citizen.real_name_level == 2
    record = CallRecord.objects.get(pk=result.call_id)
    assert (record.operation, record.outcome, record.client_id) == ("verify", "ok", "tongban-identity")
    assert record.consumer_department_id == world["sjj"].pk
    assert record.on_behalf_of.startswith(world["person"].resident_id[:6])
    assert world["person"].resident_id not in record.on_behalf_of  # masked
    raised = AuditEvent.objects.get(action="account.real_name_raised", subject_id=str(citizen.pk))
    assert raised.data["call_id"] == result.call_id


def test_a_wrong_name_stays_at_level_1_and_is_audited(world: dict[str, Any]) -> None:
    f.grant(world["sjj"], world["population"], items=["name", "life_status"])
    citizen: Any = CitizenFactory(resident_id=world["person"].resident_id, name="王建军", real_name_level=1)
    with pytest.raises(ValidationFailed) as err:
        services.real_name_verify(user=citizen)
    assert err.value.code == "real_name_mismatch"
    citizen.refresh_from_db()
    assert citizen.real_name_level == 1
    assert AuditEvent.objects.filter(action="account.real_name_check", outcome="failure").exists()
    assert CallRecord.objects.filter(operation="verify").count() == 1


def test_a_deceased_person_does_not_verify(world: dict[str, Any]) -> None:
    f.grant(world["sjj"], world["population"], items=["name", "life_status"])
    gone = f.person(name="李娜", gender="2", life_status="deceased")
    citizen: Any = CitizenFactory(resident_id=gone.resident_id, name="李娜", real_name_level=1)
    with pytest.raises(ValidationFailed):
        services.real_name_verify(user=citizen)


def test_without_the_identity_departments_grant_the_check_is_unavailable(world: dict[str, Any]) -> None:
    citizen: Any = CitizenFactory(resident_id=world["person"].resident_id, name="王建国", real_name_level=1)
    with pytest.raises(Conflict) as err:
        services.real_name_verify(user=citizen)
    assert err.value.code == "real_name_unavailable"
    assert CallRecord.objects.get().error_code == "grant_missing"  # refused, and recorded


def test_only_citizens_are_checked(world: dict[str, Any]) -> None:
    company: Any = EnterpriseFactory()
    with pytest.raises(ValidationFailed) as err:
        services.real_name_verify(user=company)
    assert err.value.code == "real_name_citizens_only"

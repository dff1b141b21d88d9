"""Grants: applied for by the consumer, granted at once or decided by the provider, suspended, expired."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.exchange import services
from tongban.exchange.choices import GrantStatus
from tongban.exchange.models import AccessGrant
from tongban.exchange.tests import factories as f
from tongban.identity.choices import Role
from tongban.identity.tests.factories import StaffFactory
from tongban.notifications.models import Message

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    """Today's local date, read when a test runs: not at import, as a run may cross midnight."""
    return timezone.localdate()


@pytest.fixture
def world() -> dict[str, Any]:
    gaj = f.department("g-gaj", "六安市公安局")
    rsj = f.department("g-rsj", "六安市人社局")
    return {
        "gaj": gaj,
        "rsj": rsj,
        "provider_officer": f.data_officer(gaj),
        "consumer_officer": f.data_officer(rsj),
        "conditional": f.resource(gaj, sharing_type="conditional"),
        "unconditional": f.resource(gaj, name="法人单位基础信息", sharing_type="unconditional", dataset=None),
        "not_shared": f.resource(gaj, name="侦查信息", sharing_type="not_shared", dataset=None),
    }


def apply(world: dict[str, Any], resource: Any, **overrides: Any) -> AccessGrant:
    today = timezone.localdate()
    values: dict[str, Any] = {
        "resource": resource,
        "consumer": world["rsj"],
        "items": ["name", "birth_date"],
        "purpose": "就业登记时核验身份",
        "valid_from": today,
        "valid_until": today + dt.timedelta(days=365),
        "by": world["consumer_officer"],
        **overrides,
    }
    return services.grant_request(**values)


def test_an_unconditional_resource_is_granted_on_request(world: dict[str, Any]) -> None:
    grant = apply(world, world["unconditional"], items=["name"])
    assert grant.status == GrantStatus.ACTIVE
    assert grant.decided_at is not None
    assert AuditEvent.objects.filter(action="exchange.grant_requested", subject_id=str(grant.pk)).exists()
    assert Message.objects.filter(recipient=world["provider_officer"], topic="exchange.grant").exists()


def test_a_conditional_resource_waits_for_the_provider_who_approves(world: dict[str, Any]) -> None:
    grant = apply(world, world["conditional"])
    assert grant.status == GrantStatus.PENDING
    assert Message.objects.filter(recipient=world["provider_officer"]).count() == 1
    grant = services.grant_approve(grant=grant, by=world["provider_officer"], reason="用途明确")
    assert grant.status == GrantStatus.ACTIVE
    assert grant.decided_by == world["provider_officer"]
    assert Message.objects.filter(recipient=world["consumer_officer"], topic="exchange.grant").exists()
    assert AuditEvent.objects.filter(action="exchange.grant_approved").exists()


def test_a_resource_that_is_not_shared_cannot_be_requested(world: dict[str, Any]) -> None:
    with pytest.raises(Conflict) as err:
        apply(world, world["not_shared"], items=["name"])
    assert err.value.code == "resource_not_shared"
    assert not AccessGrant.objects.exists()


def test_an_unpublished_resource_cannot_be_requested(world: dict[str, Any]) -> None:
    draft = f.resource(world["gaj"], name="人口基础信息（草稿）", status="draft")
    with pytest.raises(NotFound):
        apply(world, draft)


def test_bad_applications_change_nothing(world: dict[str, Any]) -> None:
    today = timezone.localdate()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"items": []}, "items_required"),
        ({"items": ["salary"]}, "items_unknown"),
        ({"purpose": "  "}, "purpose_required"),
        (
            {"valid_until": today - dt.timedelta(days=1), "valid_from": today - dt.timedelta(days=9)},
            "period_in_past",
        ),
        ({"valid_until": today - dt.timedelta(days=1)}, "period_invalid"),
        ({"valid_until": today + dt.timedelta(days=2000)}, "period_too_long"),
        ({"rate_per_minute": 0}, "rate_invalid"),
    ]
    for overrides, code in cases:
        with pytest.raises(ValidationFailed) as err:
            apply(world, world["conditional"], **overrides)
        assert err.value.code == code, overrides
    assert not AccessGrant.objects.exists()


def test_one_open_grant_per_department_and_resource(world: dict[str, Any]) -> None:
    apply(world, world["conditional"])
    with pytest.raises(Conflict) as err:
        apply(world, world["conditional"])
    assert err.value.code == "grant_exists"


def test_only_the_consumers_data_staff_may_apply(world: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        apply(world, world["conditional"], by=world["provider_officer"])
    approver: Any = StaffFactory(department=world["rsj"], roles=[Role.APPROVER])
    with pytest.raises(PermissionDenied):
        apply(world, world["conditional"], by=approver)


def test_only_the_provider_decides(world: dict[str, Any]) -> None:
    grant = apply(world, world["conditional"])
    for stranger in (world["consumer_officer"], f.data_officer(f.department("g-x", "别的局"))):
        with pytest.raises(PermissionDenied):
            services.grant_approve(grant=grant, by=stranger)
        with pytest.raises(PermissionDenied):
            services.grant_refuse(grant=grant, by=stranger, reason="不行")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING


def test_a_refusal_needs_a_reason_and_is_final(world: dict[str, Any]) -> None:
    grant = apply(world, world["conditional"])
    with pytest.raises(ValidationFailed):
        services.grant_refuse(grant=grant, by=world["provider_officer"], reason=" ")
    grant = services.grant_refuse(grant=grant, by=world["provider_officer"], reason="用途与所列事项不符")
    assert grant.status == GrantStatus.REFUSED
    with pytest.raises(Conflict) as err:
        services.grant_approve(grant=grant, by=world["provider_officer"])
    assert err.value.code == "grant_transition_invalid"
    # refused is closed: the department may apply again
    assert apply(world, world["conditional"]).status == GrantStatus.PENDING


def test_suspend_resume_and_revoke(world: dict[str, Any]) -> None:
    grant = apply(world, world["unconditional"], items=["name"])
    with pytest.raises(ValidationFailed):
        services.grant_suspend(grant=grant, by=world["provider_officer"], reason="")
    grant = services.grant_suspend(grant=grant, by=world["provider_officer"], reason="发现超范围调用，核查中")
    assert grant.status == GrantStatus.SUSPENDED
    with pytest.raises(PermissionDenied):
        services.grant_resume(grant=grant, by=world["consumer_officer"])
    grant = services.grant_resume(grant=grant, by=world["provider_officer"])
    assert grant.status == GrantStatus.ACTIVE
    grant = services.grant_revoke(grant=grant, by=world["consumer_officer"], reason="业务系统下线")
    assert grant.status == GrantStatus.REVOKED
    actions = set(AuditEvent.objects.filter(subject_id=str(grant.pk)).values_list("action", flat=True))
    assert {"exchange.grant_suspended", "exchange.grant_resumed", "exchange.grant_revoked"} <= actions


def test_the_sweep_expires_grants_past_their_period(world: dict[str, Any]) -> None:
    old = f.grant(
        world["rsj"],
        world["conditional"],
        valid_from=today() - dt.timedelta(days=400),
        valid_until=today() - dt.timedelta(days=1),
    )
    current = f.grant(world["rsj"], world["unconditional"], items=["name"])
    assert services.grants_expire() == 1
    old.refresh_from_db()
    current.refresh_from_db()
    assert (old.status, current.status) == (GrantStatus.EXPIRED, GrantStatus.ACTIVE)
    assert services.grants_expire() == 0

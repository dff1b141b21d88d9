"""The audit-trail selector: the scope the caller passes in, and every filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tongban.core import audit, calendar, context, selectors
from tongban.core.models import AuditOutcome
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(citizen: Any) -> dict[str, Any]:
    county_a = DepartmentFactory(code="a", level="county", division_code="341502")
    county_b = DepartmentFactory(code="b", level="county", division_code="341503")
    clerk_a: Any = StaffFactory(department=county_a)
    clerk_b: Any = StaffFactory(department=county_b)
    token = context.bind(context.RequestContext(request_id="req-a"))
    try:
        login_a = audit.record(action="auth.login", actor=clerk_a, subject=clerk_a)
    finally:
        context.reset(token)
    denied_b = audit.record(action="auth.login", actor=clerk_b, outcome=AuditOutcome.FAILURE)
    role_b = audit.record(action="staff.roles_change", actor=clerk_b, subject=clerk_a)
    anonymous = audit.record(action="auth.login", outcome=AuditOutcome.FAILURE, summary="unknown user")
    by_citizen = audit.record(action="account.password_change", actor=citizen, subject=citizen)
    return {
        "a": county_a,
        "b": county_b,
        "clerk_a": clerk_a,
        "events": [login_a, denied_b, role_b, anonymous, by_citizen],
    }


def seqs(events: Any) -> list[int]:
    return [e.seq for e in events]


def test_scope_by_departments_with_and_without_unassigned_events(trail: dict[str, Any]) -> None:
    login_a, _denied_b, role_b, anonymous, by_citizen = trail["events"]
    assert seqs(selectors.audit_events(department_ids=None)) == [5, 4, 3, 2, 1]
    only_a = selectors.audit_events(department_ids=[trail["a"].pk], include_unassigned=False)
    assert seqs(only_a) == [login_a.seq]
    a_and_public = selectors.audit_events(department_ids=[trail["a"].pk], include_unassigned=True)
    assert seqs(a_and_public) == [by_citizen.seq, anonymous.seq, login_a.seq]
    assert seqs(selectors.audit_events(department_ids=[], include_unassigned=False)) == []
    assert selectors.audit_event(seq=role_b.seq, department_ids=[trail["a"].pk]) is None
    assert selectors.audit_event(seq=role_b.seq, department_ids=[trail["b"].pk]) == role_b


def test_filters(trail: dict[str, Any]) -> None:
    login_a, denied_b, role_b, anonymous, _by_citizen = trail["events"]

    def find(**filters: Any) -> list[int]:
        return seqs(selectors.audit_events(department_ids=None, **filters))

    assert find(action="auth.") == [anonymous.seq, denied_b.seq, login_a.seq]
    assert find(action="staff") == [role_b.seq]
    assert find(outcome=AuditOutcome.FAILURE) == [anonymous.seq, denied_b.seq]
    assert find(actor_id=trail["clerk_a"].pk) == [login_a.seq]
    assert find(subject_type="identity.user", subject_id=str(trail["clerk_a"].pk)) == [
        role_b.seq,
        login_a.seq,
    ]
    assert find(request_id="req-a") == [login_a.seq]
    today = calendar.local_date(login_a.occurred_at)
    assert len(find(since=today, until=today)) == 5
    assert find(since=today + timedelta(days=1)) == []
    assert find(until=today - timedelta(days=1)) == []

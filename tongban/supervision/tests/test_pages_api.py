"""The board, the case file, notes and the policy, as pages and through the API; scoping; bad input."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongban.cases.models import Case
from tongban.catalog.models import ServiceItem
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import User
from tongban.supervision import services
from tongban.supervision.choices import CloseReason, Level, SweepOrigin, Trigger
from tongban.supervision.models import Alert, AlertNote, SupervisionPolicy, Sweep
from tongban.supervision.tests.conftest import accepted, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"  # identity's tests cover the second-factor gate


def today_plus(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def overdue(item: ServiceItem, approver: User) -> Case:
    """Overdue by far more than the red threshold, whatever today is."""
    return accepted(item, approver, due=today_plus(-40))


@pytest.fixture
def swept(overdue: Case) -> Alert:
    services.supervision_sweep(origin=SweepOrigin.MANUAL)
    return Alert.objects.get(case=overdue, trigger=Trigger.CASE_OVERDUE, closed_at__isnull=True)


def fact_alert(case: Case) -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        case=case,
        trigger=Trigger.FEE_OFF_CATALOGUE,
        level=Level.RED,
        opened_at=now,
        raised_at=now,
        changed_at=now,
    )


# --- the board ------------------------------------------------------------------------------------


def test_board_shows_overdue_cases_in_red_without_any_sweep(overdue: Case, supervisor: User) -> None:
    client = client_for(supervisor, "zh-hans")
    board = client.get("/staff/supervision/")
    assert board.status_code == 200
    html = board.content.decode()
    assert "sv-row-red" in html
    assert not Sweep.objects.exists()
    listing = client.get("/staff/supervision/cases/").content.decode()
    assert str(overdue.number) in listing
    assert 'class="sv-row-red"' in listing
    assert "红牌" in listing


def test_case_list_filters(overdue: Case, supervisor: User, item: ServiceItem) -> None:
    client = client_for(supervisor)
    assert (
        str(overdue.number)
        in client.get(f"/staff/supervision/cases/?level=red&item={item.pk}").content.decode()
    )
    assert str(overdue.number) not in client.get("/staff/supervision/cases/?level=warning").content.decode()
    by_trigger = client.get("/staff/supervision/cases/?trigger=unaccepted").content.decode()
    assert str(overdue.number) not in by_trigger


@pytest.mark.parametrize(
    "query",
    ["level=purple", "trigger=nonsense", "department=abc", "department=0", "item=99999999", "department=-1"],
)
def test_impossible_filters_are_a_clear_400(overdue: Case, supervisor: User, query: str) -> None:
    client = client_for(supervisor)
    for page in ("/staff/supervision/", "/staff/supervision/cases/"):
        response = client.get(f"{page}?{query}")
        assert response.status_code == 400
        assert "Some filters are not possible" in response.content.decode()
    api = client.get(f"/api/v1/supervision/cases?{query}")
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "filter_invalid"
    assert api.json()["error"]["fields"]


def test_a_department_outside_the_jurisdiction_is_not_a_filter(
    overdue: Case, county_supervisor: User
) -> None:
    response = client_for(county_supervisor).get(
        f"/api/v1/supervision/cases?department={overdue.department_id}"
    )
    assert response.status_code == 400
    assert "department" in response.json()["error"]["fields"]


def test_board_is_scoped_to_the_jurisdiction(overdue: Case, county_supervisor: User) -> None:
    client = client_for(county_supervisor)
    assert str(overdue.number) not in client.get("/staff/supervision/cases/").content.decode()
    assert client.get("/api/v1/supervision/cases").json()["items"] == []


def test_board_needs_a_board_role(citizen: User, admin_user: User) -> None:
    assert client_for(citizen).get("/staff/supervision/").status_code == 403
    assert client_for(admin_user).get("/staff/supervision/").status_code == 200


# --- the case file --------------------------------------------------------------------------------


def test_case_page_has_the_full_timeline_and_is_audited(swept: Alert, supervisor: User) -> None:
    services.alert_note_add(alert_id=swept.pk, text="已电话督办", by=supervisor)
    response = client_for(supervisor).get(f"/staff/supervision/cases/{swept.case_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    for expected in (
        "Application submitted",
        "Stage started",
        "Supervision level: Red card",
        "已电话督办",
        "case.accepted",
        "supervision.note_added",
    ):
        assert expected in html, expected
    assert AuditEvent.objects.filter(action="supervision.case_viewed", subject_id=str(swept.case_id)).exists()


def test_another_jurisdictions_case_and_alert_are_not_found(swept: Alert, county_supervisor: User) -> None:
    client = client_for(county_supervisor)
    assert client.get(f"/staff/supervision/cases/{swept.case_id}/").status_code == 404
    page = client.post(f"/staff/supervision/alerts/{swept.pk}/notes/", {"text": "越权"})
    assert page.status_code == 404
    api = client.post(
        f"/api/v1/supervision/alerts/{swept.pk}/notes",
        json.dumps({"text": "越权"}),
        content_type="application/json",
    )
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "alert_not_found"
    with pytest.raises(NotFound):
        services.alert_note_add(alert_id=swept.pk, text="越权", by=county_supervisor)
    assert not AlertNote.objects.exists()


# --- notes ----------------------------------------------------------------------------------------


def test_note_through_the_page_is_audited(swept: Alert, supervisor: User) -> None:
    client = client_for(supervisor)
    response = client.post(f"/staff/supervision/alerts/{swept.pk}/notes/", {"text": "请三日内办结"})
    assert response.status_code == 302
    note = AlertNote.objects.get()
    assert (note.text, note.written_by_id, note.closes) == ("请三日内办结", supervisor.pk, False)
    event = AuditEvent.objects.get(action="supervision.note_added")
    assert event.subject_id == str(swept.pk)
    assert event.data["case"] == swept.case_id
    empty = client.post(f"/staff/supervision/alerts/{swept.pk}/notes/", {"text": "  "})
    assert empty.status_code == 400
    assert AlertNote.objects.count() == 1


def test_note_rules(swept: Alert, supervisor: User, approver: User) -> None:
    with pytest.raises(PermissionDenied):
        services.alert_note_add(alert_id=swept.pk, text="审批员不可", by=approver)
    with pytest.raises(ValidationFailed) as too_long:
        services.alert_note_add(alert_id=swept.pk, text="长" * 2001, by=supervisor)
    assert too_long.value.code == "text_too_long"
    with pytest.raises(Conflict) as clock:
        services.alert_note_add(alert_id=swept.pk, text="关闭", close=True, by=supervisor)
    assert clock.value.code == "alert_closes_itself"
    finding = fact_alert(swept.case)
    services.alert_note_add(alert_id=finding.pk, text="已退费，处理完毕", close=True, by=supervisor)
    finding.refresh_from_db()
    assert finding.closed_reason == CloseReason.HANDLED
    with pytest.raises(Conflict):
        services.alert_note_add(alert_id=finding.pk, text="再关", close=True, by=supervisor)
    assert not AlertNote.objects.filter(text="审批员不可").exists()


def test_note_through_the_api(swept: Alert, supervisor: User, approver: User) -> None:
    body = json.dumps({"text": "督办：限期整改"})
    response = client_for(supervisor).post(
        f"/api/v1/supervision/alerts/{swept.pk}/notes", body, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["alert_open"] is True
    refused = client_for(approver).post(
        f"/api/v1/supervision/alerts/{swept.pk}/notes", body, content_type="application/json"
    )
    assert refused.status_code == 403
    missing = client_for(supervisor).post(
        "/api/v1/supervision/alerts/999999/notes", body, content_type="application/json"
    )
    assert missing.status_code == 404
    blank = client_for(supervisor).post(
        f"/api/v1/supervision/alerts/{swept.pk}/notes",
        json.dumps({"text": ""}),
        content_type="application/json",
    )
    assert blank.json()["error"]["code"] == "note_required"


def test_api_lists_levels_computed_now(overdue: Case, supervisor: User) -> None:
    data = client_for(supervisor).get("/api/v1/supervision/cases?level=red").json()
    assert [row["number"] for row in data["items"]] == [overdue.number]
    assert data["items"][0]["level"] == "red"
    assert data["items"][0]["case_level"] == Level.RED


def test_a_closed_finding_is_not_reopened(overdue: Case, supervisor: User) -> None:
    Case.objects.filter(pk=overdue.pk).update(channel="window")
    overdue.version.online_depth = 4
    overdue.version.save(update_fields=["online_depth"])
    services.supervision_sweep(origin=SweepOrigin.MANUAL)
    finding = Alert.objects.get(case=overdue, trigger=Trigger.NOT_ONLINE)
    services.alert_note_add(alert_id=finding.pk, text="已核实，系统故障所致", close=True, by=supervisor)
    services.supervision_sweep(origin=SweepOrigin.MANUAL)
    assert Alert.objects.filter(case=overdue, trigger=Trigger.NOT_ONLINE).count() == 1


# --- the policy -----------------------------------------------------------------------------------


def test_policy_page_for_administrators(admin_user: User, supervisor: User) -> None:
    assert client_for(supervisor).get("/staff/supervision/policy/").status_code == 403
    client = client_for(admin_user)
    assert client.get("/staff/supervision/policy/").status_code == 200
    saved = client.post(
        "/staff/supervision/policy/", {"warning_days": "3", "red_days": "7", "unaccepted_days": "1"}
    )
    assert saved.status_code == 302
    policy = SupervisionPolicy.objects.get()
    assert (policy.warning_days, policy.red_days, policy.unaccepted_days) == (3, 7, 1)
    event = AuditEvent.objects.get(action="supervision.policy_updated")
    assert event.data["before"] == {"warning_days": 2, "red_days": 5, "unaccepted_days": 2}
    bad = client.post(
        "/staff/supervision/policy/", {"warning_days": "-1", "red_days": "0", "unaccepted_days": "x"}
    )
    assert bad.status_code == 400
    assert SupervisionPolicy.objects.get().red_days == 7


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"warning_days": -1, "red_days": 5, "unaccepted_days": 2}, {"warning_days"}),
        ({"warning_days": 2, "red_days": 0, "unaccepted_days": 2}, {"red_days"}),
        (
            {"warning_days": 31, "red_days": 61, "unaccepted_days": "two"},
            {"warning_days", "red_days", "unaccepted_days"},
        ),
        ({"warning_days": None, "red_days": 5, "unaccepted_days": 0}, {"warning_days", "unaccepted_days"}),
    ],
)
def test_policy_validation(admin_user: User, values: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.policy_update(by=admin_user, **values)
    assert caught.value.code == "policy_invalid"
    assert set(caught.value.fields) == fields
    assert not SupervisionPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="supervision.policy_updated").exists()


def test_only_administrators_set_the_policy(supervisor: User) -> None:
    with pytest.raises(PermissionDenied):
        services.policy_update(by=supervisor, warning_days=1, red_days=2, unaccepted_days=3)

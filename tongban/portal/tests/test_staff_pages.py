"""The audit-trail and working-day calendar pages: who may see them, what each one sees, what they change."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tongban.core import audit
from tongban.core.models import AuditEvent, AuditOutcome, WorkingDayOverride
from tongban.identity.models import Department
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory
from tongban.portal.views_staff import audit_scope

pytestmark = pytest.mark.django_db

AUDIT = reverse("staffpages:audit_list")
CALENDAR = reverse("staffpages:calendar")
OVERRIDE_SET = reverse("staffpages:calendar_override_set")


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail(seq: int) -> str:
    return reverse("staffpages:audit_detail", args=[seq])


def seqs(response: Any) -> list[int]:
    return [event.seq for event in response.context["rows"]]


@pytest.fixture
def county_a(city: Department) -> Any:
    return DepartmentFactory(code="jinan-gov", level="county", division_code="341502", parent=city)


@pytest.fixture
def county_b(city: Department) -> Any:
    return DepartmentFactory(code="yuan-gov", level="county", division_code="341503", parent=city)


@pytest.fixture
def trail(county_a: Department, county_b: Department, citizen: Any) -> dict[str, AuditEvent]:
    bureau_a = DepartmentFactory(code="jinan-psb", level="county", division_code="341502", parent=county_a)
    clerk_a: Any = StaffFactory(department=bureau_a, roles=["window_clerk"])
    clerk_b: Any = StaffFactory(department=county_b, roles=["window_clerk"])
    return {
        "a": audit.record(action="auth.login", actor=clerk_a, subject=clerk_a, summary="logged in"),
        "b": audit.record(action="auth.login", actor=clerk_b, subject=clerk_b, summary="logged in"),
        "anonymous": audit.record(action="auth.login", outcome=AuditOutcome.FAILURE, summary="unknown"),
        "citizen": audit.record(action="account.password_change", actor=citizen, subject=citizen),
    }


@pytest.fixture
def county_a_supervisor(county_a: Department) -> Any:
    return StaffFactory(department=county_a, roles=["supervisor"])


# --- Who may open the audit trail -----------------------------------------------------------------------


def test_the_audit_trail_refuses_citizens_clerks_and_anonymous_visitors(citizen: Any, county_a: Any) -> None:
    assert logged_in(citizen).get(AUDIT).status_code == 403
    assert logged_in(citizen).get(detail(1)).status_code == 403
    clerk = StaffFactory(department=county_a, roles=["window_clerk", "approver"])
    assert logged_in(clerk).get(AUDIT).status_code == 403
    response = Client().get(AUDIT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_staff_need_their_second_factor_when_it_is_required(settings: Any, supervisor: Any) -> None:
    settings.STAFF_2FA = "required"
    response = logged_in(supervisor).get(AUDIT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:otp_setup"))


# --- What each one sees ---------------------------------------------------------------------------------


def test_a_city_supervisor_sees_every_county_and_the_public(supervisor: Any, trail: dict[str, Any]) -> None:
    response = logged_in(supervisor).get(AUDIT)
    assert response.status_code == 200
    assert seqs(response) == [trail[k].seq for k in ("citizen", "anonymous", "b", "a")]
    assert response.context["whole_city"] is True
    page = response.content.decode()
    assert f'href="{detail(trail["b"].seq)}"' in page
    stored = trail["citizen"].actor_label
    assert stored.startswith("citizen ")
    assert "*" in stored
    # shown masked as stored, with the account kind in the reader's language
    assert stored.replace("citizen", "个人用户", 1) in page


def test_a_county_supervisor_sees_only_the_county(
    county_a_supervisor: Any, trail: dict[str, Any], county_a: Any, county_b: Any
) -> None:
    scope = audit_scope(county_a_supervisor)
    assert county_a.pk in scope.department_ids
    assert county_b.pk not in scope.department_ids
    assert scope.include_unassigned is False
    client = logged_in(county_a_supervisor)
    response = client.get(AUDIT)
    assert seqs(response) == [trail["a"].seq]
    assert f'href="{detail(trail["b"].seq)}"' not in response.content.decode()
    # Another county's events, visitors' and citizens' do not exist for this supervisor.
    for key in ("b", "anonymous", "citizen"):
        assert client.get(detail(trail[key].seq)).status_code == 404, key
    assert client.get(detail(99999)).status_code == 404
    own = client.get(detail(trail["a"].seq))
    assert own.status_code == 200
    assert own.context["event"] == trail["a"]
    assert own.context["check"].ok
    assert trail["a"].hash in own.content.decode()
    assert trail["a"].prev_hash in own.content.decode()


def test_the_other_county_supervisor_is_refused_this_countys_rows(
    county_b: Any, trail: dict[str, Any]
) -> None:
    supervisor_b = StaffFactory(department=county_b, roles=["supervisor"])
    client = logged_in(supervisor_b)
    assert seqs(client.get(AUDIT)) == [trail["b"].seq]
    assert client.get(detail(trail["a"].seq)).status_code == 404


def test_filters_narrow_the_list(supervisor: Any, trail: dict[str, Any]) -> None:
    client = logged_in(supervisor)
    assert seqs(client.get(AUDIT, {"action": "account."})) == [trail["citizen"].seq]
    assert seqs(client.get(AUDIT, {"outcome": "failure"})) == [trail["anonymous"].seq]
    actor_id = trail["b"].actor_id
    assert seqs(client.get(AUDIT, {"actor_id": actor_id})) == [trail["b"].seq]
    subject = {"subject_type": "identity.user", "subject_id": trail["a"].subject_id}
    assert seqs(client.get(AUDIT, subject)) == [trail["a"].seq]
    assert len(seqs(client.get(AUDIT, {"since": "2099-01-01"}))) == 0
    assert seqs(
        client.get(AUDIT, {"action": "auth.login", "since": "2000-01-01", "until": "2099-12-31"})
    ) == [trail[k].seq for k in ("anonymous", "b", "a")]
    bad = client.get(AUDIT, {"since": "2026-05-02", "until": "2026-05-01"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["until"]
    assert client.get(AUDIT, {"actor_id": "abc"}).status_code == 400


def test_viewing_the_trail_is_recorded_with_the_filters(supervisor: Any, trail: dict[str, Any]) -> None:
    client = logged_in(supervisor)
    client.get(AUDIT, {"action": "auth.", "outcome": "failure"})
    viewed = AuditEvent.objects.filter(action="audit.view").order_by("-seq").first()
    assert viewed is not None
    assert viewed.actor_id == supervisor.pk
    assert viewed.data == {"filters": {"action": "auth.", "outcome": "failure"}, "page": 1}
    client.get(detail(trail["b"].seq))
    viewed_row = AuditEvent.objects.filter(action="audit.view").order_by("-seq").first()
    assert viewed_row is not None
    assert viewed_row.data["seq"] == trail["b"].seq
    assert audit.verify().ok


def test_fifty_events_a_page(county_a_supervisor: Any, county_a: Any) -> None:
    clerk = StaffFactory(department=county_a)
    for i in range(60):
        audit.record(action="test.bulk", actor=clerk, data={"i": i})
    client = logged_in(county_a_supervisor)
    first = client.get(AUDIT, {"action": "test."})
    assert len(seqs(first)) == 50
    assert first.context["page"].paginator.count == 60
    second = client.get(AUDIT, {"action": "test.", "page": "2"})
    assert len(seqs(second)) == 10
    assert set(seqs(first)).isdisjoint(seqs(second))


def test_the_detail_page_shows_a_tampered_row(supervisor: Any, trail: dict[str, Any]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
    AuditEvent.objects.filter(seq=trail["b"].seq).update(summary="nothing to see")
    response = logged_in(supervisor).get(detail(trail["b"].seq))
    assert response.status_code == 200
    assert response.context["check"].content_ok is False
    assert logged_in(supervisor).get(detail(trail["anonymous"].seq)).context["check"].ok


# --- The working-day calendar -----------------------------------------------------------------------------


def test_the_calendar_is_for_administrators(citizen: Any, supervisor: Any) -> None:
    assert logged_in(citizen).get(CALENDAR).status_code == 403
    assert logged_in(supervisor).get(CALENDAR).status_code == 403
    assert (
        logged_in(supervisor).post(OVERRIDE_SET, {"date": "2027-01-04", "is_workday": "0"}).status_code == 403
    )
    assert not WorkingDayOverride.objects.exists()


def test_an_official_year_shows_its_holidays_and_make_up_days(admin_user: Any) -> None:
    response = logged_in(admin_user).get(CALENDAR, {"year": 2026})
    assert response.status_code == 200
    assert response.context["provisional"] is False
    special = {info.day: (info, str(source)) for info, source in response.context["special_days"]}
    assert special[date(2026, 2, 14)][0].is_makeup_workday
    assert special[date(2026, 2, 17)][0].is_workday is False
    assert special[date(2026, 2, 17)][0].source == "official"
    assert date(2026, 3, 2) not in special  # an ordinary Monday is not listed
    assert response.context["working_total"] == 248
    assert "2026-02-14" in response.content.decode()


def test_a_provisional_year_is_flagged(admin_user: Any) -> None:
    response = logged_in(admin_user).get(CALENDAR, {"year": 2027})
    assert response.context["provisional"] is True
    special = {info.day: info for info, _ in response.context["special_days"]}
    assert special[date(2027, 2, 6)].source == "provisional"
    assert special[date(2027, 9, 15)].holiday == "mid_autumn_festival"
    assert 'class="alert alert-warning"' in response.content.decode()
    assert (
        'class="alert alert-warning"'
        not in logged_in(admin_user).get(CALENDAR, {"year": 2026}).content.decode()
    )


def test_an_administrator_adds_and_removes_an_override(admin_user: Any) -> None:
    client = logged_in(admin_user)
    response = client.post(
        OVERRIDE_SET, {"date": "2027-02-09", "is_workday": "0", "name": "春节", "note": "国办发明电"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{CALENDAR}?year=2027"
    override = WorkingDayOverride.objects.get(date=date(2027, 2, 9))
    assert (override.is_workday, override.name, override.created_by) == (False, "春节", admin_user)
    assert AuditEvent.objects.filter(action="calendar.override_set", actor_id=admin_user.pk).exists()
    page = client.get(CALENDAR, {"year": 2027})
    assert list(page.context["overrides"]) == [override]
    special = {info.day: info for info, _ in page.context["special_days"]}
    assert special[date(2027, 2, 9)].source == "override"
    assert special[date(2027, 2, 9)].is_workday is False
    delete_url = reverse("staffpages:calendar_override_delete", args=[override.pk])
    assert delete_url in page.content.decode()
    assert client.get(delete_url).status_code == 405
    response = client.post(delete_url)
    assert response.status_code == 302
    assert not WorkingDayOverride.objects.exists()
    assert AuditEvent.objects.filter(action="calendar.override_delete").exists()
    assert client.post(delete_url).status_code == 404


def test_a_bad_override_form_is_refused(admin_user: Any) -> None:
    client = logged_in(admin_user)
    response = client.post(f"{OVERRIDE_SET}?year=2027", {"date": "2027-02-30", "is_workday": "0"})
    assert response.status_code == 400
    assert response.context["form"].errors["date"]
    assert response.context["year"] == 2027
    response = client.post(OVERRIDE_SET, {"date": "2027-03-01", "is_workday": "maybe"})
    assert response.status_code == 400
    assert not WorkingDayOverride.objects.exists()


def test_a_county_administrator_reads_but_does_not_change_the_calendar(
    county_a: Any, admin_user: Any
) -> None:
    county_admin = StaffFactory(department=county_a, roles=["administrator"])
    client = logged_in(county_admin)
    response = client.get(CALENDAR, {"year": 2027})
    assert response.status_code == 200
    assert response.context["can_edit"] is False
    assert client.post(OVERRIDE_SET, {"date": "2027-03-01", "is_workday": "0"}).status_code == 403
    override = WorkingDayOverride.objects.create(
        date=date(2027, 3, 1), is_workday=False, created_by=admin_user
    )
    delete_url = reverse("staffpages:calendar_override_delete", args=[override.pk])
    assert client.post(delete_url).status_code == 403
    assert WorkingDayOverride.objects.filter(pk=override.pk).exists()

"""Administrators' staff and department pages, their scoping (no IDOR) and the workbench tiles."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.core.models import AuditEvent
from tongban.identity.models import Department, RoleAssignment, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Staff-pass-2026"


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    # These tests are about roles and scope; test_otp.py covers the second-factor gate.
    settings.STAFF_2FA = "optional"


@pytest.fixture
def county_a(city: Department) -> Any:
    return DepartmentFactory(
        name="金安区人民政府", code="county-a", level="county", division_code="341502", parent=city
    )


@pytest.fixture
def bureau_a(county_a: Department) -> Any:
    return DepartmentFactory(
        name="金安区市场监管局", code="county-a-amr", level="county", division_code="341502", parent=county_a
    )


@pytest.fixture
def county_b(city: Department) -> Any:
    return DepartmentFactory(
        name="裕安区人民政府", code="county-b", level="county", division_code="341503", parent=city
    )


@pytest.fixture
def admin_a(county_a: Department) -> Any:
    return StaffFactory(username="admin.a", department=county_a, roles=["administrator"])


@pytest.fixture
def member_a(bureau_a: Department) -> Any:
    return StaffFactory(username="clerk.a", department=bureau_a, roles=["window_clerk"])


@pytest.fixture
def member_b(county_b: Department) -> Any:
    return StaffFactory(username="clerk.b", department=county_b, roles=["window_clerk"])


def _client_for(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _roles(user: User) -> list[str]:
    return sorted(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))


# --- list, detail and scope -----------------------------------------------------------------


def test_list_shows_only_staff_in_the_jurisdiction(admin_a: User, member_a: User, member_b: User) -> None:
    response = _client_for(admin_a).get("/staff/people/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"/staff/people/{member_a.pk}/" in body
    assert f"/staff/people/{member_b.pk}/" not in body
    assert "clerk.b" not in body


def test_list_filters_by_role_and_status(admin_a: User, member_a: User, bureau_a: Department) -> None:
    approver: Any = StaffFactory(
        username="approver.a", department=bureau_a, roles=["approver"], is_active=False
    )
    client = _client_for(admin_a)
    by_role = client.get("/staff/people/", {"role": "approver"}).content.decode()
    assert "approver.a" in by_role
    assert "clerk.a" not in by_role
    active_only = client.get("/staff/people/", {"active": "1"}).content.decode()
    assert "clerk.a" in active_only
    assert f"/staff/people/{approver.pk}/" not in active_only


def test_administrator_of_another_county_gets_404_everywhere(admin_a: User, member_b: User) -> None:
    TOTPDevice.objects.create(user=member_b, name="authenticator", confirmed=True)
    client = _client_for(admin_a)
    base = f"/staff/people/{member_b.pk}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/roles/", {"roles": ["administrator"]}).status_code == 404
    assert client.post(f"{base}/active/", {"active": "0"}).status_code == 404
    assert client.post(f"{base}/second-factor/reset/").status_code == 404
    member_b.refresh_from_db()
    assert member_b.is_active
    assert _roles(member_b) == ["window_clerk"]
    assert TOTPDevice.objects.filter(user=member_b).exists()
    assert not AuditEvent.objects.filter(subject_id=str(member_b.pk)).exists()


def test_window_clerk_gets_403(member_a: User, admin_a: User) -> None:
    client = _client_for(member_a)
    assert client.get("/staff/people/").status_code == 403
    assert client.get(f"/staff/people/{admin_a.pk}/").status_code == 403
    assert client.post(f"/staff/people/{member_a.pk}/roles/", {"roles": ["administrator"]}).status_code == 403
    assert client.get("/staff/departments/").status_code == 403
    assert _roles(member_a) == ["window_clerk"]


def test_citizen_gets_403_and_anonymous_goes_to_login(citizen: User, member_a: User) -> None:
    client = _client_for(citizen)
    assert client.get("/staff/people/").status_code == 403
    assert client.get(f"/staff/people/{member_a.pk}/").status_code == 403
    anonymous = Client().get("/staff/people/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")


# --- changes ---------------------------------------------------------------------------------


def test_role_change_is_saved_and_audited_with_old_and_new(admin_a: User, member_a: User) -> None:
    response = _client_for(admin_a).post(
        f"/staff/people/{member_a.pk}/roles/", {"roles": ["supervisor", "approver"]}
    )
    assert response.status_code == 302
    assert _roles(member_a) == ["approver", "supervisor"]
    event = AuditEvent.objects.get(action="staff.roles_change")
    assert event.actor_id == admin_a.pk
    assert event.subject_id == str(member_a.pk)
    assert event.data == {"old": ["window_clerk"], "new": ["approver", "supervisor"]}


def test_unknown_role_is_refused(admin_a: User, member_a: User) -> None:
    response = _client_for(admin_a).post(f"/staff/people/{member_a.pk}/roles/", {"roles": ["superuser"]})
    assert response.status_code == 400
    assert _roles(member_a) == ["window_clerk"]


def test_administrator_cannot_remove_own_administrator_role(admin_a: User) -> None:
    response = _client_for(admin_a).post(f"/staff/people/{admin_a.pk}/roles/", {"roles": ["supervisor"]})
    assert response.status_code == 400
    assert _roles(admin_a) == ["administrator"]


def test_create_staff_in_the_jurisdiction(admin_a: User, bureau_a: Department) -> None:
    response = _client_for(admin_a).post(
        "/staff/people/new/",
        {
            "username": "new.clerk",
            "name": "王小明",
            "department": bureau_a.pk,
            "roles": ["window_clerk", "approver"],
            "phone": "",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="new.clerk")
    assert response["Location"] == f"/staff/people/{created.pk}/"
    assert created.department == bureau_a
    assert _roles(created) == ["approver", "window_clerk"]
    assert created.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="staff.create", actor_id=admin_a.pk).exists()


def test_create_staff_in_another_county_is_refused(admin_a: User, county_b: Department) -> None:
    response = _client_for(admin_a).post(
        "/staff/people/new/",
        {
            "username": "sneaky",
            "name": "李四",
            "department": county_b.pk,
            "roles": ["administrator"],
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert not User.objects.filter(username="sneaky").exists()


def test_create_staff_reports_a_taken_username(admin_a: User, member_a: User, bureau_a: Department) -> None:
    response = _client_for(admin_a).post(
        "/staff/people/new/",
        {
            "username": member_a.username,
            "name": "王小明",
            "department": bureau_a.pk,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 409
    assert User.objects.filter(username=member_a.username).count() == 1


def test_deactivate_and_reactivate(admin_a: User, member_a: User) -> None:
    client = _client_for(admin_a)
    assert client.post(f"/staff/people/{member_a.pk}/active/", {"active": "0"}).status_code == 302
    member_a.refresh_from_db()
    assert not member_a.is_active
    assert client.post(f"/staff/people/{member_a.pk}/active/", {"active": "1"}).status_code == 302
    member_a.refresh_from_db()
    assert member_a.is_active
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["staff.deactivate", "staff.activate"]


def test_administrator_cannot_deactivate_self(admin_a: User) -> None:
    response = _client_for(admin_a).post(f"/staff/people/{admin_a.pk}/active/", {"active": "0"})
    assert response.status_code == 400
    admin_a.refresh_from_db()
    assert admin_a.is_active


def test_state_changes_need_post(admin_a: User, member_a: User) -> None:
    client = _client_for(admin_a)
    assert client.get(f"/staff/people/{member_a.pk}/active/").status_code == 405
    assert client.get(f"/staff/people/{member_a.pk}/second-factor/reset/").status_code == 405


def test_reset_second_factor_from_the_detail_page(admin_a: User, member_a: User) -> None:
    TOTPDevice.objects.create(user=member_a, name="authenticator", confirmed=True)
    client = _client_for(admin_a)
    assert "/second-factor/reset/" in client.get(f"/staff/people/{member_a.pk}/").content.decode()
    response = client.post(f"/staff/people/{member_a.pk}/second-factor/reset/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=member_a).exists()
    event = AuditEvent.objects.get(action="auth.totp_reset")
    assert event.actor_id == admin_a.pk
    assert event.data == {"removed_devices": 1}


# --- departments -----------------------------------------------------------------------------


def test_department_tree_is_scoped(admin_a: User, bureau_a: Department, county_b: Department) -> None:
    body = _client_for(admin_a).get("/staff/departments/").content.decode()
    assert "金安区人民政府" in body
    assert "金安区市场监管局" in body
    assert "裕安区人民政府" not in body
    # the bureau is nested under its county government
    assert (
        body.index("金安区人民政府")
        < body.index("<ul>", body.index("金安区人民政府"))
        < body.index("金安区市场监管局")
    )


def test_city_administrator_sees_every_county(
    city: Department, county_a: Department, county_b: Department
) -> None:
    city_admin: Any = StaffFactory(username="admin.city", department=city, roles=["administrator"])
    body = _client_for(city_admin).get("/staff/departments/").content.decode()
    assert "金安区人民政府" in body
    assert "裕安区人民政府" in body


# --- workbench tiles -------------------------------------------------------------------------


def test_workbench_tiles_follow_the_roles(admin_a: User, member_a: User, county_a: Department) -> None:
    admin_page = _client_for(admin_a).get("/workbench/").content.decode()
    for href in (
        "/staff/people/",
        "/staff/departments/",
        "/staff/clients/",
        "/staff/calendar/",
        "/staff/otp/setup/",
        "/staff/audit/",  # administrators may read the trail of their jurisdiction too
    ):
        assert f'href="{href}"' in admin_page

    supervisor: Any = StaffFactory(username="super.a", department=county_a, roles=["supervisor"])
    supervisor_page = _client_for(supervisor).get("/workbench/").content.decode()
    assert 'href="/staff/audit/"' in supervisor_page
    assert 'href="/staff/people/"' not in supervisor_page

    clerk_page = _client_for(member_a).get("/workbench/").content.decode()
    assert 'href="/staff/cases/?tab=intake"' in clerk_page
    assert 'href="/staff/window/"' in clerk_page
    assert 'href="/staff/people/"' not in clerk_page
    assert 'href="/staff/otp/setup/"' in clerk_page

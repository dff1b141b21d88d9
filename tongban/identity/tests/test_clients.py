"""Registration of department systems as OIDC clients: the services and the administrators' pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from tongban.core import audit
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity import services
from tongban.identity.models import Department, DepartmentSystem, User
from tongban.identity.services.clients import ClientCredentials, client_secret_matches
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

REDIRECT_URI = "https://bdc.example.gov.cn/oidc/callback"


@pytest.fixture(autouse=True)
def _second_factor_optional(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


@pytest.fixture
def other_city() -> Any:
    return DepartmentFactory(name="阜阳市人民政府", code="fy-gov", level="city", division_code="341200")


@pytest.fixture
def other_admin(other_city: Department) -> Any:
    return StaffFactory(department=other_city, roles=["administrator"])


@pytest.fixture
def registered(department: Department, admin_user: User) -> ClientCredentials:
    return services.client_register(
        name="不动产登记系统", redirect_uris=[REDIRECT_URI], department=department, by=admin_user
    )


def _system(credentials: ClientCredentials) -> DepartmentSystem:
    return DepartmentSystem.objects.select_related("application").get(application=credentials.application)


# --- services --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_keeps_only_a_hash_of_the_secret_and_audits(
    registered: ClientCredentials, admin_user: User
) -> None:
    application = Application.objects.get(pk=registered.application.pk)
    assert registered.client_secret
    assert registered.client_secret not in application.client_secret
    assert application.client_secret.startswith("tongban-sha256$")
    assert client_secret_matches(registered.client_secret, application.client_secret)
    assert application.skip_authorization is True
    assert application.algorithm == "RS256"
    system = _system(registered)
    assert system.registered_by == admin_user
    event = AuditEvent.objects.get(action="oidc.client_register")
    assert event.actor_id == admin_user.pk
    assert event.subject_id == str(system.pk)
    assert event.data["client_id"] == application.client_id
    assert registered.client_secret not in str(event.data)
    assert audit.verify().ok


@pytest.mark.django_db
def test_a_public_client_gets_no_secret(department: Department) -> None:
    credentials = services.client_register(
        name="掌上办事App",
        redirect_uris=["https://m.example.gov.cn/oauth/callback"],
        client_type="public",
        department=department,
        by=None,
    )
    assert credentials.client_secret is None
    assert credentials.application.client_type == "public"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"redirect_uris": []}, "redirect_uris"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "redirect_uris"),
        ({"redirect_uris": ["https://rp.example.gov.cn/cb#frag"]}, "redirect_uris"),
        ({"redirect_uris": ["/relative/callback"]}, "redirect_uris"),
        ({"name": "x"}, "name"),
        ({"grant_type": "password"}, "grant_type"),
        ({"grant_type": "client-credentials", "redirect_uris": [], "client_type": "public"}, "client_type"),
        ({"grant_type": "client-credentials", "redirect_uris": [REDIRECT_URI]}, "redirect_uris"),
    ],
    ids=[
        "no-uri",
        "javascript",
        "fragment",
        "relative",
        "short-name",
        "password-grant",
        "public-machine",
        "machine-uri",
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(
    department: Department, arguments: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"name": "某业务系统", "redirect_uris": [REDIRECT_URI], "department": department}
    values.update(arguments)
    with pytest.raises(ValidationFailed) as caught:
        services.client_register(**values, by=None)
    assert caught.value.code == "client_invalid"
    assert field in caught.value.fields
    assert not Application.objects.exists()
    assert not DepartmentSystem.objects.exists()
    assert not AuditEvent.objects.filter(action="oidc.client_register").exists()


@pytest.mark.django_db
def test_an_administrator_cannot_register_for_another_jurisdiction(
    other_city: Department, admin_user: User, citizen: User
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        services.client_register(
            name="某业务系统", redirect_uris=[REDIRECT_URI], department=other_city, by=admin_user
        )
    assert caught.value.code == "department_out_of_scope"
    with pytest.raises(PermissionDenied):
        services.client_register(
            name="某业务系统", redirect_uris=[REDIRECT_URI], department=other_city, by=citizen
        )
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_rotate_replaces_the_secret(
    registered: ClientCredentials, admin_user: User, other_admin: User
) -> None:
    system = _system(registered)
    with pytest.raises(PermissionDenied):
        services.client_secret_rotate(system=system, by=other_admin)
    rotated = services.client_secret_rotate(system=system, by=admin_user)
    stored = Application.objects.get(pk=system.application_id).client_secret
    assert rotated.client_secret
    assert rotated.client_secret != registered.client_secret
    assert client_secret_matches(rotated.client_secret, stored)
    assert not client_secret_matches(registered.client_secret or "", stored)
    assert DepartmentSystem.objects.get(pk=system.pk).secret_rotated_at is not None
    assert AuditEvent.objects.filter(action="oidc.client_secret_rotate", actor_id=admin_user.pk).count() == 1


@pytest.mark.django_db
def test_disable_revokes_every_token(registered: ClientCredentials, admin_user: User, citizen: User) -> None:
    application = registered.application
    later = timezone.now() + timedelta(hours=1)
    access = AccessToken.objects.create(
        user=citizen, application=application, token="at-1", expires=later, scope="openid"
    )
    RefreshToken.objects.create(user=citizen, application=application, token="rt-1", access_token=access)
    system = services.client_disable(system=_system(registered), by=admin_user)
    assert system.disabled_at is not None
    assert system.disabled_by == admin_user
    assert not AccessToken.objects.filter(application=application).exists()
    assert not RefreshToken.objects.filter(application=application, revoked__isnull=True).exists()
    event = AuditEvent.objects.get(action="oidc.client_disable")
    assert event.data["revoked_access_tokens"] == 1
    assert event.data["revoked_refresh_tokens"] == 1
    with pytest.raises(Conflict):
        services.client_secret_rotate(system=system, by=admin_user)


# --- pages -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["clients:list", "clients:register"])
def test_citizens_and_other_roles_get_403(
    client: Client, citizen: User, department: Department, url_name: str
) -> None:
    client.force_login(citizen)
    assert client.get(reverse(url_name)).status_code == 403
    approver: Any = StaffFactory(department=department, roles=["approver"])
    client.force_login(approver)
    assert client.get(reverse(url_name)).status_code == 403


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login(client: Client) -> None:
    response = client.get(reverse("clients:list"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("portal:login"))


@pytest.mark.django_db
def test_list_shows_only_the_administrators_jurisdiction(
    client: Client, registered: ClientCredentials, other_city: Department, other_admin: User, admin_user: User
) -> None:
    theirs = services.client_register(
        name="阜阳市医保系统", redirect_uris=[REDIRECT_URI], department=other_city, by=other_admin
    )
    client.force_login(admin_user)
    body = client.get(reverse("clients:list")).content.decode()
    assert registered.application.client_id in body
    assert theirs.application.client_id not in body
    client.force_login(other_admin)
    body = client.get(reverse("clients:list")).content.decode()
    assert theirs.application.client_id in body
    assert registered.application.client_id not in body


@pytest.mark.django_db
def test_another_jurisdiction_cannot_see_rotate_or_disable_a_client(
    client: Client, registered: ClientCredentials, other_admin: User
) -> None:
    system = _system(registered)
    before = Application.objects.get(pk=system.application_id).client_secret
    client.force_login(other_admin)
    assert client.get(reverse("clients:detail", args=[system.pk])).status_code == 404
    assert client.post(reverse("clients:rotate_secret", args=[system.pk])).status_code == 404
    assert client.post(reverse("clients:disable", args=[system.pk])).status_code == 404
    assert Application.objects.get(pk=system.application_id).client_secret == before
    assert DepartmentSystem.objects.get(pk=system.pk).disabled_at is None
    assert not AuditEvent.objects.filter(
        action__in=["oidc.client_secret_rotate", "oidc.client_disable"]
    ).exists()


@pytest.mark.django_db
def test_register_page_defaults_to_skipping_consent(
    client: Client, admin_user: User, other_city: Department
) -> None:
    client.force_login(admin_user)
    response = client.get(reverse("clients:register"))
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r'<input type="checkbox" name="skip_authorization"[^>]* checked', body)
    assert f'value="{admin_user.department_id}"' in body
    assert f'value="{other_city.pk}"' not in body  # only departments in the jurisdiction are offered


@pytest.mark.django_db
def test_register_page_shows_the_secret_once_and_audits(
    client: Client, admin_user: User, department: Department
) -> None:
    client.force_login(admin_user)
    response = client.post(
        reverse("clients:register"),
        {
            "name": "公积金业务系统",
            "department": department.pk,
            "grant_type": "authorization-code",
            "client_type": "confidential",
            "redirect_uris": f"{REDIRECT_URI}\r\nhttps://gjj.example.gov.cn/cb",
            "post_logout_redirect_uris": "",
            "skip_authorization": "on",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    system = DepartmentSystem.objects.select_related("application").get()
    application = system.application
    assert application.redirect_uris.split() == [REDIRECT_URI, "https://gjj.example.gov.cn/cb"]
    assert system.department == department
    body = response.content.decode()
    assert application.client_id in body
    shown = re.search(r"<dd><code>([A-Za-z0-9_-]{60,})</code></dd>", body)
    assert shown is not None
    assert client_secret_matches(shown.group(1), application.client_secret)
    assert AuditEvent.objects.filter(action="oidc.client_register", actor_id=admin_user.pk).count() == 1
    # The detail page never shows it again.
    detail = client.get(reverse("clients:detail", args=[system.pk])).content.decode()
    assert application.client_id in detail
    assert shown.group(1) not in detail


@pytest.mark.django_db
def test_register_page_puts_service_errors_on_the_fields(
    client: Client, admin_user: User, department: Department
) -> None:
    client.force_login(admin_user)
    response = client.post(
        reverse("clients:register"),
        {
            "name": "公积金业务系统",
            "department": department.pk,
            "grant_type": "authorization-code",
            "client_type": "confidential",
            "redirect_uris": "ftp://example.com/cb",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "is not an acceptable address" in response.content.decode()
    assert not DepartmentSystem.objects.exists()


@pytest.mark.django_db
def test_rotate_and_disable_pages(client: Client, registered: ClientCredentials, admin_user: User) -> None:
    system = _system(registered)
    client.force_login(admin_user)
    rotated = client.post(reverse("clients:rotate_secret", args=[system.pk]))
    assert rotated.status_code == 200
    assert "no-store" in rotated.headers["Cache-Control"]
    new_secret = re.search(r"<dd><code>([A-Za-z0-9_-]{60,})</code></dd>", rotated.content.decode())
    assert new_secret is not None
    assert client_secret_matches(
        new_secret.group(1), Application.objects.get(pk=system.application_id).client_secret
    )
    assert client.get(reverse("clients:rotate_secret", args=[system.pk])).status_code == 405

    disabled = client.post(reverse("clients:disable", args=[system.pk]))
    assert disabled.status_code == 302
    assert DepartmentSystem.objects.get(pk=system.pk).disabled_at is not None
    assert AuditEvent.objects.filter(action="oidc.client_disable", actor_id=admin_user.pk).exists()

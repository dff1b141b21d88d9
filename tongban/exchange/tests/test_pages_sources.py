"""Upstream systems and resource sources: administrators of the jurisdiction only, the API key never
shown back."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.core.models import AuditEvent
from tongban.exchange.choices import SourceKind
from tongban.exchange.models import ResourceSource, UpstreamSystem
from tongban.exchange.tests import factories as f
from tongban.exchange.tests.test_pages import World, client_for, make_world

pytestmark = pytest.mark.django_db

SECRET = "upstream-secret-4f9c2a"


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


@pytest.fixture
def world() -> World:
    return make_world()


def upstream_data(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "department": str(world.gaj.pk),
        "name": "婚姻登记系统",
        "base_url": "https://mzj.example.gov.cn/api/",
        "api_key": SECRET,
        "timeout_seconds": "1.5",
        "retries": "1",
        "failure_threshold": "5",
        "reset_seconds": "30",
        **overrides,
    }


def upstream(world: World, department: Any = None, **overrides: Any) -> UpstreamSystem:
    values: dict[str, Any] = {
        "department": department or world.gaj,
        "name": "婚姻登记系统",
        "base_url": "https://mzj.example.gov.cn/api",
        "api_key": SECRET,
        **overrides,
    }
    return UpstreamSystem.objects.create(**values)


# --- upstream systems ----------------------------------------------------------------------------


def test_an_administrator_registers_a_system_and_the_key_is_never_shown(world: World) -> None:
    client = client_for(world.city_admin)
    form = client.get("/staff/exchange/upstreams/new/").content.decode()
    assert 'type="password" name="api_key"' in form
    response = client.post("/staff/exchange/upstreams/new/", upstream_data(world))
    system = UpstreamSystem.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/exchange/upstreams/{system.pk}/"
    assert system.base_url == "https://mzj.example.gov.cn/api"
    assert system.api_key == SECRET
    assert AuditEvent.objects.filter(action="exchange.upstream_registered").exists()
    for path in (response["Location"], "/staff/exchange/upstreams/"):
        body = client.get(path).content.decode()
        assert SECRET not in body
        assert ">set<" in body


def test_a_bad_registration_keeps_the_key_out_of_the_page_and_changes_nothing(world: World) -> None:
    client = client_for(world.city_admin)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"base_url": "ftp://mzj"}, "base_url", "starting with https://"),
        ({"name": " "}, "name", "Name the system."),
        ({"timeout_seconds": "99"}, "timeout_seconds", "Between 0.05 and 30 seconds."),
        ({"timeout_seconds": "nan"}, "timeout_seconds", "Enter a number."),
        ({"retries": "7"}, "retries", "Between 0 and 3 retries."),
        ({"failure_threshold": "99999999"}, "failure_threshold", "less than or equal to 1000"),
        ({"base_url": "https://" + "a" * 300}, "base_url", "at most 200 characters"),
    ]
    for overrides, field, message in cases:
        response = client.post("/staff/exchange/upstreams/new/", upstream_data(world, **overrides))
        assert response.status_code == 400, overrides
        assert any(message in e for e in response.context["form"].errors[field]), (
            overrides,
            response.context["form"].errors,
        )
        assert SECRET not in response.content.decode()
    assert not UpstreamSystem.objects.exists()


def test_a_department_outside_the_jurisdiction_is_not_a_choice(world: World) -> None:
    response = client_for(world.county_admin).post("/staff/exchange/upstreams/new/", upstream_data(world))
    assert response.status_code == 400
    assert "department" in response.context["form"].errors
    assert not UpstreamSystem.objects.exists()


def test_data_officers_see_their_departments_systems_but_do_not_register(world: World) -> None:
    ours = upstream(world)
    theirs = upstream(world, department=world.wlj, name="文旅系统")
    client = client_for(world.provider_officer)
    listing = client.get("/staff/exchange/upstreams/").content.decode()
    assert f"/upstreams/{ours.pk}/" in listing
    assert f"/upstreams/{theirs.pk}/" not in listing
    assert "/upstreams/new/" not in listing
    assert client.get(f"/staff/exchange/upstreams/{ours.pk}/").status_code == 200
    assert client.post("/staff/exchange/upstreams/new/", upstream_data(world)).status_code == 403
    assert UpstreamSystem.objects.count() == 2


def test_another_departments_or_jurisdictions_system_is_not_found(world: World) -> None:
    system = upstream(world)
    assert client_for(world.other_officer).get(f"/staff/exchange/upstreams/{system.pk}/").status_code == 404
    assert client_for(world.county_admin).get(f"/staff/exchange/upstreams/{system.pk}/").status_code == 404
    assert client_for(world.city_admin).get(f"/staff/exchange/upstreams/{system.pk}/").status_code == 200
    assert client_for(world.city_admin).get("/staff/exchange/upstreams/999999/").status_code == 404


# --- resource sources ------------------------------------------------------------------------------


def test_sources_list_the_jurisdictions_resources_with_their_source(world: World) -> None:
    body = client_for(world.city_admin).get("/staff/exchange/sources/").content.decode()
    assert f"/staff/exchange/sources/{world.conditional.pk}/" in body
    assert "Population base" in body  # the factory's base-data source
    assert "no source" in body  # the unconditional resource has none
    assert (
        f"/sources/{world.conditional.pk}/"
        not in client_for(world.county_admin).get("/staff/exchange/sources/").content.decode()
    )


def test_an_administrator_points_a_resource_at_an_upstream_path(world: World) -> None:
    system = upstream(world)
    url = f"/staff/exchange/sources/{world.unconditional.pk}/"
    client = client_for(world.city_admin)
    bad = client.post(url, {"kind": "upstream", "upstream": str(system.pk), "path": "/marriages"})
    assert bad.status_code == 400
    assert "contains {key}" in bad.context["form"].errors["path"][0]
    assert client.post(url, {"kind": "upstream", "path": "/m/{key}"}).context["form"].errors["upstream"]
    assert not ResourceSource.objects.filter(resource=world.unconditional).exists()
    good = client.post(url, {"kind": "upstream", "upstream": str(system.pk), "path": "/marriages/{key}"})
    assert good.status_code == 302
    source = ResourceSource.objects.get(resource=world.unconditional)
    assert (source.kind, source.upstream, source.path) == (SourceKind.UPSTREAM, system, "/marriages/{key}")
    assert "/marriages/{key}" in client.get(f"/staff/exchange/upstreams/{system.pk}/").content.decode()
    back = client.post(url, {"kind": "basedata", "dataset": "legal_entity"})
    assert back.status_code == 302
    source.refresh_from_db()
    assert (source.kind, source.dataset, source.upstream) == (SourceKind.BASEDATA, "legal_entity", None)
    assert client.post(url, {"kind": "basedata", "dataset": "salaries"}).status_code == 400


def test_a_resource_outside_the_jurisdiction_has_no_source_page(world: World) -> None:
    url = f"/staff/exchange/sources/{world.conditional.pk}/"
    assert client_for(world.county_admin).get(url).status_code == 404
    assert (
        client_for(world.county_admin).post(url, {"kind": "basedata", "dataset": "population"}).status_code
        == 404
    )
    assert client_for(world.provider_officer).get(url).status_code == 403
    retired = f.resource(world.gaj, name="旧资源", status="retired")
    assert client_for(world.city_admin).get(f"/staff/exchange/sources/{retired.pk}/").status_code == 404


def test_an_administrator_serves_a_resource_from_the_licence_library(world: World) -> None:
    system = upstream(world)
    url = f"/staff/exchange/sources/{world.unconditional.pk}/"
    client = client_for(world.city_admin)
    client.post(url, {"kind": "upstream", "upstream": str(system.pk), "path": "/licences/{key}"})
    # Like a base database: no dataset, system or path; what was set for the upstream is cleared.
    saved = client.post(url, {"kind": "licences", "dataset": "", "path": "/ignored/{key}"})
    assert saved.status_code == 302
    source = ResourceSource.objects.get(resource=world.unconditional)
    assert (source.kind, source.dataset, source.upstream, source.path) == (SourceKind.LICENCES, "", None, "")
    event = AuditEvent.objects.filter(action="exchange.source_set").order_by("-pk").first()
    assert event is not None
    assert event.data["kind"] == "licences"
    listing = client.get("/staff/exchange/sources/").content.decode()
    assert "The electronic licence library" in listing
    assert (
        client_for(world.county_admin).post(url, {"kind": "basedata", "dataset": "population"}).status_code
        == 404
    )
    source.refresh_from_db()
    assert source.kind == SourceKind.LICENCES

"""The account page's real-name check: a citizen reaches level 2 through the exchange, or is told why not."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tongban.exchange import gateway
from tongban.exchange.tests import factories as f
from tongban.identity.tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def population(settings: Any) -> Any:
    cache.clear()
    gateway.forget_cached_items()
    gaj = f.department("p-gaj", "六安市公安局")
    sjj = f.department("p-sjj", "六安市数据资源管理局")
    settings.TONGBAN_REAL_NAME_DEPARTMENT = sjj.code
    resource = f.resource(gaj)
    f.grant(sjj, resource, items=["name", "life_status"])
    return resource


def test_the_check_raises_the_level_and_says_so(client: Client, population: Any) -> None:
    person = f.person(name="李娜", gender="2")
    citizen: Any = CitizenFactory(resident_id=person.resident_id, name="李娜", real_name_level=1)
    client.force_login(citizen)
    page = client.get("/account/")
    assert "Check my real name" in page.content.decode() or "核验" in page.content.decode()
    reply = client.post("/account/real-name/", follow=True)
    assert reply.status_code == 200
    citizen.refresh_from_db()
    assert citizen.real_name_level == 2
    assert "/account/real-name/" not in reply.content.decode()  # the button is gone at level 2


def test_a_mismatch_is_explained_and_changes_nothing(client: Client, population: Any) -> None:
    person = f.person(name="李娜", gender="2")
    citizen: Any = CitizenFactory(resident_id=person.resident_id, name="李小娜", real_name_level=1)
    client.force_login(citizen)
    reply = client.post("/account/real-name/", follow=True)
    assert reply.status_code == 200
    assert reply.context["messages"]
    citizen.refresh_from_db()
    assert citizen.real_name_level == 1


def test_the_check_needs_a_login_and_a_post(client: Client, population: Any) -> None:
    assert client.post("/account/real-name/").status_code == 302  # to the login page
    citizen: Any = CitizenFactory(real_name_level=1)
    client.force_login(citizen)
    assert client.get("/account/real-name/").status_code == 405

"""The call record and the statistics pages: scoped, filtered, audited, never a full key hash."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from tongban.core.models import AuditEvent
from tongban.exchange import services
from tongban.exchange.models import CallStatDay
from tongban.exchange.tests import factories as f
from tongban.exchange.tests.test_pages import World, client_for, make_world, record_call, today

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    settings.STAFF_2FA = "optional"


@pytest.fixture
def world() -> World:
    return make_world()


def listed(response: Any) -> set[uuid.UUID]:
    return {row.call.call_id for row in response.context["rows"]}


# --- the call record ---------------------------------------------------------------------------


def test_providers_see_who_called_their_data_and_consumers_their_own_calls(world: World) -> None:
    on_gaj = record_call(world.rsj, world.conditional)
    by_gaj = record_call(world.gaj, f.resource(world.rsj, name="社保参保信息"))
    elsewhere = record_call(world.wlj, f.resource(world.wlj, name="文旅资源"))
    provider = client_for(world.provider_officer)
    assert listed(provider.get("/staff/exchange/calls/")) == {on_gaj.call_id, by_gaj.call_id}
    assert listed(provider.get("/staff/exchange/calls/", {"side": "provider"})) == {on_gaj.call_id}
    assert listed(provider.get("/staff/exchange/calls/", {"side": "consumer"})) == {by_gaj.call_id}
    consumer = client_for(world.consumer_officer)
    assert listed(consumer.get("/staff/exchange/calls/", {"side": "consumer"})) == {on_gaj.call_id}
    assert elsewhere.call_id not in listed(consumer.get("/staff/exchange/calls/"))
    assert listed(client_for(world.county_admin).get("/staff/exchange/calls/")) == set()
    assert len(listed(client_for(world.city_admin).get("/staff/exchange/calls/"))) == 3


def test_the_table_shows_why_and_for_whom_but_never_a_whole_key_hash(world: World) -> None:
    call = record_call(
        world.rsj,
        world.conditional,
        on_behalf_of="34150219860312001X",
        outcome="refused",
        error_code="items_not_granted",
        http_status=403,
        latency_ms=12.345,
    )
    body = client_for(world.provider_officer).get("/staff/exchange/calls/").content.decode()
    assert call.key_hash not in body
    assert call.key_hash[:12] in body
    assert "34150219860312001X" not in body
    assert "341502********001X" in body
    for shown in ("rsj-system", call.case_number, "就业登记核验身份", "items_not_granted", "403", "12.3"):
        assert shown in body
    assert world.rsj.name in body


def test_filters_by_resource_consumer_outcome_and_dates(world: World) -> None:
    other_resource = f.resource(world.gaj, name="出入境记录")
    ok = record_call(world.rsj, world.conditional)
    refused = record_call(
        world.wlj, world.conditional, outcome="refused", error_code="no_grant", http_status=403
    )
    other = record_call(world.rsj, other_resource)
    old = record_call(world.rsj, world.conditional, requested_at=timezone.now() - dt.timedelta(days=20))
    client = client_for(world.provider_officer)
    assert listed(client.get("/staff/exchange/calls/")) == {ok.call_id, refused.call_id, other.call_id}
    assert listed(
        client.get("/staff/exchange/calls/", {"resource": str(other_resource.pk), "since": ""})
    ) == {other.call_id}
    assert listed(client.get("/staff/exchange/calls/", {"consumer": world.wlj.pk})) == {refused.call_id}
    assert listed(client.get("/staff/exchange/calls/", {"outcome": "refused"})) == {refused.call_id}
    old_day = (today() - dt.timedelta(days=20)).isoformat()
    assert listed(client.get("/staff/exchange/calls/", {"since": old_day, "until": old_day})) == {old.call_id}
    assert len(listed(client.get("/staff/exchange/calls/", {"side": "provider"}))) == 4  # no dates: all


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "2026-03-10", "until": "2026-03-01"}, "The end date is before the start date."),
        ({"since": "2026-02-30"}, "Enter a valid date."),
        ({"until": "9999-12-31"}, "Choose a date between 2000-01-01 and 2099-12-31."),
        ({"since": "1900-01-01"}, "Choose a date between 2000-01-01 and 2099-12-31."),
        ({"outcome": "maybe"}, "Select a valid choice."),
    ],
)
def test_an_impossible_filter_gets_a_clear_message(world: World, query: dict[str, str], message: str) -> None:
    record_call(world.rsj, world.conditional)
    response = client_for(world.provider_officer).get("/staff/exchange/calls/", query)
    assert response.status_code == 400
    assert message.split(" ")[0] in response.content.decode()
    assert response.context["page"] is None
    assert not AuditEvent.objects.filter(action="exchange.calls_viewed").exists()


def test_reading_the_call_record_is_audited_with_its_filters(world: World) -> None:
    client = client_for(world.provider_officer)
    client.get("/staff/exchange/calls/", {"outcome": "refused", "side": "provider", "since": "2026-01-01"})
    event = AuditEvent.objects.get(action="exchange.calls_viewed")
    assert event.actor_id == world.provider_officer.pk
    assert event.data["filters"]["outcome"] == "refused"
    assert event.data["filters"]["side"] == "provider"
    assert event.data["filters"]["since"].startswith("2026-01-01")
    assert event.data["page"] == 1


def test_the_call_record_pages_without_counting(world: World) -> None:
    start = timezone.now()
    for n in range(51):
        record_call(world.rsj, world.conditional, requested_at=start - dt.timedelta(seconds=n))
    client = client_for(world.provider_officer)
    first = client.get("/staff/exchange/calls/")
    assert len(first.context["rows"]) == 50
    assert first.context["page"].has_next
    assert "page=2" in first.content.decode()
    second = client.get("/staff/exchange/calls/", {"page": "2"})
    assert len(second.context["rows"]) == 1
    assert not second.context["page"].has_next
    assert client.get("/staff/exchange/calls/", {"page": "x"}).context["page"].number == 1


def test_a_call_is_opened_by_either_side_only_and_audited(world: World) -> None:
    call = record_call(world.rsj, world.conditional, operation="batch", key_hash="", key_count=3,
                       key_hashes=["a" * 64, "b" * 64, "c" * 64])  # fmt: skip
    url = f"/staff/exchange/calls/{call.call_id}/"
    for user in (world.provider_officer, world.consumer_officer, world.city_admin):
        response = client_for(user).get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "a" * 64 not in body
        assert "a" * 12 in body
    assert (
        AuditEvent.objects.filter(action="exchange.calls_viewed", data__call_id=str(call.call_id)).count()
        == 3
    )
    for user in (world.other_officer, world.county_admin):
        assert client_for(user).get(url).status_code == 404
    assert client_for(world.provider_officer).get(f"/staff/exchange/calls/{uuid.uuid4()}/").status_code == 404


# --- statistics ----------------------------------------------------------------------------------


def stat(
    world: World, day: dt.date, consumer: Any, resource: Any, calls: int, refused: int = 0
) -> CallStatDay:
    return CallStatDay.objects.create(
        day=day,
        resource=resource,
        consumer_department=consumer,
        calls=calls,
        answered=calls - refused,
        refused=refused,
        total_latency_ms=calls * 5.0,
    )


def test_statistics_per_resource_consumer_and_day_with_totals(world: World) -> None:
    stat(world, today(), world.rsj, world.conditional, 10, refused=2)
    stat(world, today() - dt.timedelta(days=1), world.wlj, world.conditional, 5)
    stat(world, today() - dt.timedelta(days=60), world.rsj, world.conditional, 100)
    stat(world, today(), world.wlj, f.resource(world.wlj, name="文旅资源"), 7)
    response = client_for(world.provider_officer).get("/staff/exchange/stats/")
    assert response.status_code == 200
    assert response.context["totals"]["calls"] == 15
    assert response.context["totals"]["refused"] == 2
    assert response.context["totals"]["mean_latency_ms"] == 5.0
    assert [r["calls"] for r in response.context["by_consumer"]] == [10, 5]
    assert [r["resource_id"] for r in response.context["by_resource"]] == [world.conditional.pk]
    assert "Counted up to" in response.content.decode()
    longer = client_for(world.provider_officer).get(
        "/staff/exchange/stats/",
        {"since": (today() - dt.timedelta(days=90)).isoformat(), "consumer": str(world.rsj.pk)},
    )
    assert longer.context["totals"]["calls"] == 110
    consumer = client_for(world.consumer_officer).get("/staff/exchange/stats/")
    assert consumer.context["totals"]["calls"] == 10
    assert client_for(world.county_admin).get("/staff/exchange/stats/").context["totals"]["calls"] == 0


def test_statistics_refuse_an_impossible_range(world: World) -> None:
    response = client_for(world.provider_officer).get(
        "/staff/exchange/stats/", {"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


def test_administrators_recount_now_and_others_may_not(world: World) -> None:
    record_call(world.rsj, world.conditional)
    record_call(world.rsj, world.conditional, outcome="error", error_code="upstream_timeout", http_status=504)
    assert client_for(world.provider_officer).post("/staff/exchange/stats/recount/").status_code == 403
    assert not CallStatDay.objects.exists()
    page = client_for(world.city_admin).get("/staff/exchange/stats/").content.decode()
    assert 'action="/staff/exchange/stats/recount/"' in page
    assert (
        'action="/staff/exchange/stats/recount/"'
        not in client_for(world.provider_officer).get("/staff/exchange/stats/").content.decode()
    )
    response = client_for(world.city_admin).post("/staff/exchange/stats/recount/")
    assert response.status_code == 302
    row = CallStatDay.objects.get()
    assert (row.calls, row.failed) == (2, 1)
    assert AuditEvent.objects.filter(action="exchange.stats_recounted", actor_id=world.city_admin.pk).exists()
    assert client_for(world.city_admin).get("/staff/exchange/stats/recount/").status_code == 405


def test_the_recount_service_is_for_administrators(world: World) -> None:
    from tongban.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.stats_recount(by=world.provider_officer)

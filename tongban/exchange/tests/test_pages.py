"""The exchange's staff pages: the overview, applying for data, grants and their actions.

Who sees what is the selectors' business; these tests prove the pages go through them (another
department's grant is a 404, a forged action a 403 that changes nothing) and that bad input gets a
clear error on the field it concerns. ``World`` and the helpers are shared with the other
``test_pages_*`` modules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tongban.catalog.tests.factories import ServiceItemFactory
from tongban.core.models import AuditEvent
from tongban.exchange import services
from tongban.exchange.choices import GrantStatus
from tongban.exchange.models import AccessGrant, CallRecord
from tongban.exchange.tests import factories as f
from tongban.identity.choices import Role
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import CitizenFactory, DepartmentFactory, StaffFactory
from tongban.resources.models import DataResource

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    """Today's local date, read when a test runs: not at import, as a run may cross midnight."""
    return timezone.localdate()


@pytest.fixture(autouse=True)
def _optional_second_factor(settings: Any) -> None:
    # Roles and scope are tested here; identity's test_otp covers the second-factor gate.
    settings.STAFF_2FA = "optional"


@dataclass
class World:
    gaj: Department  # provider
    rsj: Department  # consumer
    wlj: Department  # a third department of the same city
    county: Department  # a county department: another jurisdiction
    provider_officer: User
    consumer_officer: User
    other_officer: User
    city_admin: User
    county_admin: User
    conditional: DataResource
    unconditional: DataResource
    not_shared: DataResource


def make_world() -> World:
    gaj = f.department("pg-gaj", "六安市公安局")
    rsj = f.department("pg-rsj", "六安市人力资源和社会保障局")
    wlj = f.department("pg-wlj", "六安市文化和旅游局")
    city_office: Any = DepartmentFactory(code="pg-sjj", name="六安市数据资源管理局", division_code="341500")
    county: Any = DepartmentFactory(
        code="pg-jinan", name="金安区数据资源管理局", level="county", division_code="341502"
    )
    city_admin: Any = StaffFactory(department=city_office, roles=[Role.ADMINISTRATOR], name="市管理员")
    county_admin: Any = StaffFactory(department=county, roles=[Role.ADMINISTRATOR], name="区管理员")
    return World(
        gaj=gaj,
        rsj=rsj,
        wlj=wlj,
        county=county,
        provider_officer=f.data_officer(gaj, name="提供方"),
        consumer_officer=f.data_officer(rsj, name="使用方"),
        other_officer=f.data_officer(wlj, name="旁人"),
        city_admin=city_admin,
        county_admin=county_admin,
        conditional=f.resource(gaj, name="人口基础信息", sharing_type="conditional"),
        unconditional=f.resource(gaj, name="户籍登记信息", sharing_type="unconditional", dataset=None),
        not_shared=f.resource(gaj, name="侦查信息", sharing_type="not_shared", dataset=None),
    )


@pytest.fixture
def world() -> World:
    return make_world()


def client_for(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def record_call(consumer: Department | None, resource: DataResource, **overrides: Any) -> CallRecord:
    """One row of the call record, as the gateway writes it."""
    now = timezone.now()
    values: dict[str, Any] = {
        "call_id": uuid.uuid4(),
        "requested_at": now,
        "responded_at": now + dt.timedelta(milliseconds=4),
        "latency_ms": 4.2,
        "operation": "query",
        "consumer_department": consumer,
        "client_id": "rsj-system",
        "on_behalf_of": "staff.rsj",
        "case_number": "11341500MB1234567X000120261203000001",
        "purpose": "就业登记核验身份",
        "resource": resource,
        "resource_code": resource.code,
        "provider_department_id": resource.provider_id,
        "key_hash": "0123456789abcdef" * 4,
        "key_count": 1,
        "items": ["name", "gender"],
        "outcome": "ok",
        "http_status": 200,
        **overrides,
    }
    return CallRecord.objects.create(**values)


def apply_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "items": ["name", "birth_date"],
        "purpose": "就业登记时核验申请人身份",
        "valid_from": today().isoformat(),
        "valid_until": (today() + dt.timedelta(days=365)).isoformat(),
        "rate_per_minute": "600",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def pending(w: World) -> AccessGrant:
    return services.grant_request(
        resource=w.conditional,
        consumer=w.rsj,
        items=["name", "birth_date"],
        purpose="就业登记时核验申请人身份",
        valid_from=today(),
        valid_until=today() + dt.timedelta(days=365),
        by=w.consumer_officer,
    )


# --- who may open the pages ------------------------------------------------------------------

GET_PAGES = [
    "/staff/exchange/",
    "/staff/exchange/resources/",
    "/staff/exchange/grants/",
    "/staff/exchange/calls/",
    "/staff/exchange/stats/",
    "/staff/exchange/upstreams/",
]
ADMIN_PAGES = ["/staff/exchange/upstreams/new/", "/staff/exchange/sources/"]


@pytest.mark.parametrize("path", GET_PAGES + ADMIN_PAGES)
def test_window_clerks_and_citizens_are_refused(world: World, path: str) -> None:
    clerk: Any = StaffFactory(department=world.rsj, roles=[Role.WINDOW_CLERK])
    citizen: Any = CitizenFactory()
    assert client_for(clerk).get(path).status_code == 403
    assert client_for(citizen).get(path).status_code == 403
    anonymous = Client().get(path)
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]


@pytest.mark.parametrize("path", GET_PAGES)
def test_data_officers_and_administrators_open_the_pages(world: World, path: str) -> None:
    assert client_for(world.consumer_officer).get(path).status_code == 200
    assert client_for(world.city_admin).get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_administrator_pages_refuse_data_officers(world: World, path: str) -> None:
    assert client_for(world.provider_officer).get(path).status_code == 403
    assert client_for(world.city_admin).get(path).status_code == 200


def test_the_pages_are_in_chinese(world: World) -> None:
    pending(world)
    body = client_for(world.provider_officer, "zh-hans").get("/staff/exchange/").content.decode()
    assert "数据共享交换" in body
    assert "待您审核" in body
    assert "人口基础信息" in body


# --- the overview ------------------------------------------------------------------------------


def test_overview_shows_what_waits_and_our_grants_with_their_effective_status(world: World) -> None:
    application = pending(world)
    lapsed = f.grant(
        world.rsj,
        world.unconditional,
        items=["name"],
        valid_from=today() - dt.timedelta(days=40),
        valid_until=today() - dt.timedelta(days=1),
    )
    provider_page = client_for(world.provider_officer).get("/staff/exchange/").content.decode()
    assert f"/staff/exchange/grants/{application.pk}/" in provider_page
    assert 'class="tab-count">1<' in provider_page
    consumer_page = client_for(world.consumer_officer).get("/staff/exchange/").content.decode()
    assert f"/staff/exchange/grants/{lapsed.pk}/" in consumer_page
    assert "status-expired" in consumer_page  # active in the table, expired for any call
    assert "status-pending" in consumer_page
    assert "No application waits for your decision." in consumer_page
    other = client_for(world.other_officer).get("/staff/exchange/").content.decode()
    assert f"/grants/{application.pk}/" not in other
    assert f"/grants/{lapsed.pk}/" not in other


def test_overview_figures_come_from_the_rollup(world: World) -> None:
    record_call(world.rsj, world.conditional)
    record_call(world.rsj, world.conditional, outcome="refused", error_code="no_grant", http_status=403)
    services.call_stats_rollup()
    provider = client_for(world.provider_officer).get("/staff/exchange/")
    assert provider.context["figures"]["provider_today"]["calls"] == 2
    assert provider.context["figures"]["provider_week"]["refused"] == 1
    assert provider.context["figures"]["consumer_today"]["calls"] == 0
    consumer = client_for(world.consumer_officer).get("/staff/exchange/")
    assert consumer.context["figures"]["consumer_week"]["calls"] == 2
    assert (
        client_for(world.other_officer).get("/staff/exchange/").context["figures"]["provider_week"]["calls"]
        == 0
    )


# --- applying ----------------------------------------------------------------------------------


def test_the_list_offers_shared_published_resources_only(world: World) -> None:
    draft = f.resource(world.gaj, name="草稿资源", status="draft")
    body = client_for(world.consumer_officer).get("/staff/exchange/resources/").content.decode()
    assert f"/resources/{world.conditional.pk}/apply/" in body
    assert f"/resources/{world.unconditional.pk}/apply/" in body
    assert f"/resources/{world.not_shared.pk}/apply/" not in body
    assert f"/resources/{draft.pk}/apply/" not in body
    found = client_for(world.consumer_officer).get("/staff/exchange/resources/", {"q": "户籍"})
    assert [r.pk for r, _g in found.context["rows"]] == [world.unconditional.pk]


def test_the_form_lists_the_items_with_key_type_and_sensitivity(world: World) -> None:
    response = client_for(world.consumer_officer).get(
        f"/staff/exchange/resources/{world.conditional.pk}/apply/"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="items" value="household_address"' in body
    assert "<code>household_address</code>" in body
    assert "sensitive" in body
    assert "approve or refuse" in body
    assert f'value="{today().isoformat()}"' in body
    assert f'value="{(today() + dt.timedelta(days=365)).isoformat()}"' in body
    # <input type="date"> reads ISO dates only, in every language
    chinese = client_for(world.consumer_officer, "zh-hans").get(
        f"/staff/exchange/resources/{world.conditional.pk}/apply/"
    )
    assert f'value="{today().isoformat()}"' in chinese.content.decode()


def test_an_unconditional_resource_is_granted_at_once(world: World) -> None:
    client = client_for(world.consumer_officer)
    url = f"/staff/exchange/resources/{world.unconditional.pk}/apply/"
    assert "granted at once" in client.get(url).content.decode()
    response = client.post(url, apply_data(items=["name"]))
    grant = AccessGrant.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/exchange/grants/{grant.pk}/"
    assert grant.status == GrantStatus.ACTIVE
    assert grant.consumer == world.rsj
    assert grant.requested_by == world.consumer_officer


def test_a_conditional_application_waits_with_its_service_items(world: World) -> None:
    item: Any = ServiceItemFactory(published=True)
    response = client_for(world.consumer_officer).post(
        f"/staff/exchange/resources/{world.conditional.pk}/apply/",
        apply_data(service_items=[str(item.pk)], rate_per_minute="120"),
    )
    grant = AccessGrant.objects.get()
    assert response.status_code == 302
    assert grant.status == GrantStatus.PENDING
    assert grant.items == ["name", "birth_date"]
    assert grant.rate_per_minute == 120
    assert list(grant.service_items.all()) == [item]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"items": None}, "items", "Choose at least one data item."),
        ({"purpose": "  "}, "purpose", "Say what the data is for."),
        (
            {"valid_from": today().isoformat(), "valid_until": (today() - dt.timedelta(days=1)).isoformat()},
            "valid_until",
            "The end of the period must not be before its start.",
        ),
        ({"valid_until": "2026-02-30"}, "valid_until", "Enter a valid date."),
        ({"rate_per_minute": "0"}, "rate_per_minute", "Between 1 and 60,000 calls per minute."),
        ({"rate_per_minute": "many"}, "rate_per_minute", "Enter a whole number."),
        ({"items": ["salary"]}, "items", "Select a valid choice."),
    ],
)
def test_bad_applications_show_the_error_on_the_field_and_change_nothing(
    world: World, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = client_for(world.consumer_officer).post(
        f"/staff/exchange/resources/{world.conditional.pk}/apply/", apply_data(**overrides)
    )
    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors[field])
    assert message.split(".")[0].replace("'", "&#x27;") in response.content.decode()
    assert not AccessGrant.objects.exists()


def test_a_second_application_is_a_conflict_shown_on_the_form(world: World) -> None:
    pending(world)
    url = f"/staff/exchange/resources/{world.conditional.pk}/apply/"
    client = client_for(world.consumer_officer)
    assert "already has an application" in client.get(url).content.decode()
    response = client.post(url, apply_data())
    assert response.status_code == 409
    assert "already has an application or a grant" in response.content.decode()
    assert AccessGrant.objects.count() == 1


def test_a_not_shared_resource_cannot_be_applied_for_even_by_a_forged_post(world: World) -> None:
    url = f"/staff/exchange/resources/{world.not_shared.pk}/apply/"
    client = client_for(world.consumer_officer)
    page = client.get(url)
    assert page.status_code == 200
    assert "cannot be requested" in page.content.decode()
    assert 'name="purpose"' not in page.content.decode()
    forged = client.post(url, apply_data(items=["name"]))
    assert forged.status_code == 409
    assert "cannot be requested" in forged.content.decode()
    assert not AccessGrant.objects.exists()


def test_a_draft_or_unknown_resource_is_not_found(world: World) -> None:
    draft = f.resource(world.gaj, name="草稿资源", status="draft")
    client = client_for(world.consumer_officer)
    assert client.get(f"/staff/exchange/resources/{draft.pk}/apply/").status_code == 404
    assert client.post(f"/staff/exchange/resources/{draft.pk}/apply/", apply_data()).status_code == 404
    assert client.get("/staff/exchange/resources/999999/apply/").status_code == 404


def test_an_administrator_applies_for_a_department_of_the_jurisdiction_only(world: World) -> None:
    url = f"/staff/exchange/resources/{world.conditional.pk}/apply/"
    DepartmentFactory(code="pg-jinan-rsj", name="金安区人社局", level="county", division_code="341502")
    outside = client_for(world.county_admin).post(url, apply_data(consumer=str(world.rsj.pk)))
    assert outside.status_code == 400
    assert "consumer" in outside.context["form"].errors
    assert not AccessGrant.objects.exists()
    inside = client_for(world.city_admin).post(url, apply_data(consumer=str(world.wlj.pk)))
    assert inside.status_code == 302
    assert AccessGrant.objects.get().consumer == world.wlj


def test_a_data_officer_cannot_apply_for_another_department(world: World) -> None:
    client_for(world.consumer_officer).post(
        f"/staff/exchange/resources/{world.conditional.pk}/apply/", apply_data(consumer=str(world.wlj.pk))
    )
    assert AccessGrant.objects.get().consumer == world.rsj  # the field is not there to forge


# --- grants and their actions --------------------------------------------------------------------


def test_the_grant_list_filters_by_side_status_and_resource(world: World) -> None:
    ours = pending(world)
    theirs = f.grant(world.gaj, f.resource(world.rsj, name="社保参保信息"), items=["name"])
    stranger = f.grant(world.wlj, world.unconditional, items=["name"])
    client = client_for(world.consumer_officer)

    def listed(**query: str) -> set[int]:
        return {g.pk for g in client.get("/staff/exchange/grants/", query).context["page"].object_list}

    assert listed() == {ours.pk, theirs.pk}
    assert listed(side="consumer") == {ours.pk}
    assert listed(side="provider") == {theirs.pk}
    assert listed(status="pending") == {ours.pk}
    assert listed(status="active") == {theirs.pk}
    assert listed(resource=str(world.conditional.pk)) == {ours.pk}
    assert stranger.pk not in listed()
    # a resource that is none of the user's is not a choice
    assert (
        client.get("/staff/exchange/grants/", {"resource": str(world.unconditional.pk)})
        .context["form"]
        .errors
    )
    assert client_for(world.city_admin).get("/staff/exchange/grants/").context["page"].paginator.count == 3
    assert client_for(world.county_admin).get("/staff/exchange/grants/").context["page"].paginator.count == 0


def test_the_expired_filter_finds_grants_past_their_period(world: World) -> None:
    lapsed = f.grant(
        world.rsj,
        world.conditional,
        valid_from=today() - dt.timedelta(days=9),
        valid_until=today() - dt.timedelta(days=1),
    )
    response = client_for(world.consumer_officer).get("/staff/exchange/grants/", {"status": "expired"})
    assert [g.pk for g in response.context["page"].object_list] == [lapsed.pk]
    assert (
        not client_for(world.consumer_officer)
        .get("/staff/exchange/grants/", {"status": "active"})
        .context["page"]
        .object_list
    )


def test_another_departments_grant_is_not_found(world: World) -> None:
    grant = pending(world)
    for user in (world.other_officer, world.county_admin):
        client = client_for(user)
        assert client.get(f"/staff/exchange/grants/{grant.pk}/").status_code == 404
        for action in ("approve", "refuse", "suspend", "resume", "revoke"):
            assert (
                client.post(f"/staff/exchange/grants/{grant.pk}/{action}/", {"reason": "x"}).status_code
                == 404
            )
    assert client_for(world.consumer_officer).get("/staff/exchange/grants/999999/").status_code == 404
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING


def test_the_provider_sees_approve_and_refuse_the_consumer_only_withdraw(world: World) -> None:
    grant = pending(world)
    provider = client_for(world.provider_officer).get(f"/staff/exchange/grants/{grant.pk}/")
    assert set(provider.context["actions"]) == {"approve", "refuse", "revoke"}
    assert f'action="/staff/exchange/grants/{grant.pk}/approve/"' in provider.content.decode()
    consumer = client_for(world.consumer_officer).get(f"/staff/exchange/grants/{grant.pk}/")
    assert set(consumer.context["actions"]) == {"revoke"}
    body = consumer.content.decode()
    assert "/approve/" not in body
    assert "/refuse/" not in body
    assert "<code>birth_date</code>" in body


def test_approving_with_a_note_and_the_history(world: World) -> None:
    grant = pending(world)
    client = client_for(world.provider_officer)
    response = client.post(f"/staff/exchange/grants/{grant.pk}/approve/", {"reason": "用途明确"})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    assert grant.decided_by == world.provider_officer
    assert grant.decision_reason == "用途明确"
    page = client.get(f"/staff/exchange/grants/{grant.pk}/")
    assert [e.action for e in page.context["history"]] == [
        "exchange.grant_requested",
        "exchange.grant_approved",
    ]
    body = page.content.decode()
    assert "Applied for" in body
    assert "使用方" in body  # who applied
    assert "提供方" in body  # who approved
    assert set(page.context["actions"]) == {"suspend", "revoke"}


def test_a_refusal_needs_a_reason(world: World) -> None:
    grant = pending(world)
    client = client_for(world.provider_officer)
    response = client.post(f"/staff/exchange/grants/{grant.pk}/refuse/", {"reason": "  "})
    assert response.status_code == 400
    assert "Give the reason for the refusal." in response.context["actions"]["refuse"].errors["reason"]
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING
    assert (
        client.post(
            f"/staff/exchange/grants/{grant.pk}/refuse/", {"reason": "用途与所列事项不符"}
        ).status_code
        == 302
    )
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REFUSED
    page = client_for(world.consumer_officer).get(f"/staff/exchange/grants/{grant.pk}/")
    assert "用途与所列事项不符" in page.content.decode()
    assert page.context["actions"] == {}


def test_a_forged_approval_by_the_consumer_is_refused_and_changes_nothing(world: World) -> None:
    grant = pending(world)
    client = client_for(world.consumer_officer)
    for action in ("approve", "suspend", "resume"):
        response = client.post(f"/staff/exchange/grants/{grant.pk}/{action}/", {"reason": "自己批准"})
        assert response.status_code == 403, action
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING
    assert grant.decided_by is None
    assert not AuditEvent.objects.filter(action="exchange.grant_approved").exists()


def test_an_action_out_of_turn_is_a_conflict_on_the_page(world: World) -> None:
    grant = pending(world)
    response = client_for(world.provider_officer).post(f"/staff/exchange/grants/{grant.pk}/resume/")
    assert response.status_code == 409
    assert "cannot be resumed" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING


def test_suspend_resume_and_revoke(world: World) -> None:
    grant = f.grant(world.rsj, world.conditional)
    provider = client_for(world.provider_officer)
    assert provider.post(f"/staff/exchange/grants/{grant.pk}/suspend/", {"reason": ""}).status_code == 400
    assert (
        provider.post(f"/staff/exchange/grants/{grant.pk}/suspend/", {"reason": "核查中"}).status_code == 302
    )
    grant.refresh_from_db()
    assert grant.status == GrantStatus.SUSPENDED
    assert set(provider.get(f"/staff/exchange/grants/{grant.pk}/").context["actions"]) == {"resume", "revoke"}
    assert provider.post(f"/staff/exchange/grants/{grant.pk}/resume/").status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    consumer = client_for(world.consumer_officer)
    assert (
        consumer.post(f"/staff/exchange/grants/{grant.pk}/revoke/", {"reason": "不再需要"}).status_code == 302
    )
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED
    assert grant.decision_reason == "不再需要"


def test_actions_are_posts_with_csrf(world: World) -> None:
    grant = pending(world)
    client = client_for(world.provider_officer)
    assert client.get(f"/staff/exchange/grants/{grant.pk}/approve/").status_code == 405
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    strict.force_login(world.provider_officer)
    assert strict.post(f"/staff/exchange/grants/{grant.pk}/approve/").status_code == 403
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING
    assert 'name="csrfmiddlewaretoken"' in client.get(f"/staff/exchange/grants/{grant.pk}/").content.decode()


def test_the_pages_label_every_status_outcome_and_operation() -> None:
    from tongban.exchange.choices import Operation, Outcome
    from tongban.exchange.forms import GRANT_STATUSES, OPERATIONS, OUTCOMES

    assert [value for value, _label in GRANT_STATUSES] == GrantStatus.values
    assert [value for value, _label in OUTCOMES] == Outcome.values
    assert [value for value, _label in OPERATIONS] == Operation.values


def test_statuses_read_as_the_exchange_means_them_in_chinese(world: World) -> None:
    grant = f.grant(world.rsj, world.conditional)
    f.grant(world.rsj, world.unconditional, status=GrantStatus.REFUSED)
    body = client_for(world.consumer_officer, "zh-hans").get("/staff/exchange/grants/").content.decode()
    assert "已授权" in body
    assert "已拒绝" in body
    assert "准予" not in body  # the licence decision's words, not the exchange's
    assert "不予许可" not in body
    detail = client_for(world.provider_officer, "zh-hans").get(f"/staff/exchange/grants/{grant.pk}/")
    assert "暂停" in detail.content.decode()

"""The demand list (需求清单) and the responsibility list (责任清单)."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.catalog.tests.factories import ServiceItemFactory
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.resources import selectors, services
from tongban.resources.choices import DemandStatus, Duty
from tongban.resources.models import ResourceDemand, ResourceResponsibility
from tongban.resources.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def population(police_officer: Any, reviewer: Any) -> Any:
    return factories.published(police_officer, reviewer, name="人口基础信息")


@pytest.fixture
def service_item(civil: Any) -> Any:
    return ServiceItemFactory(department=civil, published=True, version__name="最低生活保障审核确认")


# --- demands ---------------------------------------------------------------------------------


def test_a_department_records_what_it_needs(
    civil: Any, civil_officer: Any, population: Any, service_item: Any, police_officer: Any
) -> None:
    demand = services.demand_create(
        by=civil_officer,
        department=civil,
        resource=population,
        items=["resident_id", "name", "resident_id"],
        service_items=[service_item],
        purpose="低保审核时核对家庭成员身份。",
    )
    assert demand.items == ["resident_id", "name"]
    assert list(demand.service_items.all()) == [service_item]
    assert demand.status == DemandStatus.OPEN
    # The provider sees it among the demands it must answer; the requester among its own.
    assert list(selectors.demands_to_answer(police_officer)) == [demand]
    assert list(selectors.demands_visible_to(civil_officer)) == [demand]
    services.demand_answer(
        demand=demand, by=police_officer, status=DemandStatus.SATISFIED, answer="请通过交换平台申请授权。"
    )
    demand.refresh_from_db()
    assert (demand.status, demand.answered_by) == (DemandStatus.SATISFIED, police_officer)
    assert AuditEvent.objects.filter(action__startswith="resource.demand_").count() == 2


def test_demand_rules(civil: Any, civil_officer: Any, police_officer: Any, population: Any) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"purpose": "x"}, "demand_target_required"),
        (
            {"resource": population, "items": ["resident_id", "shoe_size"], "purpose": "x"},
            "demand_items_unknown",
        ),
        ({"resource": population, "purpose": " "}, "purpose_required"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ValidationFailed) as caught:
            services.demand_create(by=civil_officer, department=civil, **kwargs)
        assert caught.value.code == code
    draft = factories.draft(police_officer, name="公安草稿", heading_code="002")
    with pytest.raises(NotFound):  # another department's draft does not exist for the requester
        services.demand_create(by=civil_officer, department=civil, resource=draft, purpose="x")
    own = factories.draft(civil_officer, name="民政草稿")
    with pytest.raises(ValidationFailed) as caught:
        services.demand_create(by=civil_officer, department=civil, resource=own, purpose="x")
    assert caught.value.code == "demand_resource_not_published"
    with pytest.raises(ValidationFailed) as caught:
        services.demand_create(
            by=police_officer, department=police_officer.department, resource=population, purpose="x"
        )
    assert caught.value.code == "demand_own_resource"
    unpublished: Any = ServiceItemFactory(department=civil)
    with pytest.raises(ValidationFailed) as caught:
        services.demand_create(
            by=civil_officer, department=civil, resource=population, purpose="x", service_items=[unpublished]
        )
    assert caught.value.code == "service_item_unknown"
    with pytest.raises(PermissionDenied):
        services.demand_create(by=police_officer, department=civil, description="车辆信息", purpose="x")
    assert not ResourceDemand.objects.exists()


def test_answers(civil: Any, civil_officer: Any, police_officer: Any, reviewer: Any, population: Any) -> None:
    demand = services.demand_create(
        by=civil_officer, department=civil, resource=population, purpose="核对身份"
    )
    with pytest.raises(PermissionDenied):  # the requester does not answer its own demand
        services.demand_answer(demand=demand, by=civil_officer, status=DemandStatus.SATISFIED)
    with pytest.raises(ValidationFailed) as caught:
        services.demand_answer(demand=demand, by=police_officer, status=DemandStatus.DECLINED, answer="")
    assert caught.value.code == "answer_required"
    with pytest.raises(ValidationFailed) as caught:
        services.demand_answer(demand=demand, by=police_officer, status=DemandStatus.WITHDRAWN)
    assert caught.value.code == "demand_status_invalid"
    services.demand_answer(
        demand=demand, by=police_officer, status=DemandStatus.DECLINED, answer="不符合共享条件。"
    )
    with pytest.raises(Conflict) as conflict:
        services.demand_answer(demand=demand, by=reviewer, status=DemandStatus.SATISFIED)
    assert conflict.value.code == "demand_not_open"


def test_data_not_catalogued_is_answered_by_the_office(
    civil: Any, civil_officer: Any, police_officer: Any, reviewer: Any, population: Any
) -> None:
    demand = services.demand_create(
        by=civil_officer,
        department=civil,
        description="机动车登记信息",
        items=["号牌号码", "车辆所有人"],
        purpose="低保家庭财产核对",
    )
    assert demand.items == ["号牌号码", "车辆所有人"]
    with pytest.raises(PermissionDenied):
        services.demand_answer(demand=demand, by=police_officer, status=DemandStatus.SATISFIED)
    services.demand_answer(
        demand=demand, by=reviewer, status=DemandStatus.SATISFIED, answer="已编目。", resource=population
    )
    demand.refresh_from_db()
    assert demand.resource == population


def test_the_requester_withdraws_an_open_demand(
    civil: Any, civil_officer: Any, police_officer: Any, population: Any
) -> None:
    demand = services.demand_create(
        by=civil_officer, department=civil, resource=population, purpose="核对身份"
    )
    with pytest.raises(PermissionDenied):
        services.demand_withdraw(demand=demand, by=police_officer)
    services.demand_withdraw(demand=demand, by=civil_officer)
    demand.refresh_from_db()
    assert demand.status == DemandStatus.WITHDRAWN
    with pytest.raises(Conflict):
        services.demand_withdraw(demand=demand, by=civil_officer)


# --- responsibilities ------------------------------------------------------------------------


def test_the_provider_keeps_the_responsibility_list(
    police: Any, office_dept: Any, police_officer: Any, civil_officer: Any, population: Any
) -> None:
    entry = services.responsibility_set(
        resource=population,
        by=police_officer,
        department=police,
        duty=Duty.COLLECT,
        contact_name="王立新",
        contact_phone="0564-337 8101",
    )
    assert entry.contact_phone == "0564-3378101"
    again = services.responsibility_set(
        resource=population,
        by=police_officer,
        department=police,
        duty=Duty.COLLECT,
        contact_name="李秀英",
        contact_phone="13905640101",
    )
    assert again.pk == entry.pk
    assert again.contact_name == "李秀英"
    services.responsibility_set(
        resource=population,
        by=police_officer,
        department=office_dept,
        duty=Duty.SERVE,
        contact_name="钱进",
        contact_phone="0564-3371201",
    )
    assert ResourceResponsibility.objects.filter(resource=population).count() == 2
    with pytest.raises(PermissionDenied):
        services.responsibility_set(
            resource=population,
            by=civil_officer,
            department=police,
            duty=Duty.QUALITY,
            contact_name="张三",
            contact_phone="13905640101",
        )
    services.responsibility_remove(responsibility=entry, by=police_officer)
    assert ResourceResponsibility.objects.filter(resource=population).count() == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"duty": "own"}, "duty_invalid"),
        ({"contact_name": ""}, "contact_name_required"),
        ({"contact_phone": "12345"}, "contact_phone_invalid"),
        ({"contact_phone": "0564-12"}, "contact_phone_invalid"),
    ],
)
def test_responsibility_rules(
    police: Any, police_officer: Any, population: Any, fields: dict[str, Any], code: str
) -> None:
    values = {
        "department": police,
        "duty": Duty.MAINTAIN,
        "contact_name": "王立新",
        "contact_phone": "13905640101",
    }
    with pytest.raises(ValidationFailed) as caught:
        services.responsibility_set(resource=population, by=police_officer, **{**values, **fields})
    assert caught.value.code == code
    assert not ResourceResponsibility.objects.exists()


def test_contacts_are_masked_for_who_does_not_need_them(
    police: Any, civil: Any, police_officer: Any, civil_officer: Any, reviewer: Any, population: Any
) -> None:
    services.responsibility_set(
        resource=population,
        by=police_officer,
        department=police,
        duty=Duty.QUALITY,
        contact_name="王立新",
        contact_phone="13905640101",
    )
    services.responsibility_set(
        resource=population,
        by=police_officer,
        department=civil,
        duty=Duty.COLLECT,
        contact_name="刘红梅",
        contact_phone="13905640202",
    )

    def seen(user: Any) -> dict[str, tuple[str, str]]:
        rows = selectors.responsibility_rows(user, selectors.responsibilities_visible_to(user))
        return {row.entry.duty: (row.contact_name, row.contact_phone) for row in rows}

    assert seen(police_officer)[Duty.QUALITY] == ("王立新", "13905640101")
    assert seen(reviewer)[Duty.QUALITY] == ("王立新", "13905640101")
    civil_view = seen(civil_officer)
    assert civil_view[Duty.QUALITY] == ("王**", "139****0101")
    assert civil_view[Duty.COLLECT] == ("刘红梅", "13905640202")  # its own entry

"""The demo catalogue: 30+ resources in every state and sharing type, the exchange's four, idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.catalog.demo import seed_catalog
from tongban.core.models import AuditEvent
from tongban.identity.demo import seed_demo
from tongban.resources import demo, selectors
from tongban.resources.choices import CorrectionStatus, DemandStatus, ResourceStatus, SharingType
from tongban.resources.models import DataResource, ResourceCorrection, ResourceDemand, ResourceResponsibility

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded() -> demo.DemoResult:
    seed_demo()
    seed_catalog()
    return demo.load()


def _items(code: str) -> list[tuple[Any, ...]]:
    resource = selectors.published_resource_by_code(code)
    return list(
        selectors.resource_items(resource).values_list("key", "data_type", "length", "sensitive", "is_key")
    )


def test_the_catalogue_is_big_and_varied(loaded: demo.DemoResult) -> None:
    assert loaded.resources_created == len(demo.RESOURCES) >= 30
    statuses = set(DataResource.objects.values_list("status", flat=True))
    assert statuses == set(ResourceStatus.values)
    published = DataResource.objects.filter(status=ResourceStatus.PUBLISHED)
    assert set(published.values_list("sharing_type", flat=True)) == set(SharingType.values)
    in_review = DataResource.objects.filter(status=ResourceStatus.IN_REVIEW)
    assert set(in_review.values_list("sharing_type", flat=True)) == set(SharingType.values)
    assert DataResource.objects.filter(status=ResourceStatus.DRAFT).exclude(review_note="").exists()
    assert ResourceCorrection.objects.filter(status=CorrectionStatus.IN_REVIEW).exists()
    providers = set(DataResource.objects.values_list("provider__code", flat=True))
    assert {"luan-gaj", "luan-mzj", "luan-scjgj", "luan-rsj", "luan-ybj", "luan-wjw", "luan-zjj"} <= providers
    assert {"luan-gjj", "luan-bdc", "luan-swj", "luan-sjj"} <= providers


def test_the_exchanges_resources_have_their_codes_and_items(loaded: demo.DemoResult) -> None:
    population = selectors.published_resource_by_code(demo.POPULATION_CODE)
    assert (population.name, population.provider.code, population.category, population.sharing_type) == (
        "人口基础信息",
        "luan-gaj",
        "1",
        SharingType.CONDITIONAL,
    )
    assert _items(demo.POPULATION_CODE) == [
        ("resident_id", "string", 18, True, True),
        ("name", "string", 100, True, False),
        ("gender", "code", 1, False, False),
        ("birth_date", "date", None, False, False),
        ("ethnicity", "code", 2, False, False),
        ("household_address", "string", 255, True, False),
        ("division_code", "code", 12, False, False),
        ("marital_status", "code", 2, False, False),
        ("life_status", "code", 16, False, False),
    ]
    legal = selectors.published_resource_by_code(demo.LEGAL_ENTITY_CODE)
    assert (legal.name, legal.provider.code, legal.category, legal.sharing_type) == (
        "法人单位基础信息",
        "luan-scjgj",
        "1",
        SharingType.UNCONDITIONAL,
    )
    legal_items = {
        key: (data_type, sensitive, is_key)
        for key, data_type, _l, sensitive, is_key in _items(demo.LEGAL_ENTITY_CODE)
    }
    assert list(legal_items) == [
        "credit_code",
        "name",
        "entity_type",
        "legal_representative_name",
        "legal_representative_id",
        "registered_capital",
        "address",
        "division_code",
        "established_on",
        "status",
        "business_scope",
        "registration_authority",
    ]
    assert legal_items["credit_code"] == ("string", False, True)
    assert legal_items["legal_representative_name"][1]
    assert legal_items["legal_representative_id"][1]
    assert legal_items["registered_capital"][0] == "decimal"
    assert legal_items["established_on"][0] == "date"
    marriage = selectors.published_resource_by_code(demo.MARRIAGE_CODE)
    assert (marriage.name, marriage.provider.code, marriage.category, marriage.sharing_type) == (
        "婚姻登记信息",
        "luan-mzj",
        "3",
        SharingType.CONDITIONAL,
    )
    assert [(k, t, key) for k, t, _l, _s, key in _items(demo.MARRIAGE_CODE)] == [
        ("resident_id", "string", True),
        ("name", "string", False),
        ("marital_status", "code", False),
        ("registered_on", "date", False),
        ("registration_office", "string", False),
    ]
    insurance = selectors.published_resource_by_code(demo.SOCIAL_INSURANCE_CODE)
    assert (insurance.name, insurance.provider.code, insurance.sharing_type) == (
        "社会保险参保信息",
        "luan-rsj",
        SharingType.CONDITIONAL,
    )
    assert [(k, t, key) for k, t, _l, _s, key in _items(demo.SOCIAL_INSURANCE_CODE)] == [
        ("resident_id", "string", True),
        ("name", "string", False),
        ("insured", "boolean", False),
        ("insurance_types", "string", False),
        ("since", "date", False),
    ]
    assert loaded.codes["婚姻登记信息"] == demo.MARRIAGE_CODE


def test_the_lists_have_entries(loaded: demo.DemoResult) -> None:
    assert loaded.demands_created == len(demo.DEMANDS)
    statuses = set(ResourceDemand.objects.values_list("status", flat=True))
    assert {DemandStatus.OPEN, DemandStatus.SATISFIED, DemandStatus.DECLINED} <= statuses
    assert ResourceDemand.objects.filter(resource__isnull=True).exists()
    assert ResourceDemand.objects.filter(service_items__isnull=False).exists()
    assert ResourceResponsibility.objects.count() == len(demo.RESPONSIBILITIES)


def test_loading_again_changes_nothing(loaded: demo.DemoResult) -> None:
    events = AuditEvent.objects.count()
    again = demo.load()
    assert not again.changed
    assert again.codes == loaded.codes
    assert AuditEvent.objects.count() == events


def test_the_identity_demo_must_come_first() -> None:
    with pytest.raises(RuntimeError, match="identity demo"):
        demo.load()

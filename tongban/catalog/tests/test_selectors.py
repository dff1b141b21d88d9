from __future__ import annotations

from typing import Any

import pytest

from tongban.catalog import selectors, services
from tongban.catalog.models import ServiceItem, Theme
from tongban.catalog.search import search_terms
from tongban.catalog.tests.conftest import make_item
from tongban.core.errors import NotFound
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(
    county_admin: User, county_bureau: Department, other_county_admin: User, other_county_bureau: Department
) -> dict[str, ServiceItem]:
    items = {
        "id_card": make_item(
            county_admin,
            county_bureau,
            name="居民身份证换领",
            conditions="居民身份证有效期满、证件损坏或登记内容变更的。",
            service_object="person",
            themes=["employment"],
        ),
        "hukou": make_item(
            county_admin,
            county_bureau,
            name="出生登记",
            conditions="新生儿出生后一个月内，由监护人凭出生医学证明和居民身份证申报。",
            service_object="person",
            themes=["birth"],
        ),
        "licence_change": make_item(
            other_county_admin,
            other_county_bureau,
            name="营业执照变更登记",
            conditions="企业名称、住所、经营范围等登记事项发生变化的。",
            service_object="enterprise",
            themes=["change"],
        ),
        "food": make_item(
            other_county_admin,
            other_county_bureau,
            name="食品经营许可",
            conditions="已取得营业执照的市场主体，有与经营食品相适应的场所。",
            service_object="enterprise",
            themes=["operation"],
        ),
        "both": make_item(
            other_county_admin,
            other_county_bureau,
            name="个体工商户登记",
            conditions="有经营能力的公民。",
            service_object="both",
            themes=["start-up"],
        ),
        "draft": make_item(
            county_admin, county_bureau, name="居民身份证挂失（草稿）", publish=False, service_object="person"
        ),
    }
    retired = make_item(county_admin, county_bureau, name="临时居民身份证办理", service_object="person")
    services.item_retire(item=retired, by=county_admin)
    items["retired"] = retired
    return items


def _keys(items: list[ServiceItem] | Any, catalogue: dict[str, ServiceItem]) -> list[str]:
    names = {item.pk: key for key, item in catalogue.items()}
    return [names[item.pk] for item in items]


def test_themes_are_seeded() -> None:
    life = set(selectors.themes("life_event").values_list("name", flat=True))
    stages = set(selectors.themes("enterprise_stage").values_list("name", flat=True))
    assert life == {"出生", "上学", "就业", "婚育", "住房", "退休", "身后"}
    assert stages == {"开办", "经营", "变更", "注销"}
    assert Theme.objects.count() == 11


def test_search_terms_use_word_segmentation() -> None:
    assert search_terms("身份证") == ["身份证", "身份"]
    assert search_terms("我要办理营业执照") == ["营业执照", "营业", "执照"]
    assert search_terms("  ，。 ") == []


def test_search_id_card_finds_the_renewal_item_first(catalogue: dict[str, ServiceItem]) -> None:
    found = _keys(selectors.search_published("身份证"), catalogue)
    assert found[0] == "id_card"  # the term is in the name
    assert "hukou" in found  # only in the conditions: ranked after
    assert found.index("hukou") > found.index("id_card")
    assert "draft" not in found
    assert "retired" not in found


def test_search_business_licence_finds_enterprise_items(catalogue: dict[str, ServiceItem]) -> None:
    found = _keys(selectors.search_published("营业执照"), catalogue)
    assert found == ["licence_change", "food"]
    for item in selectors.search_published("营业执照"):
        assert item.current_version is not None
        assert item.current_version.service_object == "enterprise"


def test_search_with_no_match_or_empty_query(catalogue: dict[str, ServiceItem]) -> None:
    assert selectors.search_published("宇宙飞船") == []
    assert selectors.search_published("") == []


def test_search_runs_in_one_query(catalogue: dict[str, ServiceItem], django_assert_num_queries: Any) -> None:
    selectors.search_terms("身份证")  # load the dictionary outside the count
    with django_assert_num_queries(1):
        for item in selectors.search_published("身份证"):
            assert item.current_version is not None
            str(item.current_version.name) + item.department.name


def test_published_items_filters(catalogue: dict[str, ServiceItem], county_bureau: Department) -> None:
    everything = set(_keys(selectors.published_items(), catalogue))
    assert everything == {"id_card", "hukou", "licence_change", "food", "both"}
    assert set(_keys(selectors.published_items(department_id=county_bureau.pk), catalogue)) == {
        "id_card",
        "hukou",
    }
    assert _keys(selectors.published_items(theme="birth"), catalogue) == ["hukou"]
    assert set(_keys(selectors.published_items(service_object="enterprise"), catalogue)) == {
        "licence_change",
        "food",
        "both",
    }
    assert set(_keys(selectors.published_items(service_object="person"), catalogue)) == {
        "id_card",
        "hukou",
        "both",
    }


def test_published_items_list_has_no_n_plus_one(
    catalogue: dict[str, ServiceItem], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        rows = [(i.department.name, i.current_version.name) for i in selectors.published_items()]  # type: ignore[union-attr]
    assert len(rows) == 5


def test_published_version_with_materials_has_no_n_plus_one(
    county_admin: User, county_bureau: Department, django_assert_num_queries: Any
) -> None:
    item = make_item(
        county_admin,
        county_bureau,
        materials=("居民户口簿", "近期免冠照片", "原居民身份证"),
        themes=["employment", "housing"],
    )
    with django_assert_num_queries(3):
        version = selectors.published_version(item_id=item.pk)
        materials = [(m.name, m.required, m.form) for m in version.materials.all()]
        theme_names = sorted(t.name for t in version.themes.all())
        assert version.item.department.name == county_bureau.name
        assert version.published_by is not None
    assert [m[0] for m in materials] == ["居民户口簿", "近期免冠照片", "原居民身份证"]
    assert theme_names == sorted(["就业", "住房"])


def test_unpublished_items_are_not_found(catalogue: dict[str, ServiceItem]) -> None:
    for key in ("draft", "retired"):
        with pytest.raises(NotFound) as info:
            selectors.published_version(item_id=catalogue[key].pk)
        assert info.value.code == "item_not_found"


def test_retired_version_stays_readable_by_id(catalogue: dict[str, ServiceItem]) -> None:
    version = catalogue["retired"].versions.get()
    assert selectors.version_by_id(version_id=version.pk).name == "临时居民身份证办理"


def test_staff_view_is_scoped_to_jurisdiction(
    catalogue: dict[str, ServiceItem],
    county_admin: User,
    other_county_admin: User,
    city_admin: User,
    citizen: User,
    county_bureau: Department,
) -> None:
    assert set(_keys(selectors.items_for_staff(county_admin), catalogue)) == {
        "id_card",
        "hukou",
        "draft",
        "retired",
    }
    assert set(_keys(selectors.items_for_staff(other_county_admin), catalogue)) == {
        "licence_change",
        "food",
        "both",
    }
    assert len(selectors.items_for_staff(city_admin)) == len(catalogue)
    assert not selectors.items_for_staff(citizen).exists()
    approver_elsewhere: Any = StaffFactory(department=StaffFactory().department, roles=["approver"])
    assert not selectors.items_for_staff(approver_elsewhere).exists()
    assert not selectors.versions_for_staff(other_county_admin, item_id=catalogue["id_card"].pk).exists()
    assert selectors.versions_for_staff(county_admin, item_id=catalogue["id_card"].pk).count() == 1


def test_search_is_case_insensitive_for_latin_letters(county_admin: User, county_bureau: Department) -> None:
    item = make_item(county_admin, county_bureau, name="ICP经营许可证核发", service_object="enterprise")
    assert [i.pk for i in selectors.search_published("icp")] == [item.pk]
    assert [i.pk for i in selectors.search_published("Icp 许可证")] == [item.pk]


def test_factories_make_draft_and_published_items() -> None:
    from tongban.catalog.tests.factories import ServiceItemFactory

    draft_item = ServiceItemFactory()
    published_item = ServiceItemFactory(
        published=True, version__name="出生医学证明办理", version__level="county"
    )
    assert draft_item.current_version is None
    assert draft_item.implementation_code.startswith(draft_item.department.credit_code)
    version = selectors.published_version(item_id=published_item.pk)
    assert (version.name, version.level) == ("出生医学证明办理", "county")
    assert [m.name for m in version.materials.all()] == ["居民身份证", "申请表"]
    assert [i.pk for i in selectors.published_items()] == [published_item.pk]

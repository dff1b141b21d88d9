"""The public catalogue API: lists, search, the service guide as data, themes, and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tongban.catalog import services
from tongban.catalog.models import ServiceItem
from tongban.catalog.tests.conftest import make_item
from tongban.identity.models import Department, User

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
        "birth": make_item(
            county_admin,
            county_bureau,
            name="出生登记",
            conditions="新生儿出生后一个月内，由监护人凭出生医学证明和居民身份证申报。",
            service_object="person",
            themes=["birth"],
        ),
        "food": make_item(
            other_county_admin,
            other_county_bureau,
            name="食品经营许可",
            conditions="已取得营业执照的市场主体。",
            service_object="enterprise",
            themes=["operation", "start-up"],
        ),
        "both": make_item(
            other_county_admin,
            other_county_bureau,
            name="个体工商户登记",
            conditions="有经营能力的公民。",
            service_object="both",
            themes=["start-up"],
        ),
        "draft": make_item(county_admin, county_bureau, name="居民身份证挂失", publish=False),
    }
    retired = make_item(county_admin, county_bureau, name="临时居民身份证办理")
    services.item_retire(item=retired, by=county_admin)
    items["retired"] = retired
    return items


def _names(body: dict[str, Any]) -> list[str]:
    return [item["name"] for item in body["items"]]


def test_list_shows_published_items_only(client: Client, catalogue: dict[str, ServiceItem]) -> None:
    reply = client.get("/api/v1/items")
    assert reply.status_code == 200
    body = reply.json()
    assert body["count"] == 4
    assert set(_names(body)) == {"居民身份证换领", "出生登记", "食品经营许可", "个体工商户登记"}
    food = next(i for i in body["items"] if i["name"] == "食品经营许可")
    assert food["implementation_code"] == catalogue["food"].implementation_code
    assert food["department"] == {"code": "yuan-amr", "name": "裕安区市场监督管理局"}
    assert food["promised_days"] == 10
    assert food["item_type"] == "public_service"
    assert {t["code"] for t in food["themes"]} == {"operation", "start-up"}
    assert {"visits", "online_depth"} <= food.keys()


def test_list_filters(client: Client, catalogue: dict[str, ServiceItem]) -> None:
    enterprise = client.get("/api/v1/items", {"object": "enterprise"}).json()
    assert set(_names(enterprise)) == {"食品经营许可", "个体工商户登记"}  # "both" serves enterprises too
    person = client.get("/api/v1/items", {"object": "person"}).json()
    assert set(_names(person)) == {"居民身份证换领", "出生登记", "个体工商户登记"}
    assert _names(client.get("/api/v1/items", {"theme": "birth"}).json()) == ["出生登记"]
    dept = client.get("/api/v1/items", {"department": "jinan-psb"}).json()
    assert set(_names(dept)) == {"居民身份证换领", "出生登记"}
    assert client.get("/api/v1/items", {"theme": "no-such-theme"}).json()["count"] == 0


def test_list_search_in_relevance_order(client: Client, catalogue: dict[str, ServiceItem]) -> None:
    body = client.get("/api/v1/items", {"q": "身份证"}).json()
    assert _names(body) == ["居民身份证换领", "出生登记"]  # name match before a conditions match
    assert body["count"] == 2
    only_enterprise = client.get("/api/v1/items", {"q": "营业执照", "object": "enterprise"}).json()
    assert _names(only_enterprise) == ["食品经营许可"]
    assert client.get("/api/v1/items", {"q": "身份证", "theme": "birth"}).json()["count"] == 1
    assert client.get("/api/v1/items", {"q": "宇宙飞船"}).json() == {
        "count": 0,
        "page": 1,
        "page_size": 20,
        "items": [],
    }


def test_list_pagination(client: Client, catalogue: dict[str, ServiceItem]) -> None:
    first = client.get("/api/v1/items", {"page_size": 3}).json()
    second = client.get("/api/v1/items", {"page_size": 3, "page": 2}).json()
    assert (first["count"], len(first["items"]), len(second["items"])) == (4, 3, 1)
    assert not set(_names(first)) & set(_names(second))
    beyond = client.get("/api/v1/items", {"page_size": 3, "page": 9}).json()
    assert (beyond["items"], beyond["count"]) == ([], 4)
    searched = client.get("/api/v1/items", {"q": "身份证", "page_size": "1", "page": "2"}).json()
    assert _names(searched) == ["出生登记"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page_size": 1000}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page": "x"}, "page"),
        ({"object": "alien"}, "object"),
        ({"q": "身" * 101}, "q"),
    ],
)
def test_list_refuses_bad_query_values(client: Client, params: dict[str, Any], field: str) -> None:
    reply = client.get("/api/v1/items", params)
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "request_invalid"
    assert field in error["fields"]


def test_list_query_count_does_not_grow_with_the_page(
    client: Client, catalogue: dict[str, ServiceItem], django_assert_max_num_queries: Any
) -> None:
    client.get("/api/v1/items", {"q": "身份证"})  # jieba's dictionary loads outside the count
    with django_assert_max_num_queries(2):  # search + themes of the page
        assert client.get("/api/v1/items", {"q": "身份证"}).status_code == 200
    with django_assert_max_num_queries(3):  # count + page + themes of the page
        assert client.get("/api/v1/items").status_code == 200


def test_detail_is_the_service_guide_as_data(client: Client, catalogue: dict[str, ServiceItem]) -> None:
    item = catalogue["food"]
    version = item.current_version
    assert version is not None
    version.materials.create(
        name="营业执照", source="e_licence", source_code="ELC-BL", sort_order=5, may_follow_later=False
    )
    version.materials.create(name="健康证明", source="applicant", sort_order=6, may_follow_later=True)
    reply = client.get(f"/api/v1/items/{item.implementation_code}")
    assert reply.status_code == 200
    guide = reply.json()
    assert guide["name"] == "食品经营许可"
    assert guide["version"] == 1
    assert guide["conditions"] == "已取得营业执照的市场主体。"
    assert (guide["statutory_days"], guide["promised_days"]) == (20, 10)
    assert guide["department"]["code"] == "yuan-amr"
    assert guide["service_object"] == "enterprise"
    materials = {m["name"]: m for m in guide["materials"]}
    assert materials["营业执照"]["need_not_submit"] is True
    assert materials["营业执照"]["source"] == "e_licence"
    assert materials["营业执照"]["source_code"] == "ELC-BL"
    assert materials["健康证明"]["need_not_submit"] is False
    assert materials["健康证明"]["may_follow_later"] is True
    assert [f["key"] for f in guide["form_schema"]] == ["applicant_name", "contact_phone", "remarks"]
    assert guide["form_schema"][1]["type"] == "phone"
    assert guide["process"] == [
        {
            "name": "审查决定",
            "days": 5,
            "departments": [{"code": "yuan-amr", "name": "裕安区市场监督管理局"}],
            "join": "all",
            "on_refusal": "refuse_case",
        }
    ]
    assert not {"published_by", "created_by"} & guide.keys()


@pytest.mark.parametrize("key", ["draft", "retired"])
def test_detail_of_a_draft_or_retired_item_is_not_found(
    client: Client, catalogue: dict[str, ServiceItem], key: str
) -> None:
    reply = client.get(f"/api/v1/items/{catalogue[key].implementation_code}")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "item_not_found"


@pytest.mark.parametrize("code", ["NOSUCHCODE", "9" * 300])
def test_detail_of_an_unknown_item_is_not_found(client: Client, code: str) -> None:
    reply = client.get(f"/api/v1/items/{code}")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "item_not_found"


def test_themes_with_kind(client: Client) -> None:
    themes = client.get("/api/v1/themes").json()
    assert {"code": "birth", "name": "出生", "kind": "life_event"} in themes
    assert {t["kind"] for t in themes} == {"life_event", "enterprise_stage"}
    assert len(themes) == 11

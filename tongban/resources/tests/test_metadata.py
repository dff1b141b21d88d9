"""Every GB/T 21063.3 metadata rule: each violation has its own code and a message on its field."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from tongban.core.errors import ValidationFailed
from tongban.resources import services
from tongban.resources.metadata import clean_resource
from tongban.resources.models import DataResource
from tongban.resources.tests import factories

pytestmark = pytest.mark.django_db


def _refused(by: Any, **overrides: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        factories.draft(by, **overrides)
    assert DataResource.objects.count() == 0, "a refused resource must leave nothing behind"
    return caught.value


RULES: list[tuple[str, dict[str, Any], str, str]] = [
    # (what, overrides, expected code, the field the message is on)
    ("category", {"category": "4"}, "category_invalid", "category"),
    ("item two digits", {"item_code": "1"}, "item_code_invalid", "item_code"),
    ("item digits only", {"item_code": "0A"}, "item_code_invalid", "item_code"),
    ("heading three digits", {"heading_code": "01"}, "heading_code_invalid", "heading_code"),
    ("sub-heading up to three", {"subheading_code": "0001"}, "subheading_code_invalid", "subheading_code"),
    ("name", {"name": "  "}, "name_required", "name"),
    ("name length", {"name": "名" * 201}, "name_too_long", "name"),
    ("summary", {"summary": ""}, "summary_required", "summary"),
    ("format", {"format": "paper"}, "format_invalid", "format"),
    ("sharing type", {"sharing_type": "sometimes"}, "sharing_type_invalid", "sharing_type"),
    (
        "conditions for conditional sharing",
        {"sharing_type": "conditional", "sharing_conditions": ""},
        "sharing_conditions_required",
        "sharing_conditions",
    ),
    (
        "basis for not sharing",
        {"sharing_type": "not_shared", "sharing_modes": [], "not_shared_basis": ""},
        "not_shared_basis_required",
        "not_shared_basis",
    ),
    ("a sharing mode", {"sharing_modes": []}, "sharing_modes_required", "sharing_modes"),
    ("known sharing modes", {"sharing_modes": ["fax"]}, "sharing_mode_invalid", "sharing_modes"),
    (
        "no mode when not shared",
        {
            "sharing_type": "not_shared",
            "not_shared_basis": "《个人信息保护法》",
            "sharing_modes": ["interface"],
        },
        "sharing_modes_not_shared",
        "sharing_modes",
    ),
    ("open type", {"open_type": "public"}, "open_type_invalid", "open_type"),
    (
        "not shared => not open",
        {
            "sharing_type": "not_shared",
            "not_shared_basis": "《个人信息保护法》",
            "sharing_modes": [],
            "open_type": "unconditional",
        },
        "not_shared_not_open",
        "open_type",
    ),
    (
        "opening conditions",
        {"open_type": "conditional", "open_conditions": ""},
        "open_conditions_required",
        "open_conditions",
    ),
    ("update cycle", {"update_cycle": "hourly"}, "update_cycle_invalid", "update_cycle"),
    ("items", {"items": []}, "items_required", "items"),
    (
        "item key",
        {
            "items": factories.items(
                {"key": "Birth-Place", "name": "出生地", "data_type": "string", "length": 50}
            )
        },
        "item_key_invalid",
        "items.3.key",
    ),
    (
        "item key unique",
        {"items": factories.items({"key": "name", "name": "曾用名", "data_type": "string", "length": 50})},
        "item_key_duplicate",
        "items.3.key",
    ),
    (
        "item name",
        {"items": factories.items({"key": "alias", "name": "", "data_type": "string", "length": 50})},
        "item_name_required",
        "items.3.name",
    ),
    (
        "item type",
        {"items": factories.items({"key": "alias", "name": "曾用名", "data_type": "varchar", "length": 50})},
        "item_type_invalid",
        "items.3.data_type",
    ),
    (
        "text length",
        {"items": factories.items({"key": "alias", "name": "曾用名", "data_type": "string"})},
        "item_length_required",
        "items.3.length",
    ),
    (
        "code length",
        {"items": factories.items({"key": "nation", "name": "民族", "data_type": "code", "length": ""})},
        "item_length_required",
        "items.3.length",
    ),
    (
        "length a number",
        {"items": factories.items({"key": "alias", "name": "曾用名", "data_type": "string", "length": "长"})},
        "item_length_invalid",
        "items.3.length",
    ),
    (
        "length positive",
        {"items": factories.items({"key": "alias", "name": "曾用名", "data_type": "string", "length": 0})},
        "item_length_invalid",
        "items.3.length",
    ),
    (
        "a look-up key",
        {"items": [{"key": "name", "name": "姓名", "data_type": "string", "length": 100}]},
        "key_item_required",
        "items",
    ),
    (
        "one look-up key",
        {
            "items": factories.items(
                {"key": "alias", "name": "曾用名", "data_type": "string", "length": 50, "is_key": True}
            )
        },
        "key_item_multiple",
        "items",
    ),
    ("related exists", {"related_codes": ["999999/000001"]}, "related_unknown", "related_codes"),
]


@pytest.mark.parametrize(("what", "overrides", "code", "field"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_has_its_code_and_field(
    police_officer: Any, what: str, overrides: dict[str, Any], code: str, field: str
) -> None:
    error = _refused(police_officer, **overrides)
    assert error.code == code
    assert field in error.fields
    assert [p["code"] for p in error.extra["problems"]] == [code]


def test_messages_are_chinese(police_officer: Any) -> None:
    with translation.override("zh-hans"):
        error = _refused(police_officer, sharing_type="conditional", sharing_conditions="")
        assert str(error.fields["sharing_conditions"][0]) == "有条件共享的信息资源须填写共享条件。"
        error = _refused(
            police_officer,
            sharing_type="not_shared",
            not_shared_basis="依法不共享",
            sharing_modes=[],
            open_type="conditional",
            open_conditions="x",
        )
        assert str(error.fields["open_type"][0]) == "不予共享的信息资源不能向社会开放。"


def test_several_problems_are_reported_together(police_officer: Any) -> None:
    error = _refused(police_officer, name="", item_code="x", summary="", items=[])
    assert error.code == "resource_invalid"
    codes = {p["code"] for p in error.extra["problems"]}
    assert codes == {"name_required", "item_code_invalid", "summary_required", "items_required"}
    assert set(error.fields) == {"name", "item_code", "summary", "items"}


def test_texts_that_do_not_apply_are_dropped(police_officer: Any) -> None:
    resource = factories.draft(
        police_officer,
        sharing_type="unconditional",
        sharing_conditions="残留的条件",
        not_shared_basis="残留的依据",
        open_type="not_open",
        open_conditions="残留",
    )
    assert (resource.sharing_conditions, resource.not_shared_basis, resource.open_conditions) == ("", "", "")


def test_lengths_of_dates_are_dropped_and_items_keep_their_order(police_officer: Any) -> None:
    items = factories.items({"key": "died_on", "name": "死亡日期", "data_type": "date", "length": 10})
    resource = factories.draft(police_officer, items=items)
    stored = list(resource.items.values_list("key", "length", "sort_order"))
    assert stored == [("resident_id", 18, 0), ("name", 100, 1), ("birth_date", None, 2), ("died_on", None, 3)]


def test_provider_code_is_the_departments_credit_code(police_officer: Any, police: Any) -> None:
    resource = factories.draft(police_officer)
    assert resource.provider_code == police.credit_code


def test_a_provider_without_credit_code_is_refused(police: Any, police_officer: Any) -> None:
    police.credit_code = None
    police.save()
    error = _refused(police_officer)
    assert error.code == "provider_code_missing"
    assert "provider" in error.fields


def test_a_name_is_unique_per_provider_while_live(police_officer: Any, civil_officer: Any) -> None:
    factories.draft(police_officer, name="同名资源")
    with pytest.raises(ValidationFailed) as caught:
        factories.draft(police_officer, name="同名资源", heading_code="002")
    assert caught.value.code == "name_taken"
    assert "name" in caught.value.fields
    factories.draft(civil_officer, name="同名资源")  # another provider may use it


def test_related_resources_must_be_others_and_visible(police_officer: Any, civil_officer: Any) -> None:
    other_draft = factories.draft(civil_officer, name="民政草稿")
    error = _refused_with_existing(police_officer, related_codes=[other_draft.code])
    assert error.code == "related_unknown"
    resource = factories.draft(police_officer)
    with pytest.raises(ValidationFailed) as caught:
        services.resource_update(resource=resource, by=police_officer, related_codes=[resource.code])
    assert caught.value.code == "related_self"


def _refused_with_existing(by: Any, **overrides: Any) -> ValidationFailed:
    before = DataResource.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        factories.draft(by, **overrides)
    assert DataResource.objects.count() == before
    return caught.value


def test_the_database_refuses_an_open_resource_that_is_not_shared(police_officer: Any) -> None:
    resource = factories.draft(police_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        DataResource.objects.filter(pk=resource.pk).update(
            sharing_type="not_shared", not_shared_basis="依法", open_type="unconditional"
        )


def test_the_database_refuses_conditional_sharing_without_conditions(police_officer: Any) -> None:
    resource = factories.draft(police_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        DataResource.objects.filter(pk=resource.pk).update(sharing_conditions="")


def test_clean_resource_is_usable_on_its_own() -> None:
    spec = clean_resource(factories.values(subheading_code="12", related_codes=["b", "a", "a"]))
    assert spec.classification == "30200112"
    assert spec.related_codes == ("a", "b")
    assert spec.items[0].is_key

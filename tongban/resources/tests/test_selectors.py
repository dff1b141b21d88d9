"""What each user sees of the catalogue, and what the exchange reads."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.core.errors import NotFound, PermissionDenied
from tongban.identity.tests.factories import StaffFactory
from tongban.resources import selectors, services
from tongban.resources.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(police_officer: Any, civil_officer: Any, reviewer: Any) -> dict[str, Any]:
    police_draft = factories.draft(police_officer, name="公安草稿")
    police_published = factories.published(police_officer, reviewer, name="公安已发布", heading_code="002")
    civil_draft = factories.draft(civil_officer, name="民政草稿")
    civil_review = factories.draft(civil_officer, name="民政审核中", heading_code="002")
    services.resource_submit(resource=civil_review, by=civil_officer)
    civil_published = factories.published(civil_officer, reviewer, name="民政已发布", heading_code="003")
    civil_retired = factories.published(civil_officer, reviewer, name="民政已废止", heading_code="004")
    services.resource_retire(resource=civil_retired, by=reviewer, reason="撤销")
    return {
        "police_draft": police_draft,
        "police_published": police_published,
        "civil_draft": civil_draft,
        "civil_review": civil_review,
        "civil_published": civil_published,
        "civil_retired": civil_retired,
    }


def _names(user: Any) -> set[str]:
    return set(selectors.resources_visible_to(user).values_list("name", flat=True))


def test_a_data_officer_sees_own_resources_and_published_ones(
    catalogue: dict[str, Any], police_officer: Any, civil_officer: Any
) -> None:
    assert _names(police_officer) == {"公安草稿", "公安已发布", "民政已发布"}
    assert _names(civil_officer) == {"民政草稿", "民政审核中", "民政已发布", "民政已废止", "公安已发布"}


def test_the_office_sees_everything(catalogue: dict[str, Any], reviewer: Any) -> None:
    assert len(_names(reviewer)) == 6


def test_other_roles_see_nothing(catalogue: dict[str, Any], police: Any) -> None:
    clerk = StaffFactory(department=police, roles=["window_clerk"])
    assert _names(clerk) == set()


def test_another_departments_draft_is_not_found(catalogue: dict[str, Any], police_officer: Any) -> None:
    for key in ("civil_draft", "civil_review", "civil_retired"):
        with pytest.raises(NotFound):
            selectors.resource_for(police_officer, catalogue[key].pk)
    assert selectors.resource_for(police_officer, catalogue["civil_published"].pk).name == "民政已发布"


def test_search_filters(catalogue: dict[str, Any], reviewer: Any, civil: Any) -> None:
    assert {r.name for r in selectors.search_resources(reviewer, q="民政", status="draft")} == {"民政草稿"}
    found = selectors.search_resources(reviewer, provider_id=civil.pk, sharing_type="conditional")
    assert found.count() == 4
    assert selectors.search_resources(reviewer, category="1").count() == 0
    assert selectors.search_resources(reviewer, q="302002/000001").get().name == "公安已发布"


def test_only_the_office_has_a_review_queue(
    catalogue: dict[str, Any], reviewer: Any, police_officer: Any
) -> None:
    resources, corrections = selectors.review_queue(reviewer)
    assert [r.name for r in resources] == ["民政审核中"]
    assert list(corrections) == []
    with pytest.raises(PermissionDenied):
        selectors.review_queue(police_officer)


def test_the_exchange_reads_published_resources_by_code(catalogue: dict[str, Any]) -> None:
    published = catalogue["police_published"]
    assert selectors.published_resource_by_code(published.code) == published
    for key in ("police_draft", "civil_review", "civil_retired"):
        with pytest.raises(NotFound) as caught:
            selectors.published_resource_by_code(catalogue[key].code)
        assert caught.value.code == "resource_not_found"
    look_up = selectors.key_item(published)
    assert look_up is not None
    assert look_up.key == "resident_id"
    assert selectors.sensitive_item_keys(published) == ["resident_id", "name"]
    assert [i.key for i in selectors.resource_items(published)] == ["resident_id", "name", "birth_date"]
    by_code = selectors.published_items_by_resource([published.code, catalogue["police_draft"].code])
    assert list(by_code) == [published.code]

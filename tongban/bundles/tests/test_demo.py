"""The demo bundles: real bundles of the demo city, published, their forms merging cleanly."""

from __future__ import annotations

import pytest

from tongban.bundles import demo, selectors
from tongban.catalog import demo as catalog_demo
from tongban.identity import demo as identity_demo

pytestmark = pytest.mark.django_db


def test_the_demo_bundles_are_published_with_merged_forms() -> None:
    identity_demo.seed_demo()
    catalog_demo.seed_catalog()
    result = demo.seed()
    assert result.bundles_created == len(demo.BUNDLES) >= 3
    bundles = {b.code: b for b in selectors.published_bundles()}
    assert set(bundles) == {spec.code for spec in demo.BUNDLES}
    newborn = selectors.bundle_guide(bundles["newborn"])
    assert not newborn.problem
    assert len(newborn.departments) == 4
    keys = [f.key for f in newborn.fields]
    assert len(keys) == len(set(keys))
    assert {"person_name", "birth_date", "mother_resident_id", "contact_phone"} <= set(keys)
    # 新生儿姓名 is asked once although all four items ask for the child's name.
    person = next(f for f in newborn.fields if f.key == "person_name")
    assert len(person.item_ids) == 4
    assert person.definition["label"] == "新生儿姓名"
    for code in bundles:
        guide = selectors.bundle_guide(bundles[code])
        assert not guide.problem, code
        assert guide.fields, code
        names = [m.name for m in guide.materials]
        assert len(names) == len(set(names)), code
    assert [b.code for b in selectors.search_bundles("新生儿出生")] == ["newborn"]
    again = demo.seed()
    assert (again.bundles_created, again.bundles_existing) == (0, len(demo.BUNDLES))

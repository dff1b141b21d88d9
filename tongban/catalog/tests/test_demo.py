from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command

from tongban.catalog import demo, demo_data, selectors
from tongban.catalog.choices import MaterialSource, VersionStatus
from tongban.catalog.forms_schema import validate_form_schema
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion
from tongban.core import audit
from tongban.core.errors import ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity import demo as identity_demo
from tongban.identity.models import Department

pytestmark = pytest.mark.django_db

# A law with its article (《…》第…条, possibly after the decree number) or a numbered document (〔2013〕57号).
LAW_AND_ARTICLE = re.compile(r"》(（[^）]*）)?第[一二三四五六七八九十百零]+条|〔\d{4}〕\d+号")


@pytest.fixture
def seeded() -> demo.CatalogSeedResult:
    identity_demo.seed_demo()
    return demo.seed_catalog()


def _counts() -> dict[str, int]:
    return {
        "items": ServiceItem.objects.count(),
        "versions": ServiceItemVersion.objects.count(),
        "materials": Material.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def test_at_least_fifty_published_items_of_twelve_departments(seeded: demo.CatalogSeedResult) -> None:
    assert seeded.items_created == len(demo_data.ITEMS) >= 50
    published = ServiceItem.objects.filter(current_version__status=VersionStatus.PUBLISHED)
    assert published.count() == len(demo_data.ITEMS)
    assert published.values("department").distinct().count() >= 12
    assert selectors.published_items().count() == len(demo_data.ITEMS)


def test_codes_follow_the_national_scheme(seeded: demo.CatalogSeedResult) -> None:
    for item in ServiceItem.objects.select_related("department", "current_version"):
        credit = item.department.credit_code
        assert credit is not None
        assert item.implementation_code == credit + item.basic_code
        assert item.basic_code[2:4] in demo_data.TYPE_CODES.values()
        assert demo_data.TYPE_CODES[item.current_version.item_type] == item.basic_code[2:4]  # type: ignore[union-attr]
    names = [spec.name for spec in demo_data.ITEMS]
    assert len(set(names)) == len(names)
    assert {"居民身份证换领", "内地居民结婚登记", "食品经营许可", "住房公积金提取（退休）"} <= set(names)


def test_every_material_source_is_valid(seeded: demo.CatalogSeedResult) -> None:
    materials = Material.objects.filter(version__status=VersionStatus.PUBLISHED)
    assert materials.count() == sum(len(spec.materials) for spec in demo_data.ITEMS)
    sources = set()
    for material in materials:
        sources.add(material.source)
        if material.source == MaterialSource.E_LICENCE:
            assert material.source_code in demo_data.E_LICENCES, material.name
            assert demo_data.E_LICENCES[material.source_code] in material.name
        elif material.source == MaterialSource.SHARED_DATA:
            assert material.source_code in demo_data.SHARED_DATA, material.name
        else:
            assert material.source == MaterialSource.APPLICANT
            assert material.source_code == ""
    assert {MaterialSource.APPLICANT, MaterialSource.E_LICENCE, MaterialSource.SHARED_DATA} <= sources
    id_card = Material.objects.get(version__name="居民身份证换领", name="居民户口簿")
    assert (id_card.source, id_card.source_code) == (MaterialSource.E_LICENCE, "11100000110068567G002")


def test_time_limits_legal_basis_and_processes(seeded: demo.CatalogSeedResult) -> None:
    for version in ServiceItemVersion.objects.filter(status=VersionStatus.PUBLISHED):
        assert version.statutory_days is not None
        assert version.promised_days is not None
        assert 0 < version.promised_days <= version.statutory_days, version.name
        assert LAW_AND_ARTICLE.search(version.legal_basis), version.name
        assert version.conditions, version.name
        assert version.process, version.name
        assert sum(stage["days"] for stage in version.process) <= version.promised_days
    renewal = ServiceItemVersion.objects.get(name="居民身份证换领", status=VersionStatus.PUBLISHED)
    assert (renewal.statutory_days, renewal.promised_days, renewal.fee_charged) == (60, 20, True)
    transfer = ServiceItemVersion.objects.get(
        name__startswith="不动产转移登记", status=VersionStatus.PUBLISHED
    )
    assert ["luan-bdc", "luan-swj"] in [stage["departments"] for stage in transfer.process]


def test_every_item_has_a_valid_application_form() -> None:
    for spec in demo_data.ITEMS:
        fields = validate_form_schema(list(spec.form))
        assert len(fields) >= 3, spec.name


def test_a_key_means_the_same_answer_in_every_item() -> None:
    """Any items may one day be bundled: the merge refuses one key with two types or option sets."""
    answers: dict[str, dict[tuple[object, ...], list[str]]] = {}
    for spec in demo_data.ITEMS:
        for field in validate_form_schema(list(spec.form)):
            shape = (
                field["type"],
                tuple((option["value"], option["label"]) for option in field["options"]),
                tuple(sorted(field["validation"].items())),
            )
            answers.setdefault(field["key"], {}).setdefault(shape, []).append(spec.name)
    differing = {key: list(shapes.values()) for key, shapes in answers.items() if len(shapes) > 1}
    assert differing == {}


def test_published_items_carry_their_forms(seeded: demo.CatalogSeedResult) -> None:
    for spec in demo_data.ITEMS:
        version = ServiceItemVersion.objects.get(name=spec.name, status=VersionStatus.PUBLISHED)
        assert version.form_schema == validate_form_schema(list(spec.form)), spec.name
    renewal = ServiceItemVersion.objects.get(name="居民身份证换领", status=VersionStatus.PUBLISHED)
    reasons = next(f for f in renewal.form_schema if f["key"] == "renewal_reason")
    assert reasons["type"] == "choice"
    assert "有效期满" in [option["label"] for option in reasons["options"]]


def test_second_run_creates_nothing(seeded: demo.CatalogSeedResult) -> None:
    before = _counts()
    again = demo.seed_catalog()
    assert (again.items_created, again.items_existing) == (0, len(demo_data.ITEMS))
    assert not again.changed
    assert _counts() == before
    assert audit.verify().ok


def test_search_finds_the_demo_items(seeded: demo.CatalogSeedResult) -> None:
    found = [item.current_version.name for item in selectors.search_published("身份证")]  # type: ignore[union-attr]
    assert "居民身份证换领" in found
    assert "居民身份证补领" in found
    licensed = {item.current_version.name for item in selectors.search_published("营业执照")}  # type: ignore[union-attr]
    assert {"有限责任公司设立登记", "个体工商户设立登记", "食品经营许可"} <= licensed


def test_themes_group_the_life_events(seeded: demo.CatalogSeedResult) -> None:
    birth = set(
        ServiceItemVersion.objects.filter(status=VersionStatus.PUBLISHED, themes__code="birth").values_list(
            "name", flat=True
        )
    )
    assert {"出生医学证明签发", "出生登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领"} <= birth


def test_seeding_the_catalogue_needs_the_demo_city() -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        demo.seed_catalog()
    assert excinfo.value.code == "demo_city_missing"
    assert not Department.objects.exists()


def test_seed_demo_command_loads_the_catalogue_and_keeps_stdout_for_the_accounts() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", "--json", stdout=out, stderr=err)
    accounts = json.loads(out.getvalue())  # only the accounts array on stdout
    assert any(account["username"] == demo.ADMINISTRATOR for account in accounts)
    assert f"{len(demo_data.ITEMS)} service items created" in err.getvalue()
    assert selectors.published_items().count() == len(demo_data.ITEMS)
    again = io.StringIO()
    call_command("seed_demo", stdout=again, stderr=io.StringIO())
    summary = again.getvalue().splitlines()[0]
    assert "0 service items created" in summary
    assert summary.endswith("(everything was already there)")

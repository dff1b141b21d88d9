from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from tongban.catalog import services
from tongban.catalog.choices import VersionStatus
from tongban.catalog.models import Material, ServiceItem, ServiceItemVersion
from tongban.catalog.tests.conftest import make_item
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


# --- creation ---------------------------------------------------------------------------------


def test_item_create_makes_draft_v1_with_implementation_code(
    county_admin: User, county_bureau: Department
) -> None:
    item = services.item_create(
        by=county_admin,
        department=county_bureau,
        basic_code="000173001000",
        item_digits="0001",
        name="居民身份证换领",
        item_type="confirmation",
        level="county",
        statutory_days=60,
        promised_days=20,
        channels=["window", "online", "window"],
        themes=["employment"],
        visits=1,
    )
    assert item.implementation_code == f"{county_bureau.credit_code}0001"
    assert item.current_version is None
    version = item.versions.get()
    assert (version.number, version.status, version.name) == (1, VersionStatus.DRAFT, "居民身份证换领")
    assert version.channels == ["window", "online"]
    assert [t.code for t in version.themes.all()] == ["employment"]
    assert version.created_by == county_admin
    event = AuditEvent.objects.get(action="catalog.item_create")
    assert event.actor_id == county_admin.pk
    assert event.subject_id == str(item.pk)
    assert event.data["implementation_code"] == item.implementation_code


def test_duplicate_implementation_code_is_a_conflict(county_admin: User, county_bureau: Department) -> None:
    kwargs: dict[str, Any] = {
        "name": "A",
        "item_type": "licensing",
        "level": "county",
        "department": county_bureau,
    }
    services.item_create(by=county_admin, basic_code="000100000001", item_digits="0001", **kwargs)
    with pytest.raises(Conflict) as info:
        services.item_create(by=county_admin, basic_code="000100000002", item_digits="0001", **kwargs)
    assert info.value.code == "item_code_exists"
    with pytest.raises(Conflict) as info:
        services.item_create(by=county_admin, basic_code="000100000001", item_digits="0002", **kwargs)
    assert info.value.code == "item_code_exists"
    assert ServiceItem.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"statutory_days": 5, "promised_days": 10}, "promised_exceeds_statutory"),
        ({"statutory_days": 0}, "time_limit_not_positive"),
        ({"promised_days": "x"}, "time_limit_invalid"),
        ({"item_type": "nonsense"}, "invalid_choice"),
        ({"channels": ["carrier pigeon"]}, "invalid_choice"),
        ({"themes": ["no-such-theme"]}, "invalid_choice"),
        ({"created_by": None}, "unknown_field"),
        ({"name": "   "}, "name_required"),
    ],
)
def test_item_create_refuses_bad_fields_and_writes_nothing(
    county_admin: User, county_bureau: Department, fields: dict, code: str
) -> None:
    kwargs = {"name": "居民身份证换领", "item_type": "licensing", "level": "county", **fields}
    with pytest.raises(ValidationFailed) as info:
        services.item_create(
            by=county_admin, department=county_bureau, basic_code="000100000001", item_digits="0001", **kwargs
        )
    assert info.value.code == code
    assert not ServiceItem.objects.exists()
    assert not AuditEvent.objects.exists()


def test_item_create_needs_valid_codes_and_a_credit_code(
    county_admin: User, county_bureau: Department
) -> None:
    kwargs = {"name": "A", "item_type": "licensing", "level": "county"}
    with pytest.raises(ValidationFailed) as info:
        services.item_create(
            by=county_admin, department=county_bureau, basic_code="ab", item_digits="0001", **kwargs
        )
    assert info.value.code == "basic_code_invalid"
    with pytest.raises(ValidationFailed) as info:
        services.item_create(
            by=county_admin, department=county_bureau, basic_code="000100000001", item_digits="1a", **kwargs
        )
    assert info.value.code == "item_digits_invalid"
    Department.objects.filter(pk=county_bureau.pk).update(credit_code=None)
    county_bureau.refresh_from_db()
    with pytest.raises(ValidationFailed) as info:
        services.item_create(
            by=county_admin, department=county_bureau, basic_code="000100000001", item_digits="0001", **kwargs
        )
    assert info.value.code == "department_without_credit_code"


# --- versioning -------------------------------------------------------------------------------


def test_publish_sets_current_version_and_audits(county_admin: User, county_bureau: Department) -> None:
    item = make_item(county_admin, county_bureau, publish=False)
    draft = item.versions.get()
    published = services.item_version_publish(version=draft, by=county_admin)
    item.refresh_from_db()
    assert item.current_version == published
    assert published.status == VersionStatus.PUBLISHED
    assert published.published_by == county_admin
    assert published.published_at is not None
    assert AuditEvent.objects.filter(action="catalog.version_publish", subject_id=str(draft.pk)).exists()


def test_publish_requires_materials_and_time_limits(county_admin: User, county_bureau: Department) -> None:
    item = make_item(county_admin, county_bureau, publish=False, materials=())
    draft = item.versions.get()
    with pytest.raises(ValidationFailed) as info:
        services.item_version_publish(version=draft, by=county_admin)
    assert info.value.code == "materials_missing"
    services.material_add(version=draft, by=county_admin, name="居民户口簿")
    services.item_version_update(version=draft, by=county_admin, promised_days=None)
    with pytest.raises(ValidationFailed) as info:
        services.item_version_publish(version=draft, by=county_admin)
    assert info.value.code == "time_limits_missing"
    draft.refresh_from_db()
    item.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert item.current_version is None


def test_new_draft_copies_published_version_and_leaves_it_untouched(
    county_admin: User, item: ServiceItem
) -> None:
    v1 = item.current_version
    assert v1 is not None
    draft = services.item_version_draft(item=item, by=county_admin)
    assert (draft.number, draft.status) == (2, VersionStatus.DRAFT)
    assert draft.name == v1.name
    assert draft.conditions == v1.conditions
    assert [t.code for t in draft.themes.all()] == ["employment"]
    assert list(draft.materials.values_list("name", flat=True)) == ["居民户口簿"]

    services.item_version_update(version=draft, by=county_admin, name="居民身份证换领（新）", promised_days=5)
    material = draft.materials.get()
    services.material_update(material=material, by=county_admin, name="户口簿", copies=2)
    services.material_add(version=draft, by=county_admin, name="近期免冠照片", form="electronic")

    v1.refresh_from_db()
    assert (v1.name, v1.promised_days, v1.status) == ("居民身份证换领", 10, VersionStatus.PUBLISHED)
    assert list(v1.materials.values_list("name", "copies")) == [("居民户口簿", 1)]

    services.item_version_publish(version=draft, by=county_admin)
    v1.refresh_from_db()
    item.refresh_from_db()
    assert v1.status == VersionStatus.RETIRED
    assert item.current_version == draft
    assert list(v1.materials.values_list("name", flat=True)) == ["居民户口簿"]
    assert ServiceItemVersion.objects.filter(item=item, status=VersionStatus.PUBLISHED).count() == 1


def test_only_one_draft_at_a_time(county_admin: User, item: ServiceItem) -> None:
    services.item_version_draft(item=item, by=county_admin)
    with pytest.raises(Conflict) as info:
        services.item_version_draft(item=item, by=county_admin)
    assert info.value.code == "draft_exists"


def test_published_and_retired_versions_are_immutable(county_admin: User, item: ServiceItem) -> None:
    published = item.current_version
    assert published is not None
    material = published.materials.get()
    refusals = [
        lambda: services.item_version_update(version=published, by=county_admin, name="改名"),
        lambda: services.material_add(version=published, by=county_admin, name="新材料"),
        lambda: services.material_update(material=material, by=county_admin, name="改名"),
        lambda: services.material_remove(material=material, by=county_admin),
        lambda: services.item_version_publish(version=published, by=county_admin),
    ]
    for refuse in refusals:
        with pytest.raises(Conflict) as info:
            refuse()
        assert info.value.code == "version_not_draft"
    services.item_retire(item=item, by=county_admin)
    with pytest.raises(Conflict) as info:
        services.item_version_update(version=published, by=county_admin, name="改名")
    assert info.value.code == "version_not_draft"
    published.refresh_from_db()
    assert published.name == "居民身份证换领"
    assert published.materials.get().name == "居民户口簿"


def test_retire_withdraws_item_and_a_new_draft_can_republish(county_admin: User, item: ServiceItem) -> None:
    v1 = item.current_version
    assert v1 is not None
    services.item_retire(item=item, by=county_admin)
    item.refresh_from_db()
    v1.refresh_from_db()
    assert item.current_version is None
    assert item.retired_at is not None
    assert v1.status == VersionStatus.RETIRED
    assert AuditEvent.objects.filter(action="catalog.item_retire", subject_id=str(item.pk)).exists()
    with pytest.raises(Conflict) as info:
        services.item_retire(item=item, by=county_admin)
    assert info.value.code == "item_not_published"

    draft = services.item_version_draft(item=item, by=county_admin)
    assert draft.name == v1.name
    services.item_version_publish(version=draft, by=county_admin)
    item.refresh_from_db()
    assert item.current_version == draft
    assert item.retired_at is None


def test_material_remove_from_draft(county_admin: User, item: ServiceItem) -> None:
    draft = services.item_version_draft(item=item, by=county_admin)
    material = draft.materials.get()
    services.material_remove(material=material, by=county_admin)
    assert not draft.materials.exists()
    assert item.current_version is not None
    assert item.current_version.materials.count() == 1
    assert AuditEvent.objects.filter(action="catalog.material_remove").exists()


def test_material_source_and_files(
    county_admin: User, county_bureau: Department, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    item = make_item(county_admin, county_bureau, publish=False, materials=())
    draft = item.versions.get()
    with pytest.raises(ValidationFailed) as info:
        services.material_add(version=draft, by=county_admin, name="营业执照", source="e_licence")
    assert info.value.code == "material_source_code_required"
    material = services.material_add(
        version=draft,
        by=county_admin,
        name="营业执照",
        source="e_licence",
        source_code="11100000000013338W001",
        form="electronic",
        may_follow_later=True,
        blank_form=SimpleUploadedFile("申请表.pdf", b"%PDF-1.4 blank"),
    )
    assert material.source == "e_licence"
    assert material.may_follow_later is True
    assert (material.blank_form.name or "").startswith("catalog/forms/")
    with pytest.raises(ValidationFailed) as info:
        services.material_update(material=material, by=county_admin, copies=500)
    assert info.value.code == "number_invalid"
    with pytest.raises(ValidationFailed) as info:
        services.material_update(material=material, by=county_admin, name="")
    assert info.value.code == "material_name_required"


# --- database constraints ---------------------------------------------------------------------


def test_database_refuses_promised_beyond_statutory(item: ServiceItem) -> None:
    version = item.versions.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItemVersion.objects.filter(pk=version.pk).update(promised_days=30)


def test_database_refuses_zero_time_limit(item: ServiceItem) -> None:
    version = item.versions.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItemVersion.objects.filter(pk=version.pk).update(statutory_days=0, promised_days=0)


def test_database_refuses_two_published_versions(county_admin: User, item: ServiceItem) -> None:
    draft = services.item_version_draft(item=item, by=county_admin)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItemVersion.objects.filter(pk=draft.pk).update(
            status=VersionStatus.PUBLISHED, published_at=item.created_at
        )


def test_database_refuses_shared_data_material_without_code(item: ServiceItem) -> None:
    version = item.versions.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Material.objects.create(version=version, name="户籍信息", source="shared_data", source_code="")


# --- permissions ------------------------------------------------------------------------------


def test_administrator_of_another_county_is_refused(
    other_county_admin: User, county_admin: User, item: ServiceItem, county_bureau: Department
) -> None:
    before = AuditEvent.objects.count()
    published = item.current_version
    assert published is not None
    with pytest.raises(PermissionDenied) as info:
        services.item_version_draft(item=item, by=other_county_admin)
    assert info.value.code == "department_out_of_scope"
    with pytest.raises(PermissionDenied):
        services.item_retire(item=item, by=other_county_admin)
    with pytest.raises(PermissionDenied):
        services.item_create(
            by=other_county_admin,
            department=county_bureau,
            basic_code="000100000009",
            item_digits="0009",
            name="A",
            item_type="licensing",
            level="county",
        )
    draft = services.item_version_draft(item=item, by=county_admin)
    with pytest.raises(PermissionDenied):
        services.item_version_update(version=draft, by=other_county_admin, name="改名")
    with pytest.raises(PermissionDenied):
        services.material_add(version=draft, by=other_county_admin, name="材料")
    with pytest.raises(PermissionDenied):
        services.material_remove(material=draft.materials.get(), by=other_county_admin)
    with pytest.raises(PermissionDenied):
        services.item_version_publish(version=draft, by=other_county_admin)
    assert AuditEvent.objects.count() == before + 1  # only the county administrator's draft
    item.refresh_from_db()
    assert item.current_version == published


def test_city_administrator_may_edit_county_items(city_admin: User, item: ServiceItem) -> None:
    draft = services.item_version_draft(item=item, by=city_admin)
    assert draft.created_by == city_admin


def test_citizen_and_non_administrator_staff_are_refused(
    citizen: User, item: ServiceItem, county_bureau: Department
) -> None:
    clerk: Any = StaffFactory(department=county_bureau, roles=["window_clerk"])
    for user in (citizen, clerk):
        with pytest.raises(PermissionDenied) as info:
            services.item_version_draft(item=item, by=user)
        assert info.value.code == "catalog_admin_required"
    assert item.versions.count() == 1

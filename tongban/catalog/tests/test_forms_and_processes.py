"""Process definitions, and the services that set forms and processes on drafts."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.catalog import services
from tongban.catalog.choices import VersionStatus
from tongban.catalog.forms_schema import validate_form_schema
from tongban.catalog.models import ServiceItem
from tongban.catalog.processes import process_departments, validate_process
from tongban.catalog.tests.conftest import make_item
from tongban.catalog.tests.factories import DEFAULT_FORM, ServiceItemFactory, default_process
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db


def stage(name: str, days: int, *departments: str) -> dict[str, Any]:
    if len(departments) == 1:
        return {"name": name, "days": days, "department": departments[0]}
    return {"name": name, "days": days, "departments": list(departments)}


# --- process definitions -----------------------------------------------------------------------


def test_process_in_normal_form_with_parallel_branches(
    county_bureau: Department, other_county_bureau: Department, city: Department
) -> None:
    stages = [
        stage("受理", 1, county_bureau.code),
        {"name": "并联审查", "days": 3, "departments": [other_county_bureau, city.code]},
        stage("决定", 1, county_bureau.code),
    ]
    normal = validate_process(stages, promised_days=5)
    assert normal == [
        {"name": "受理", "days": 1, "departments": ["jinan-psb"], "join": "all", "on_refusal": "refuse_case"},
        {
            "name": "并联审查",
            "days": 3,
            "departments": ["yuan-amr", city.code],
            "join": "all",
            "on_refusal": "refuse_case",
        },
        {"name": "决定", "days": 1, "departments": ["jinan-psb"], "join": "all", "on_refusal": "refuse_case"},
    ]
    assert validate_process(normal, promised_days=5) == normal
    assert process_departments(normal) == ["jinan-psb", "yuan-amr", city.code]


@pytest.mark.parametrize(
    ("stages", "code"),
    [
        ([], "process_missing"),
        (None, "process_missing"),
        ({"name": "受理"}, "process_not_list"),
        (["受理"], "stage_not_object"),
        ([{"days": 1, "department": "jinan-psb"}], "stage_name_required"),
        ([stage("  ", 1, "jinan-psb")], "stage_name_required"),
        ([stage("受理", 0, "jinan-psb")], "stage_days_invalid"),
        ([{"name": "受理", "days": True, "department": "jinan-psb"}], "stage_days_invalid"),
        ([{"name": "受理", "days": "2", "department": "jinan-psb"}], "stage_days_invalid"),
        ([{"name": "受理", "days": 1}], "stage_without_department"),
        ([{"name": "受理", "days": 1, "departments": []}], "stage_without_department"),
        (
            [{"name": "受理", "days": 1, "department": "jinan-psb", "departments": ["yuan-amr"]}],
            "stage_department_ambiguous",
        ),
        ([stage("并联", 1, "jinan-psb", "yuan-amr", "jinan-psb")], "duplicate_branch_department"),
        ([stage("受理", 1, "no-such-dept")], "unknown_department"),
        ([{**stage("并联", 1, "jinan-psb", "yuan-amr"), "join": "any"}], "stage_rule_invalid"),
        ([{**stage("受理", 1, "jinan-psb"), "on_refusal": "continue"}], "stage_rule_invalid"),
        ([{**stage("受理", 1, "jinan-psb"), "owner": "x"}], "unknown_attribute"),
        ([stage("受理", 3, "jinan-psb"), stage("决定", 3, "yuan-amr")], "process_exceeds_promised"),
        ([{"name": f"第{i}步", "days": 1, "department": "jinan-psb"} for i in range(21)], "too_many_stages"),
    ],
)
def test_malformed_process_is_refused_with_a_stable_code(
    stages: Any, code: str, county_bureau: Department, other_county_bureau: Department
) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_process(stages, promised_days=5)
    assert info.value.code == code
    assert info.value.fields["process"]


def test_inactive_department_cannot_handle_a_stage(county_bureau: Department) -> None:
    DepartmentFactory(code="closed-bureau", is_active=False)
    with pytest.raises(ValidationFailed) as info:
        validate_process([stage("并联", 1, county_bureau.code, "closed-bureau")])
    assert info.value.code == "unknown_department"
    assert "closed-bureau" in str(info.value.message)


# --- services ------------------------------------------------------------------------------------


@pytest.fixture
def draft_item(county_admin: User, county_bureau: Department) -> ServiceItem:
    return make_item(county_admin, county_bureau, publish=False)


def test_form_schema_set_stores_normal_form_and_audits(county_admin: User, draft_item: ServiceItem) -> None:
    draft = draft_item.versions.get()
    schema = [{"key": "child_name", "label": "新生儿姓名", "type": "text", "required": True}]
    services.form_schema_set(version=draft, schema=schema, by=county_admin)
    draft.refresh_from_db()
    assert draft.form_schema == [
        {
            "key": "child_name",
            "label": "新生儿姓名",
            "type": "text",
            "required": True,
            "help_text": "",
            "options": [],
            "validation": {},
        }
    ]
    event = AuditEvent.objects.filter(action="catalog.form_set", subject_id=str(draft.pk)).latest("pk")
    assert event.data["fields"] == ["child_name"]


def test_malformed_form_changes_nothing(county_admin: User, draft_item: ServiceItem) -> None:
    draft = draft_item.versions.get()
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.form_schema_set(
            version=draft, schema=[{"key": "a", "label": "A", "type": "x"}], by=county_admin
        )
    assert info.value.code == "unknown_type"
    draft.refresh_from_db()
    assert draft.form_schema == DEFAULT_FORM
    assert AuditEvent.objects.count() == events


def test_process_set_checks_the_promised_limit_and_audits(
    county_admin: User, draft_item: ServiceItem, county_bureau: Department, other_county_bureau: Department
) -> None:
    draft = draft_item.versions.get()
    assert draft.promised_days == 10
    stages = [
        stage("受理", 2, county_bureau.code),
        stage("并联审查", 8, county_bureau.code, other_county_bureau.code),
    ]
    services.process_set(version=draft, stages=stages, by=county_admin)
    draft.refresh_from_db()
    assert [s["departments"] for s in draft.process] == [["jinan-psb"], ["jinan-psb", "yuan-amr"]]
    event = AuditEvent.objects.filter(action="catalog.process_set", subject_id=str(draft.pk)).latest("pk")
    assert event.data["stages"][1] == {
        "name": "并联审查",
        "days": 8,
        "departments": ["jinan-psb", "yuan-amr"],
    }

    with pytest.raises(ValidationFailed) as info:
        services.process_set(
            version=draft, stages=[*stages, stage("决定", 1, county_bureau.code)], by=county_admin
        )
    assert info.value.code == "process_exceeds_promised"
    draft.refresh_from_db()
    assert len(draft.process) == 2


def test_publish_refuses_a_version_without_a_valid_process(
    county_admin: User, county_bureau: Department
) -> None:
    item = make_item(county_admin, county_bureau, publish=False)
    draft = item.versions.get()
    draft.process = []
    draft.save(update_fields=["process"])
    with pytest.raises(ValidationFailed) as info:
        services.item_version_publish(version=draft, by=county_admin)
    assert info.value.code == "process_missing"

    # The promised limit was shortened after the process was set.
    services.process_set(version=draft, stages=default_process(county_bureau, days=5), by=county_admin)
    services.item_version_update(version=draft, by=county_admin, promised_days=3)
    with pytest.raises(ValidationFailed) as info:
        services.item_version_publish(version=draft, by=county_admin)
    assert info.value.code == "process_exceeds_promised"

    # The handling department closed after the process was set.
    services.item_version_update(version=draft, by=county_admin, promised_days=10)
    Department.objects.filter(pk=county_bureau.pk).update(is_active=False)
    with pytest.raises(ValidationFailed) as info:
        services.item_version_publish(version=draft, by=county_admin)
    assert info.value.code == "unknown_department"
    draft.refresh_from_db()
    item.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
    assert item.current_version is None


def test_new_draft_copies_form_and_process(
    county_admin: User, item: ServiceItem, county_bureau: Department, other_county_bureau: Department
) -> None:
    v1 = item.current_version
    assert v1 is not None
    draft = services.item_version_draft(item=item, by=county_admin)
    assert draft.form_schema == v1.form_schema == DEFAULT_FORM
    assert draft.process == v1.process
    services.form_schema_set(version=draft, schema=[*DEFAULT_FORM[:1]], by=county_admin)
    services.process_set(
        version=draft,
        stages=[stage("并联", 2, county_bureau.code, other_county_bureau.code)],
        by=county_admin,
    )
    v1.refresh_from_db()
    assert v1.form_schema == DEFAULT_FORM
    assert v1.process == default_process(county_bureau)
    services.item_version_publish(version=draft, by=county_admin)
    draft.refresh_from_db()
    assert [f["key"] for f in draft.form_schema] == ["applicant_name"]


def test_published_form_and_process_are_immutable(county_admin: User, item: ServiceItem) -> None:
    published = item.current_version
    assert published is not None
    for call in (
        lambda: services.form_schema_set(version=published, schema=[], by=county_admin),
        lambda: services.process_set(version=published, stages=published.process, by=county_admin),
    ):
        with pytest.raises(Conflict) as info:
            call()
        assert info.value.code == "version_not_draft"
    published.refresh_from_db()
    assert published.form_schema == DEFAULT_FORM


def test_only_administrators_of_the_jurisdiction_set_forms_and_processes(
    draft_item: ServiceItem, other_county_admin: User, county_bureau: Department
) -> None:
    draft = draft_item.versions.get()
    clerk: Any = StaffFactory(department=county_bureau, roles=["window_clerk"])
    users: list[tuple[User, str]] = [
        (other_county_admin, "department_out_of_scope"),
        (clerk, "catalog_admin_required"),
    ]
    for user, code in users:
        with pytest.raises(PermissionDenied) as info:
            services.form_schema_set(version=draft, schema=[], by=user)
        assert info.value.code == code
        with pytest.raises(PermissionDenied) as info:
            services.process_set(version=draft, stages=default_process(county_bureau), by=user)
        assert info.value.code == code
    draft.refresh_from_db()
    assert draft.form_schema == DEFAULT_FORM


def test_factory_published_items_have_a_valid_form_and_process() -> None:
    item: Any = ServiceItemFactory(published=True)
    version = item.current_version
    assert version is not None
    assert version.process == validate_process(version.process, promised_days=version.promised_days)
    assert version.form_schema == DEFAULT_FORM
    assert process_departments(version.process) == [item.department.code]


def test_default_form_is_in_normal_form() -> None:
    assert validate_form_schema(DEFAULT_FORM) == DEFAULT_FORM

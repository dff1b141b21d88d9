"""Draft → in review → published (→ retired), returns with a reason, corrections, and who may do each step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.tests.factories import StaffFactory
from tongban.resources import selectors, services
from tongban.resources.choices import CorrectionStatus, ResourceStatus, UpdateCycle
from tongban.resources.metadata import values_of
from tongban.resources.models import DataItem, DataResource, ResourceCorrection
from tongban.resources.tests import factories

pytestmark = pytest.mark.django_db


def _actions(resource: DataResource) -> list[str]:
    return list(
        AuditEvent.objects.filter(subject_type="resources.dataresource", subject_id=str(resource.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


# --- creating and editing --------------------------------------------------------------------


def test_the_service_assigns_the_code_from_the_classification(police_officer: Any) -> None:
    first = factories.draft(police_officer)
    second = factories.draft(police_officer, name="第二个")
    other = factories.draft(police_officer, name="细目", subheading_code="7")
    assert (first.code, second.code, other.code) == ("302001/000001", "302001/000002", "3020017/000001")
    assert first.status == ResourceStatus.DRAFT
    assert first.created_by == police_officer


def test_a_draft_given_a_new_classification_gets_a_new_code(police_officer: Any) -> None:
    resource = factories.draft(police_officer)
    updated = services.resource_update(resource=resource, by=police_officer, heading_code="009")
    assert updated.code == "302009/000001"
    # The old number is not reused: numbers only ever count up.
    assert factories.draft(police_officer, name="又一个").code == "302001/000002"


def test_a_draft_is_edited_with_its_whole_item_list(police_officer: Any) -> None:
    resource = factories.draft(police_officer)
    services.resource_update(
        resource=resource,
        by=police_officer,
        summary="新的摘要",
        items=[
            {
                "key": "resident_id",
                "name": "公民身份号码",
                "data_type": "string",
                "length": 18,
                "is_key": True,
            },
            {"key": "gender", "name": "性别", "data_type": "code", "length": 1},
        ],
    )
    resource.refresh_from_db()
    assert resource.summary == "新的摘要"
    assert selectors.item_keys(resource) == ["resident_id", "gender"]
    event = AuditEvent.objects.filter(action="resource.update").get()
    assert set(event.data["changed"]) == {"summary", "items"}


def test_only_the_provider_or_the_office_writes_a_departments_resources(
    police: Any, police_officer: Any, civil_officer: Any, reviewer: Any
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        factories.draft(civil_officer, provider=police)
    assert caught.value.code == "resources_not_provider"
    resource = factories.draft(police_officer)
    with pytest.raises(PermissionDenied):
        services.resource_update(resource=resource, by=civil_officer, summary="不是我的")
    with pytest.raises(PermissionDenied):
        services.resource_submit(resource=resource, by=civil_officer)
    # The catalogue office registers a department's resources on its behalf.
    on_behalf = factories.draft(reviewer, provider=police, name="代录资源")
    assert on_behalf.provider == police


def test_other_roles_do_not_use_the_catalogue(police: Any) -> None:
    approver: Any = StaffFactory(department=police, roles=["approver"])
    with pytest.raises(PermissionDenied) as caught:
        factories.draft(approver, provider=police)
    assert caught.value.code == "resources_role_required"


def test_administrators_of_the_provider_may_write(police: Any) -> None:
    administrator = factories.officer(police, role="administrator")
    assert factories.draft(administrator).provider == police


# --- review ---------------------------------------------------------------------------------


def test_the_whole_workflow_is_audited(police_officer: Any, reviewer: Any) -> None:
    resource = factories.draft(police_officer)
    services.resource_submit(resource=resource, by=police_officer)
    services.resource_return(resource=resource, by=reviewer, reason="请补充共享条件的适用范围。")
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.DRAFT
    assert resource.review_note == "请补充共享条件的适用范围。"
    services.resource_update(resource=resource, by=police_officer, sharing_conditions="仅用于户籍业务。")
    services.resource_submit(resource=resource, by=police_officer)
    services.resource_withdraw(resource=resource, by=police_officer)
    services.resource_submit(resource=resource, by=police_officer)
    moment = timezone.now() - dt.timedelta(days=3)
    services.resource_publish(resource=resource, by=reviewer, note="同意发布", at=moment)
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PUBLISHED
    assert resource.published_on == timezone.localdate(moment)
    assert resource.reviewed_by == reviewer
    services.resource_retire(resource=resource, by=reviewer, reason="数据已由省级系统提供。")
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.RETIRED
    assert resource.retire_reason == "数据已由省级系统提供。"
    assert _actions(resource) == [
        "resource.create",
        "resource.submit",
        "resource.return",
        "resource.update",
        "resource.submit",
        "resource.withdraw",
        "resource.submit",
        "resource.publish",
        "resource.retire",
    ]


def test_only_the_office_reviews(police_officer: Any, police: Any) -> None:
    resource = factories.draft(police_officer)
    services.resource_submit(resource=resource, by=police_officer)
    police_admin = factories.officer(police, role="administrator")
    for by in (police_officer, police_admin):
        with pytest.raises(PermissionDenied) as caught:
            services.resource_publish(resource=resource, by=by)
        assert caught.value.code == "resources_office_only"
        with pytest.raises(PermissionDenied):
            services.resource_return(resource=resource, by=by, reason="x")
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.IN_REVIEW


def test_the_office_is_a_setting(
    settings: Any, police_officer: Any, civil_officer: Any, reviewer: Any
) -> None:
    settings.TONGBAN_RESOURCES_OFFICE = "luan-mzj"
    resource = factories.draft(police_officer)
    services.resource_submit(resource=resource, by=police_officer)
    with pytest.raises(PermissionDenied):
        services.resource_publish(resource=resource, by=reviewer)
    services.resource_publish(resource=resource, by=civil_officer)


def test_steps_out_of_order_are_conflicts(police_officer: Any, reviewer: Any) -> None:
    resource = factories.draft(police_officer)
    with pytest.raises(Conflict) as caught:
        services.resource_publish(resource=resource, by=reviewer)
    assert caught.value.code == "resource_not_in_review"
    with pytest.raises(Conflict) as caught:
        services.resource_retire(resource=resource, by=reviewer, reason="x")
    assert caught.value.code == "resource_not_published"
    services.resource_submit(resource=resource, by=police_officer)
    with pytest.raises(Conflict) as caught:
        services.resource_update(resource=resource, by=police_officer, summary="审核中不能改")
    assert caught.value.code == "resource_not_draft"
    with pytest.raises(Conflict):
        services.resource_submit(resource=resource, by=police_officer)


def test_a_return_and_a_retirement_need_a_reason(police_officer: Any, reviewer: Any) -> None:
    resource = factories.draft(police_officer)
    services.resource_submit(resource=resource, by=police_officer)
    with pytest.raises(ValidationFailed) as caught:
        services.resource_return(resource=resource, by=reviewer, reason="  ")
    assert caught.value.code == "return_reason_required"
    assert "reason" in caught.value.fields
    services.resource_publish(resource=resource, by=reviewer)
    with pytest.raises(ValidationFailed) as caught:
        services.resource_retire(resource=resource, by=reviewer, reason="")
    assert caught.value.code == "retire_reason_required"


def test_a_draft_can_be_discarded(police_officer: Any, civil_officer: Any) -> None:
    resource = factories.draft(police_officer)
    with pytest.raises(PermissionDenied):
        services.resource_discard(resource=resource, by=civil_officer)
    services.resource_discard(resource=resource, by=police_officer)
    assert not DataResource.objects.filter(pk=resource.pk).exists()
    assert AuditEvent.objects.filter(action="resource.discard").exists()


def test_a_retired_name_may_be_used_again(police_officer: Any, reviewer: Any) -> None:
    old = factories.published(police_officer, reviewer, name="可复用")
    services.resource_retire(resource=old, by=reviewer, reason="被替代")
    assert factories.draft(police_officer, name="可复用", heading_code="002").name == "可复用"


# --- corrections of published resources ------------------------------------------------------


def _correct(resource: DataResource, by: Any, **changes: Any) -> ResourceCorrection:
    return services.correction_save(resource=resource, by=by, reason="补充信息项", **changes)


def test_a_correction_leaves_the_published_entry_until_applied(police_officer: Any, reviewer: Any) -> None:
    resource = factories.published(police_officer, reviewer)
    items = [*factories.items(), {"key": "gender", "name": "性别", "data_type": "code", "length": 1}]
    items[1] = {**items[1], "name": "姓名（中文）"}
    correction = _correct(resource, police_officer, items=items, summary="更正后的摘要")
    services.correction_submit(correction=correction, by=police_officer)
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PUBLISHED
    assert resource.summary == "用于测试的信息资源。"
    assert selectors.item_keys(resource) == ["resident_id", "name", "birth_date"]
    name_item = DataItem.objects.get(resource=resource, key="name")
    services.correction_apply(correction=correction, by=reviewer)
    resource.refresh_from_db()
    assert resource.summary == "更正后的摘要"
    assert selectors.item_keys(resource) == ["resident_id", "name", "birth_date", "gender"]
    name_item.refresh_from_db()  # the same row, renamed: grants and exchange caches keep pointing at it
    assert name_item.name == "姓名（中文）"
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.APPLIED
    event = AuditEvent.objects.filter(action="resource.correction_apply").get()
    assert event.data["items_added"] == ["gender"]


def test_published_items_are_never_removed_or_retyped(police_officer: Any, reviewer: Any) -> None:
    resource = factories.published(police_officer, reviewer)
    with pytest.raises(ValidationFailed) as caught:
        _correct(resource, police_officer, items=factories.items()[:2])
    assert caught.value.code == "item_remove_forbidden"
    retyped = factories.items()
    retyped[2] = {**retyped[2], "data_type": "string", "length": 10}
    with pytest.raises(ValidationFailed) as caught:
        _correct(resource, police_officer, items=retyped)
    assert caught.value.code == "item_retype_forbidden"
    assert "items.2.data_type" in caught.value.fields
    rekeyed = factories.items()
    rekeyed[0] = {**rekeyed[0], "is_key": False}
    rekeyed[1] = {**rekeyed[1], "is_key": True}
    with pytest.raises(ValidationFailed) as caught:
        _correct(resource, police_officer, items=rekeyed)
    assert {p["code"] for p in caught.value.extra["problems"]} == {"key_item_fixed"}
    with pytest.raises(ValidationFailed) as caught:
        _correct(resource, police_officer, heading_code="002")
    assert caught.value.code == "classification_fixed"
    assert not ResourceCorrection.objects.exists()


def test_the_exchange_hooks_say_published_items_stay(police_officer: Any, reviewer: Any) -> None:
    draft = factories.draft(police_officer)
    assert selectors.item_may_be_removed(draft, "name")
    assert selectors.item_may_be_retyped(draft, "name")
    published = factories.published(police_officer, reviewer, name="已发布")
    assert not selectors.item_may_be_removed(published, "name")
    assert not selectors.item_may_be_retyped(published, "name")


def test_correction_rules_of_state_and_role(police_officer: Any, civil_officer: Any, reviewer: Any) -> None:
    draft = factories.draft(police_officer)
    with pytest.raises(Conflict) as conflict:
        _correct(draft, police_officer, summary="x")
    assert conflict.value.code == "resource_not_published"
    resource = factories.published(police_officer, reviewer, name="已发布")
    with pytest.raises(PermissionDenied):
        _correct(resource, civil_officer, summary="别人的")
    with pytest.raises(ValidationFailed) as caught:
        services.correction_save(resource=resource, by=police_officer, reason="", summary="x")
    assert caught.value.code == "correction_reason_required"
    correction = _correct(resource, police_officer)
    with pytest.raises(ValidationFailed) as caught:
        services.correction_submit(correction=correction, by=police_officer)
    assert caught.value.code == "correction_unchanged"
    correction = _correct(resource, police_officer, summary="改一下")  # the same open correction, edited
    assert ResourceCorrection.objects.filter(resource=resource).count() == 1
    services.correction_submit(correction=correction, by=police_officer)
    with pytest.raises(Conflict) as conflict:
        _correct(resource, police_officer, summary="再改")
    assert conflict.value.code == "correction_in_review"
    with pytest.raises(PermissionDenied):
        services.correction_apply(correction=correction, by=police_officer)
    services.correction_return(correction=correction, by=reviewer, reason="摘要请写完整。")
    correction.refresh_from_db()
    assert (correction.status, correction.review_note) == (CorrectionStatus.DRAFT, "摘要请写完整。")
    services.correction_discard(correction=correction, by=police_officer)
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.DISCARDED
    assert selectors.open_correction(resource) is None


def test_retiring_discards_an_open_correction(police_officer: Any, reviewer: Any) -> None:
    resource = factories.published(police_officer, reviewer)
    correction = _correct(resource, police_officer, summary="改")
    services.resource_retire(resource=resource, by=reviewer, reason="撤销")
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.DISCARDED


def test_the_correction_shows_what_it_changes(police_officer: Any, reviewer: Any) -> None:
    resource = factories.published(police_officer, reviewer)
    items = [*factories.items(), {"key": "gender", "name": "性别", "data_type": "code", "length": 1}]
    correction = _correct(resource, police_officer, items=items, update_cycle="weekly")
    changes = {c.label: (c.before, c.after) for c in selectors.correction_changes(correction)}
    assert changes["更新周期"] == (str(UpdateCycle.DAILY.label), str(UpdateCycle.WEEKLY.label))
    assert changes["信息项 gender"][0] == ""
    assert len(changes) == 2


def test_values_of_round_trips_through_the_services(police_officer: Any) -> None:
    resource = factories.draft(police_officer)
    values = values_of(resource)
    services.resource_update(resource=resource, by=police_officer, **values)
    assert AuditEvent.objects.filter(action="resource.update").get().data["changed"] == []

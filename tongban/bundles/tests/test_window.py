"""Bundles at the window (一窗受理): a clerk files the whole bundle for the applicant at the counter."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.bundles import selectors, services
from tongban.bundles.models import Bundle, BundleApplication
from tongban.cases import services as case_services
from tongban.cases.choices import CaseStatus, Channel, MaterialOrigin
from tongban.cases.models import Case
from tongban.cases.tests.factories import pdf_upload
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db

ANSWERS = {"applicant_name": "李娜", "contact_phone": "13905640102", "remarks": "", "child_name": "王小宝"}


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(
        name="六安市政务服务中心", code="city-centre", division_code="341500", parent=city
    )
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def county_clerk(db: None) -> Any:
    county = DepartmentFactory(
        name="金安区数据资源局", code="jinan-centre", level="county", division_code="341502"
    )
    return StaffFactory(department=county, roles=["window_clerk"])


def _id_card_only(bundle: Bundle) -> dict[str, Any]:
    keys = {m.name: m.key for m in selectors.bundle_guide(bundle).materials}
    return {keys["居民身份证"]: pdf_upload("身份证扫描.pdf")}


def _file(bundle: Bundle, citizen: User, by: User, **kw: Any) -> BundleApplication:
    return services.bundle_apply(
        bundle=bundle,
        applicant=citizen,
        form_data=kw.pop("form_data", ANSWERS),
        files=kw.pop("files", None) or _id_card_only(bundle),
        by=by,
        **kw,
    )


def test_a_clerk_files_a_bundle_for_the_applicant_with_scans(
    bundle: Bundle, citizen: User, clerk: User
) -> None:
    application = _file(bundle, citizen, clerk, idempotency_key="window-" + "k" * 20)
    assert (application.applicant_id, application.submitted_by_id) == (citizen.pk, clerk.pk)
    cases = [bc.case for bc in application.bundle_cases.order_by("order")]
    assert len(cases) == 2
    for case in cases:
        assert (case.channel, case.status) == (Channel.BUNDLE, CaseStatus.SUBMITTED)
        assert (case.applicant_id, case.submitted_by_id) == (citizen.pk, clerk.pk)
        # The scanned ID card only: the missing 申请表 is settled at acceptance.
        assert [(m.material.name, m.origin) for m in case.materials.all()] == [
            ("居民身份证", MaterialOrigin.WINDOW_SCAN)
        ]
    event = AuditEvent.objects.get(action="bundle.applied")
    assert event.actor_id == clerk.pk
    assert event.data["at_window"] is True
    # Each case is accepted on its own, the missing material to follow later (容缺).
    first = cases[0]
    deferred = first.version.materials.get(name="申请表")
    accepted = case_services.case_accept(case=first, by=clerk, deferred_material_ids=[deferred.pk])
    assert accepted.status == CaseStatus.IN_REVIEW


def test_the_answers_are_still_checked_for_a_clerk(bundle: Bundle, citizen: User, clerk: User) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _file(bundle, citizen, clerk, form_data={**ANSWERS, "child_name": ""})
    assert excinfo.value.code == "bundle_application_invalid"
    assert "child_name" in excinfo.value.fields
    assert not Case.objects.exists()


def test_a_county_clerk_cannot_file_a_city_bundle(bundle: Bundle, citizen: User, county_clerk: User) -> None:
    with pytest.raises(PermissionDenied) as excinfo:
        _file(bundle, citizen, county_clerk)
    assert excinfo.value.code == "not_your_department"
    assert "出生医学证明签发" in str(excinfo.value.message)
    assert "出生登记" in str(excinfo.value.message)
    assert not BundleApplication.objects.exists()


def test_staff_other_than_window_clerks_cannot_file(
    bundle: Bundle, citizen: User, department: Department
) -> None:
    """An approver is staff of one department: not a window for a bundle of two."""
    approver: Any = StaffFactory(department=department, roles=["approver"])
    with pytest.raises(PermissionDenied) as excinfo:
        _file(bundle, citizen, approver)
    assert excinfo.value.code == "not_window_clerk"
    assert not Case.objects.exists()


def test_a_clerk_cannot_file_for_a_staff_account(bundle: Bundle, clerk: User, administrator: User) -> None:
    with pytest.raises(PermissionDenied) as excinfo:
        _file(bundle, administrator, clerk)
    assert excinfo.value.code == "applicant_not_eligible"


def test_an_item_the_applicant_may_not_apply_for_is_refused_at_the_window(
    bundle: Bundle, enterprise: User, clerk: User
) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _file(bundle, enterprise, clerk)
    assert excinfo.value.code == "bundle_application_invalid"
    assert not Case.objects.exists()


def test_a_resent_window_filing_gives_the_one_application(
    bundle: Bundle, citizen: User, clerk: User, county_clerk: User
) -> None:
    first = _file(bundle, citizen, clerk, idempotency_key="window-same-key-123456")
    again = _file(bundle, citizen, clerk, idempotency_key="window-same-key-123456")
    assert again.pk == first.pk
    assert Case.objects.count() == 2
    # Nobody else gets the application back by sending its key.
    with pytest.raises(PermissionDenied):
        _file(bundle, citizen, county_clerk, idempotency_key="window-same-key-123456")

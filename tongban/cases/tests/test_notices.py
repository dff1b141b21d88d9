"""Which notices a case has, and that each one renders as a PDF from the case's facts."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.cases import notices, services
from tongban.cases.models import Case, CaseTask
from tongban.cases.notices import NoticeKind
from tongban.cases.tests.factories import material_ids, pdf_upload, published_item, submitted_case
from tongban.catalog.models import ServiceItem
from tongban.core.errors import NotFound
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(department: Department) -> ServiceItem:
    return published_item(department)


@pytest.fixture
def clerk(city: Department) -> Any:
    centre = DepartmentFactory(name="政务服务中心", code="city-centre", division_code="341500", parent=city)
    return StaffFactory(department=centre, roles=["window_clerk"])


@pytest.fixture
def approver(department: Department) -> Any:
    return StaffFactory(department=department, roles=["approver"])


def kinds(case: Case) -> list[tuple[str, int | None]]:
    return [(n.kind.value, n.round) for n in notices.notices_for(case)]


def test_submitted_case_has_no_notice_yet(item: ServiceItem, citizen: User) -> None:
    case = submitted_case(item, citizen)
    assert kinds(case) == []
    with pytest.raises(NotFound):
        notices.notice_pdf(case, NoticeKind.ACCEPTANCE)


def test_corrections_acceptance_and_decision(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    case = submitted_case(item, citizen)
    services.case_return_for_correction(
        case=case, items=[{"target": "身份证", "instruction": "重拍"}], by=clerk
    )
    services.case_resubmit(case=case, by=citizen)
    services.case_accept(case=case, by=clerk)
    case.refresh_from_db()
    assert kinds(case) == [("correction", 1), ("acceptance", None)]
    title, pdf = notices.notice_pdf(case, NoticeKind.CORRECTION, round=1)
    assert pdf.startswith(b"%PDF")
    assert "1" in title
    with pytest.raises(NotFound):
        notices.notice_pdf(case, NoticeKind.CORRECTION, round=2)

    # A walk-in application accepted with a material to follow later (容缺).
    ids = material_ids(item)
    case = submitted_case(item, citizen, files={ids["居民身份证"]: pdf_upload()}, by=clerk)
    services.case_accept(case=case, by=clerk, deferred_material_ids=[ids["申请表"]])
    case.refresh_from_db()
    notice = notices._notice(case, notices.notices_for(case)[0])
    assert notice.kind == "acceptance"
    assert notice.deferred_materials == ("申请表",)
    assert notice.applicant_id_masked != citizen.resident_id
    assert notice.progress_url.endswith(f"/progress/?number={case.number}")
    services.case_material_upload(case=case, material_id=ids["申请表"], upload=pdf_upload(), by=citizen)
    for task in CaseTask.objects.filter(case=case):
        services.task_decide(task=task, outcome="approve", opinion="准予", by=approver)
    case.refresh_from_db()
    assert kinds(case)[-1] == ("decision", None)
    assert notices.notice_pdf(case, NoticeKind.ACCEPTANCE)[1].startswith(b"%PDF")
    assert notices.notice_pdf(case, NoticeKind.DECISION)[1].startswith(b"%PDF")


def test_not_accepted_and_refused_notices(
    item: ServiceItem, citizen: User, clerk: User, approver: User
) -> None:
    case = submitted_case(item, citizen)
    services.case_not_accept(case=case, reason="不属于本部门职权范围", by=clerk)
    case.refresh_from_db()
    assert kinds(case) == [("not-accepted", None)]
    notice = notices._notice(case, notices.notices_for(case)[0])
    assert notice.kind == "refusal"
    assert notice.reasons == "不属于本部门职权范围"
    assert notices.notice_pdf(case, NoticeKind.NOT_ACCEPTED)[1].startswith(b"%PDF")

    refused = services.case_accept(case=submitted_case(item, citizen), by=clerk)
    task = CaseTask.objects.get(case=refused)
    services.task_decide(task=task, outcome="refuse", opinion="条件不符", by=approver)
    refused.refresh_from_db()
    link = notices.notices_for(refused)[-1]
    assert link.kind == NoticeKind.DECISION
    denial = notices._notice(refused, link)
    assert denial.kind == "denial"
    assert denial.reasons == "条件不符"
    assert notices.notice_pdf(refused, NoticeKind.DECISION)[1].startswith(b"%PDF")

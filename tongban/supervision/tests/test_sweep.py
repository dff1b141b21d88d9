"""The sweep: alerts opened, raised, closed set-based and idempotently; fact triggers; digests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tongban.cases import services as case_services
from tongban.cases.models import Case, CaseStage
from tongban.cases.tests.factories import published_item, stage, submitted_case
from tongban.catalog.models import ServiceItem
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.core.models import AuditEvent
from tongban.identity.models import Department, User
from tongban.identity.tests.factories import DepartmentFactory, StaffFactory
from tongban.notifications.models import Message
from tongban.supervision import selectors, services
from tongban.supervision.choices import CloseReason, Level, SweepOrigin, Trigger
from tongban.supervision.models import Alert, Sweep
from tongban.supervision.tests.conftest import NOW, accepted, end_of, new_citizen

pytestmark = pytest.mark.django_db


def sweep_at(moment: Any) -> Sweep:
    return services.supervision_sweep(origin=SweepOrigin.MANUAL, now=moment)


def open_alerts(case: Case) -> dict[str, Alert]:
    return {a.trigger: a for a in Alert.objects.filter(case=case, closed_at__isnull=True)}


def test_sweep_opens_raises_and_closes_idempotently(item: ServiceItem, approver: User) -> None:
    case = accepted(item, approver, due=date(2026, 10, 12))
    calm = accepted(item, approver, due=date(2026, 11, 30))
    first = sweep_at(NOW)
    alerts = open_alerts(case)
    assert set(alerts) == {Trigger.CASE_OVERDUE, Trigger.STAGE_OVERDUE}
    assert alerts[Trigger.CASE_OVERDUE].level == Level.WARNING
    assert alerts[Trigger.STAGE_OVERDUE].stage_id == case.stages.get().pk
    assert not open_alerts(calm)
    assert (first.opened, first.changed, first.closed) == (2, 0, 0)

    again = sweep_at(NOW)  # nothing changed: nothing to do
    assert (again.opened, again.changed, again.closed) == (0, 0, 0)
    assert Alert.objects.count() == 2

    later = sweep_at(NOW + timedelta(days=4))  # Tue 13 October: overdue by one working day
    assert (later.opened, later.changed) == (0, 2)
    alert = Alert.objects.get(pk=alerts[Trigger.CASE_OVERDUE].pk)
    assert alert.level == Level.YELLOW
    assert alert.raised_at == NOW + timedelta(days=4)
    much_later = sweep_at(NOW + timedelta(days=14))
    assert much_later.changed == 2
    alert.refresh_from_db()
    assert alert.level == Level.RED
    assert list(alert.changes.values_list("level", flat=True)) == [Level.WARNING, Level.YELLOW, Level.RED]

    task = case.tasks.get()
    case_services.task_decide(task=task, outcome="approve", opinion="同意", by=approver)
    closing = sweep_at(NOW + timedelta(days=15))
    assert closing.closed == 2
    alert.refresh_from_db()
    assert alert.closed_reason == CloseReason.CLEARED
    assert alert.changes.last().level == Level.NORMAL  # type: ignore[union-attr]
    assert not open_alerts(case)
    assert AuditEvent.objects.filter(action="supervision.swept").count() == 5


def test_a_stage_overdue_while_the_case_is_not(department: Department, approver: User) -> None:
    item = published_item(
        department,
        process=[stage("初审", 2, department), stage("复审", 3, department)],
        promised_days=10,
        statutory_days=20,
    )
    case = accepted(item, approver)
    Case.objects.filter(pk=case.pk).update(due_at=end_of(date(2026, 11, 30)))
    CaseStage.objects.filter(case=case, index=0).update(due_at=end_of(date(2026, 10, 8)))
    sweep_at(NOW)
    alerts = open_alerts(case)
    assert set(alerts) == {Trigger.STAGE_OVERDUE}
    assert alerts[Trigger.STAGE_OVERDUE].level == Level.YELLOW
    row = selectors.supervised_cases(approver, now=NOW).get(pk=case.pk)
    assert (row.level, row.level_case, row.level_stage) == (Level.YELLOW, Level.NORMAL, Level.YELLOW)


def test_suspension_stops_the_clock_and_keeps_the_alert(item: ServiceItem, approver: User) -> None:
    case = accepted(item, approver, due=date(2026, 10, 8))
    sweep_at(NOW)
    alert = open_alerts(case)[Trigger.CASE_OVERDUE]
    assert alert.level == Level.YELLOW
    case_services.case_suspend(case=case, kind="hearing", reason="听证", by=approver)
    result = sweep_at(NOW + timedelta(days=20))  # would be red, but the clock is stopped
    assert (result.changed, result.closed) == (0, 0)
    alert.refresh_from_db()
    assert (alert.level, alert.closed_at) == (Level.YELLOW, None)


def test_unaccepted_application_is_an_alert_until_accepted(item: ServiceItem, approver: User) -> None:
    case = submitted_case(item, new_citizen())
    Case.objects.filter(pk=case.pk).update(submitted_at=end_of(date(2026, 9, 29)))
    sweep_at(NOW)
    assert open_alerts(case)[Trigger.UNACCEPTED].level == Level.YELLOW
    case_services.case_accept(case=case, by=approver)
    Case.objects.filter(pk=case.pk).update(due_at=end_of(date(2026, 11, 30)))
    CaseStage.objects.filter(case=case).update(due_at=end_of(date(2026, 11, 30)))
    assert sweep_at(NOW + timedelta(hours=1)).closed == 1
    assert not open_alerts(case)


def test_refusal_without_reasons_is_a_red_finding(item: ServiceItem, approver: User) -> None:
    refused = accepted(item, approver)
    case_services.task_decide(task=refused.tasks.get(), outcome="refuse", opinion="材料不符", by=approver)
    not_accepted = case_services.case_not_accept(
        case=submitted_case(item, new_citizen()), reason="不属于本机关", by=approver
    )
    reasoned = accepted(item, approver)
    case_services.task_decide(task=reasoned.tasks.get(), outcome="refuse", opinion="理由充分", by=approver)
    # Reasons lost, as from an imported or legacy record: the services themselves never allow it.
    Case.objects.filter(pk=refused.pk).update(decision_opinion="")
    Case.objects.filter(pk=not_accepted.pk).update(not_accepted_reason="")
    sweep_at(NOW)
    assert open_alerts(refused)[Trigger.REFUSAL_UNREASONED].level == Level.RED
    assert open_alerts(not_accepted)[Trigger.REFUSAL_UNREASONED].level == Level.RED
    assert not open_alerts(reasoned)
    # A closed case with a finding is on the board although it is no longer open.
    assert selectors.supervised_cases(approver, now=NOW).filter(pk=refused.pk).exists()


def test_fee_outside_the_catalogue(department: Department, approver: User) -> None:
    free = published_item(department, fee_charged=False, fee_amount="不收费")
    paid = published_item(department, fee_charged=True, fee_amount="住宅80元/件，非住宅550元/件")
    on_free = accepted(free, approver)
    listed = accepted(paid, approver)
    unlisted = accepted(paid, approver)
    fee_free = case_services.case_fee_record(case=on_free, amount="20", basis="工本费", by=approver)
    fee_listed = case_services.case_fee_record(case=listed, amount="80.00", basis="住宅登记费", by=approver)
    fee_unlisted = case_services.case_fee_record(
        case=unlisted, amount=Decimal("100"), basis="加急费", by=approver
    )
    assert (fee_free.in_catalogue, fee_listed.in_catalogue, fee_unlisted.in_catalogue) == (False, True, False)
    assert AuditEvent.objects.filter(action="case.fee_recorded").count() == 3
    sweep_at(NOW)
    assert Trigger.FEE_OFF_CATALOGUE in open_alerts(on_free)
    assert Trigger.FEE_OFF_CATALOGUE in open_alerts(unlisted)
    assert Trigger.FEE_OFF_CATALOGUE not in open_alerts(listed)


def test_fee_record_is_scoped_and_checked(
    item: ServiceItem, approver: User, county_approver: User, supervisor: User
) -> None:
    case = accepted(item, approver)
    for outsider in (county_approver, supervisor):
        with pytest.raises(PermissionDenied) as denied:
            case_services.case_fee_record(case=case, amount="10", basis="工本费", by=outsider)
        assert denied.value.code == "not_your_department"
    for amount in ("abc", "-5", "0", "1.005", "NaN", "1e12"):
        with pytest.raises(ValidationFailed) as invalid:
            case_services.case_fee_record(case=case, amount=amount, basis="工本费", by=approver)
        assert invalid.value.code == "fee_amount_invalid", amount
    with pytest.raises(ValidationFailed) as no_basis:
        case_services.case_fee_record(case=case, amount="10", basis="  ", by=approver)
    assert no_basis.value.fields == {"basis": [no_basis.value.message]}
    assert not case.fees.exists()


def test_window_case_of_a_fully_online_item(department: Department, approver: User) -> None:
    online = published_item(department, online_depth=4)
    centre = DepartmentFactory(name="政务服务中心", code="centre", division_code="341500")
    clerk: Any = StaffFactory(department=centre, roles=["window_clerk"])
    at_window = submitted_case(online, new_citizen(), by=clerk, channel="window")
    on_line = submitted_case(online, new_citizen())
    sweep_at(NOW)
    assert open_alerts(at_window)[Trigger.NOT_ONLINE].level == Level.YELLOW
    assert Trigger.NOT_ONLINE not in open_alerts(on_line)


def test_digest_one_message_per_recipient(
    item: ServiceItem, approver: User, supervisor: User, county_supervisor: User
) -> None:
    other_approver: Any = StaffFactory(department=approver.department, roles=["approver"])
    for due in (date(2026, 9, 1), date(2026, 9, 2), date(2026, 10, 8), date(2026, 10, 12)):
        accepted(item, approver, due=due)
    Message.objects.all().delete()
    result = sweep_at(NOW)
    assert result.notified == 3  # two approvers and the city supervisor; not the county's
    mine = Message.objects.get(recipient=approver, topic="supervision.digest")
    assert Message.objects.filter(recipient=other_approver, topic="supervision.digest").count() == 1
    assert not Message.objects.filter(recipient=county_supervisor).exists()
    # Case and stage alerts: 4 red, 2 yellow, 2 warnings for the department.
    assert mine.title == "电子监察：新增 4 张红牌、2 张黄牌、2 条预警"
    assert mine.link.startswith("/staff/supervision/cases/?level=red")
    boss = Message.objects.get(recipient=supervisor, topic="supervision.digest")
    assert boss.title == "电子监察：新增 4 张红牌、2 张黄牌、0 条预警"  # warnings stay with the department
    assert boss.body == f"{approver.department.name if approver.department else None}：红牌 4，黄牌 2，预警 0"
    assert sweep_at(NOW + timedelta(minutes=5)).notified == 0  # nothing newly raised

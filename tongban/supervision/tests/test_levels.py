"""Levels from deadlines: each threshold, make-up working days, suspension, acceptance, policy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tongban.cases import services as case_services
from tongban.cases.models import Case
from tongban.cases.tests.factories import submitted_case
from tongban.catalog.models import ServiceItem
from tongban.core.calendar import working_days_between
from tongban.identity.models import User
from tongban.supervision import selectors, services
from tongban.supervision.choices import Level
from tongban.supervision.levels import cutoffs, working_day_back
from tongban.supervision.models import SupervisionPolicy
from tongban.supervision.tests.conftest import NOW, accepted, end_of, new_citizen, set_due

pytestmark = pytest.mark.django_db


def sql_level(case: Case, now: Any = NOW) -> int:
    c = cutoffs(now)
    return int(selectors.with_levels(Case.objects.filter(pk=case.pk), c).values_list("level", flat=True)[0])


@pytest.mark.parametrize(
    ("due", "level"),
    [
        (date(2026, 10, 13), Level.NORMAL),  # 3 working days left: the make-up Saturday counts
        (date(2026, 10, 12), Level.WARNING),  # 2 left (Sat 10, Mon 12)
        (date(2026, 10, 10), Level.WARNING),  # 1 left, on the make-up Saturday
        (date(2026, 10, 9), Level.WARNING),  # due tonight: 0 left, not yet overdue
        (date(2026, 10, 8), Level.YELLOW),  # overdue by 1
        (date(2026, 9, 28), Level.YELLOW),  # overdue by 4 (29, 30 Sep, 8, 9 Oct: the holiday does not count)
        (date(2026, 9, 27), Level.RED),  # a Sunday: 28, 29, 30 Sep, 8, 9 Oct is 5
        (date(2026, 9, 24), Level.RED),  # overdue by 5
        (date(2026, 9, 1), Level.RED),
    ],
)
def test_level_at_each_threshold(item: ServiceItem, approver: User, due: date, level: Level) -> None:
    case = accepted(item, approver, due=due)
    assert sql_level(case) == level
    assert cutoffs(NOW).deadline.of(case.due_at) == level


@pytest.mark.parametrize(("warning", "red"), [(2, 5), (0, 1), (3, 2)])
def test_levels_follow_the_working_day_definition(
    item: ServiceItem, approver: User, admin_user: User, warning: int, red: int
) -> None:
    """Against the rule written with ``working_days_between`` for every day over six weeks."""
    services.policy_update(by=admin_user, warning_days=warning, red_days=red, unaccepted_days=2)
    case = accepted(item, approver)
    for offset in range(-25, 20):
        due = NOW.date() + timedelta(days=offset)
        set_due(case, due)
        deadline = end_of(due)
        if deadline < NOW:
            expected = Level.RED if working_days_between(deadline, NOW) >= red else Level.YELLOW
        else:
            expected = Level.WARNING if working_days_between(NOW, deadline) <= warning else Level.NORMAL
        assert sql_level(case) == expected, due


def test_working_day_back_skips_the_holiday() -> None:
    assert working_day_back(date(2026, 10, 10), 3) == date(2026, 9, 30)
    assert working_day_back(date(2026, 10, 10), 0) == date(2026, 10, 10)


def test_suspended_case_has_no_clock(item: ServiceItem, approver: User) -> None:
    case = accepted(item, approver, due=date(2026, 9, 1))
    assert sql_level(case) == Level.RED
    case_services.case_suspend(case=case, kind="expert_review", reason="专家评审", by=approver)
    case.refresh_from_db()
    assert sql_level(case) == Level.NORMAL
    assert not selectors.supervised_cases(approver, now=NOW).filter(pk=case.pk).exists()


@pytest.mark.parametrize(
    ("submitted", "level"),
    [
        (date(2026, 10, 9), Level.WARNING),  # due for acceptance by Mon 12 (Sat 10 counts)
        (date(2026, 9, 30), Level.WARNING),  # by tonight (8, 9 October)
        (date(2026, 9, 29), Level.YELLOW),  # was due by 8 October
        (date(2026, 9, 23), Level.YELLOW),  # due 28 September (25 is 中秋): overdue by 4 working days
        (date(2026, 9, 22), Level.RED),  # due 24 September: overdue by 5
        (date(2026, 9, 18), Level.RED),  # due 21 September (the make-up Sunday 20 counts)
    ],
)
def test_unaccepted_levels(item: ServiceItem, approver: User, submitted: date, level: Level) -> None:
    case = submitted_case(item, new_citizen())
    Case.objects.filter(pk=case.pk).update(submitted_at=end_of(submitted) - timedelta(hours=8))
    assert sql_level(case) == level


def test_policy_change_moves_the_levels_at_once(item: ServiceItem, approver: User, admin_user: User) -> None:
    case = accepted(item, approver, due=date(2026, 10, 8))
    assert sql_level(case) == Level.YELLOW
    services.policy_update(by=admin_user, warning_days=2, red_days=1, unaccepted_days=2)
    assert sql_level(case) == Level.RED
    assert SupervisionPolicy.objects.get().red_days == 1

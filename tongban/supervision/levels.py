"""Levels from deadlines, as one SQL expression (ADR 18).

The policy's thresholds are turned into a few cut-off instants once per sweep or page, with the
working-day calendar (``core.calendar``); the level of any number of rows is then a ``CASE WHEN``
over their deadline column, computed by the database. The sweep and the board use the same
expressions, so the board is right even when the sweep has not run yet.

For a deadline *d* (the end of a working day, as ``deadline_after`` gives; any instant works) and
today *T* (Asia/Shanghai):

- red card: overdue by at least ``red_days`` working days, ``working_days_between(d, now) >= M``,
  i.e. the date of *d* is before the M-th working day counting back from *T* (T included);
- yellow card: ``d < now`` and not red;
- warning: at most ``warning_days`` working days remain, ``working_days_between(now, d) <= N``,
  i.e. the date of *d* is before ``add_working_days(T, N + 1)``;
- normal otherwise.

Acceptance has no stored deadline: an application waits at most ``unaccepted_days`` (K) working
days, so its deadline is ``deadline_after(submitted_at, K)``. "That deadline's date is before day
Z" is the same as "the submission's date is before the K-th working day counting back from the day
before Z", so the same ladder becomes cut-offs on ``submitted_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, IntegerField, Q, Value, When

from tongban.core.calendar import SHANGHAI, add_working_days, is_working_day, local_date
from tongban.supervision.choices import Level
from tongban.supervision.models import SupervisionPolicy


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def working_day_back(before: date, n: int) -> date:
    """The n-th working day counting back from the day before ``before`` (n = 0: ``before`` itself).

    ``add_working_days(D, n) < before`` holds exactly when ``D < working_day_back(before, n)``.
    """
    day = before
    counted = 0
    while counted < n:
        day -= timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


@dataclass(frozen=True)
class Ladder:
    """Three instants: a deadline before ``red`` is a red card, before ``yellow`` a yellow card,
    before ``warning`` a warning."""

    red: datetime
    yellow: datetime
    warning: datetime

    def level(self, field: str) -> Case:
        """The level of ``field`` (a deadline-like column) as a SQL expression."""
        return Case(
            When(**{f"{field}__lt": self.red}, then=Value(Level.RED)),
            When(**{f"{field}__lt": self.yellow}, then=Value(Level.YELLOW)),
            When(**{f"{field}__lt": self.warning}, then=Value(Level.WARNING)),
            default=Value(Level.NORMAL),
            output_field=IntegerField(),
        )

    def at_risk(self, field: str) -> Q:
        return Q(**{f"{field}__lt": self.warning})

    def of(self, moment: datetime | None) -> Level:
        """The same rule in Python, for one value."""
        if moment is None:
            return Level.NORMAL
        if moment < self.red:
            return Level.RED
        if moment < self.yellow:
            return Level.YELLOW
        if moment < self.warning:
            return Level.WARNING
        return Level.NORMAL


@dataclass(frozen=True)
class Cutoffs:
    now: datetime
    deadline: Ladder  # for stored deadlines: the case's and the stages' due_at
    acceptance: Ladder  # for submitted_at of applications not yet accepted
    policy: SupervisionPolicy


def current_policy() -> SupervisionPolicy:
    """The policy row, or the defaults when none has been saved yet."""
    return SupervisionPolicy.objects.filter(pk=1).first() or SupervisionPolicy(pk=1)


def cutoffs(now: datetime, policy: SupervisionPolicy | None = None) -> Cutoffs:
    policy = policy or current_policy()
    today = local_date(now)
    red_day = working_day_back(today + timedelta(days=1), policy.red_days)
    warning_day = add_working_days(today, policy.warning_days + 1)
    k = policy.unaccepted_days
    return Cutoffs(
        now=now,
        deadline=Ladder(red=_start(red_day), yellow=now, warning=_start(warning_day)),
        acceptance=Ladder(
            red=_start(working_day_back(red_day, k)),
            yellow=_start(working_day_back(today, k)),
            warning=_start(working_day_back(warning_day, k)),
        ),
        policy=policy,
    )

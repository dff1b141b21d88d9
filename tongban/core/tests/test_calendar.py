"""The working-day calendar: known 2026 and 2027 facts, the counting convention, and its properties."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import chinese_calendar
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongban.core import calendar
from tongban.core.calendar import (
    SHANGHAI,
    DaySource,
    add_working_days,
    deadline_after,
    is_provisional_year,
    is_working_day,
    next_working_day,
    working_days_between,
)
from tongban.core.models import WorkingDayOverride

pytestmark = pytest.mark.django_db

DB_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Official years and provisional ones, across the 2026/2027 boundary where deadlines live now.
dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))
counts = st.integers(min_value=0, max_value=300)


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> Iterator[date]:
    day = d(first)
    while day <= d(last):
        yield day
        day += timedelta(days=1)


# --- Known facts of 2026 (the State Council's schedule, through chinese-calendar) ---------------------


def test_spring_festival_2026_is_nine_days_off_with_two_saturdays_worked() -> None:
    assert not any(is_working_day(day) for day in days("2026-02-15", "2026-02-23"))
    assert is_working_day(d("2026-02-14"))  # Saturday, make-up working day
    assert is_working_day(d("2026-02-28"))  # Saturday, make-up working day
    assert is_working_day(d("2026-02-24"))
    info = calendar.day_info(d("2026-02-14"))
    assert info.source == DaySource.OFFICIAL
    assert info.is_makeup_workday
    assert info.holiday == calendar.Holiday.SPRING_FESTIVAL


def test_national_day_2026_and_its_make_up_working_days() -> None:
    assert not any(is_working_day(day) for day in days("2026-10-01", "2026-10-07"))
    assert is_working_day(d("2026-09-20"))  # Sunday worked
    assert is_working_day(d("2026-10-10"))  # Saturday worked
    assert not is_working_day(d("2026-10-11"))  # an ordinary Sunday
    assert calendar.day_info(d("2026-10-03")).holiday == calendar.Holiday.NATIONAL_DAY


def test_other_2026_holidays() -> None:
    for rest in ("2026-01-01", "2026-01-02", "2026-04-06", "2026-05-05", "2026-06-19", "2026-09-25"):
        assert not is_working_day(d(rest)), rest
    for work in ("2026-01-04", "2026-05-09"):  # Sunday and Saturday worked
        assert is_working_day(d(work)), work


def test_2026_is_official_and_2027_provisional() -> None:
    assert not is_provisional_year(2026)
    assert is_provisional_year(2027)
    assert 2004 in calendar.official_years()
    assert calendar.day_info(d("2026-03-02")).source == DaySource.OFFICIAL
    assert calendar.day_info(d("2027-03-02")).source == DaySource.PROVISIONAL


# --- The counting convention -------------------------------------------------------------------------


def test_day_one_is_the_next_working_day_whatever_the_hour() -> None:
    # Accepted on Monday 2026-03-02 at 08:00 or at 23:00: day 1 is Tuesday either way.
    for hour in (8, 23):
        accepted = datetime(2026, 3, 2, hour, tzinfo=SHANGHAI)
        assert add_working_days(accepted, 1) == d("2026-03-03")
    assert add_working_days(d("2026-03-02"), 5) == d("2026-03-09")  # skips the weekend


def test_accepted_before_national_day_is_due_after_it() -> None:
    accepted = datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)
    assert add_working_days(accepted, 1) == d("2026-10-08")
    assert add_working_days(accepted, 3) == d("2026-10-10")  # the Saturday worked counts
    deadline = deadline_after(accepted, 1)
    assert deadline == datetime.combine(d("2026-10-08"), time(23, 59, 59, 999999), tzinfo=SHANGHAI)
    assert deadline.utcoffset() == timedelta(hours=8)


def test_a_moment_counts_by_its_date_in_shanghai() -> None:
    # 16:30 UTC on Friday 13 February is 00:30 on Saturday the 14th in Beijing, a make-up working day.
    moment = datetime(2026, 2, 13, 16, 30, tzinfo=UTC)
    assert calendar.local_date(moment) == d("2026-02-14")
    assert is_working_day(moment)
    assert add_working_days(moment, 1) == d("2026-02-24")
    assert add_working_days(datetime(2026, 2, 13, 15, 30, tzinfo=UTC), 1) == d("2026-02-14")


def test_naive_datetimes_and_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_working_days(datetime(2026, 3, 2, 9, 0), 1)  # noqa: DTZ001 - the naive value is the point
    with pytest.raises(ValueError, match="zero or more"):
        add_working_days(d("2026-03-02"), -1)


def test_zero_days_is_the_date_itself_and_next_working_day_is_strictly_after() -> None:
    assert add_working_days(d("2026-10-03"), 0) == d("2026-10-03")
    assert next_working_day(d("2026-10-03")) == d("2026-10-08")
    assert next_working_day(d("2026-03-02")) == d("2026-03-03")


def test_between_counts_the_half_open_interval() -> None:
    assert working_days_between(d("2026-03-02"), d("2026-03-02")) == 0
    assert working_days_between(d("2026-03-02"), d("2026-03-03")) == 1
    assert working_days_between(d("2026-03-06"), d("2026-03-09")) == 1  # Friday to Monday
    assert working_days_between(d("2026-09-30"), d("2026-10-08")) == 1
    assert working_days_between(d("2026-10-08"), d("2026-09-30")) == -1
    assert working_days_between(d("2026-01-01"), d("2026-12-31")) == sum(
        chinese_calendar.is_workday(day) for day in days("2026-01-02", "2026-12-31")
    )


# --- The provisional rule (2027 onwards) ---------------------------------------------------------------


def test_2027_provisional_holidays() -> None:
    rest = {
        "2027-01-01": calendar.Holiday.NEW_YEARS_DAY,  # Friday
        "2027-02-05": calendar.Holiday.SPRING_FESTIVAL,  # 除夕, Friday
        "2027-02-08": calendar.Holiday.SPRING_FESTIVAL,  # 初三, Monday
        "2027-04-05": calendar.Holiday.TOMB_SWEEPING_DAY,  # 清明, Monday
        "2027-05-01": calendar.Holiday.LABOUR_DAY,
        "2027-06-09": calendar.Holiday.DRAGON_BOAT_FESTIVAL,  # 五月初五, Wednesday
        "2027-09-15": calendar.Holiday.MID_AUTUMN_FESTIVAL,  # 八月十五, Wednesday
        "2027-10-01": calendar.Holiday.NATIONAL_DAY,
    }
    for text, holiday in rest.items():
        info = calendar.day_info(d(text))
        assert (info.is_workday, info.source, info.holiday) == (False, DaySource.PROVISIONAL, holiday), text
    # Unknown 调休: the days around the holidays are ordinary until the schedule is published.
    for work in ("2027-02-09", "2027-05-03", "2027-10-04"):
        assert is_working_day(d(work)), work
    assert not is_working_day(d("2027-02-06"))  # 初一 is a Saturday anyway
    assert len(calendar.statutory_holidays(2027)) == 13


def test_deadlines_cross_into_the_provisional_year() -> None:
    # Wednesday 30 December 2026: Thursday the 31st, then 1 January and the weekend are off.
    assert add_working_days(d("2026-12-30"), 3) == d("2027-01-05")
    assert working_days_between(d("2026-12-30"), d("2027-01-05")) == 3


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_provisional_rule_never_rests_on_an_official_working_day(year: int) -> None:
    """Under the 2025 rules every statutory day the provisional rule computes is an official rest day."""
    for day in calendar.statutory_holidays(year):
        assert not chinese_calendar.is_workday(day), day


def test_lunar_and_solar_term_dates_agree_with_the_official_schedule() -> None:
    """Every statutory day computed for 2008–2026 is an official holiday in that year.

    Before 2025 除夕 and 2 May were not statutory days, so a schedule could make them working days.
    """
    for year in range(2008, 2027):
        holidays = calendar.statutory_holidays(year)
        eve = min(day for day, h in holidays.items() if h == calendar.Holiday.SPRING_FESTIVAL)
        for day in holidays:
            if year < 2025 and day in (eve, date(year, 5, 2)):
                continue
            assert chinese_calendar.is_holiday(day), (year, day, holidays[day])


# --- Overrides -------------------------------------------------------------------------------------------


def test_an_override_beats_the_official_schedule() -> None:
    WorkingDayOverride.objects.create(date=d("2026-10-08"), is_workday=False, name="地方假日")
    WorkingDayOverride.objects.create(date=d("2026-10-10"), is_workday=False, name="取消调休")
    info = calendar.day_info(d("2026-10-08"))
    assert (info.is_workday, info.source, info.label) == (False, DaySource.OVERRIDE, "地方假日")
    assert add_working_days(d("2026-09-30"), 1) == d("2026-10-09")
    assert add_working_days(d("2026-09-30"), 2) == d("2026-10-12")


def test_an_override_beats_the_provisional_rule() -> None:
    # Say the published 2027 schedule gives Tuesday 9 February off and has Saturday the 20th worked.
    WorkingDayOverride.objects.create(date=d("2027-02-09"), is_workday=False, name="春节")
    WorkingDayOverride.objects.create(date=d("2027-02-20"), is_workday=True, name="春节调休")
    assert not is_working_day(d("2027-02-09"))
    assert is_working_day(d("2027-02-20"))  # a Saturday
    assert add_working_days(d("2027-02-04"), 1) == d("2027-02-10")


def test_overrides_are_read_with_at_most_one_query_per_call(django_assert_num_queries: Any) -> None:
    WorkingDayOverride.objects.create(date=d("2027-03-01"), is_workday=False)
    with django_assert_num_queries(1):
        assert add_working_days(d("2026-12-01"), 250) > d("2027-11-01")
    with django_assert_num_queries(0):  # every year it needed is cached now
        assert not is_working_day(d("2027-03-01"))
        assert working_days_between(d("2026-12-01"), d("2027-06-01")) > 100
    with django_assert_num_queries(1):
        calendar.year_days(2031)


def test_forget_overrides_makes_a_new_row_visible() -> None:
    assert is_working_day(d("2027-03-01"))  # now cached: no override
    WorkingDayOverride.objects.create(date=d("2027-03-01"), is_workday=False)
    assert is_working_day(d("2027-03-01"))  # the cache still answers
    calendar.forget_overrides([2027])
    assert not is_working_day(d("2027-03-01"))


def test_year_days_lists_every_day_with_its_source() -> None:
    WorkingDayOverride.objects.create(date=d("2026-06-01"), is_workday=False, name="local")
    listed = calendar.year_days(2026)
    assert len(listed) == 365
    assert sum(info.is_workday for info in listed) == 247  # 248 official working days less the override
    assert next(i for i in listed if i.day == d("2026-06-01")).source == DaySource.OVERRIDE
    assert {i.source for i in calendar.year_days(2028)} == {DaySource.PROVISIONAL}


# --- Properties --------------------------------------------------------------------------------------------


@DB_SETTINGS
@given(start=dates, n=counts)
def test_counting_back_what_was_added_gives_n(start: date, n: int) -> None:
    assert working_days_between(start, add_working_days(start, n)) == n


@DB_SETTINGS
@given(start=dates, n=st.integers(min_value=1, max_value=300))
def test_adding_lands_on_a_working_day_after_the_start(start: date, n: int) -> None:
    result = add_working_days(start, n)
    assert result > start
    assert is_working_day(result)


@DB_SETTINGS
@given(a=dates, b=dates, n=counts)
def test_adding_is_monotonic(a: date, b: date, n: int) -> None:
    early, late = min(a, b), max(a, b)
    assert add_working_days(early, n) <= add_working_days(late, n)
    assert add_working_days(early, n) < add_working_days(early, n + 1)


@DB_SETTINGS
@given(a=dates, b=dates, c=dates)
def test_between_is_antisymmetric_and_additive(a: date, b: date, c: date) -> None:
    assert working_days_between(a, b) == -working_days_between(b, a)
    assert working_days_between(a, b) + working_days_between(b, c) == working_days_between(a, c)


@DB_SETTINGS
@given(start=dates)
def test_next_working_day_skips_only_rest_days(start: date) -> None:
    following = next_working_day(start)
    assert is_working_day(following)
    day = start + timedelta(days=1)
    while day < following:
        assert not is_working_day(day)
        day += timedelta(days=1)


@DB_SETTINGS
@given(start=dates, end=dates)
def test_adding_the_count_reaches_the_last_working_day_up_to_end(start: date, end: date) -> None:
    if end < start:
        start, end = end, start
    reached = add_working_days(start, working_days_between(start, end))
    assert reached <= end
    if is_working_day(end) and end > start:
        assert reached == end
    # No working day lies between what was reached and the end.
    assert working_days_between(reached, end) == 0


@DB_SETTINGS
@given(
    moment=st.datetimes(
        min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive by definition
        max_value=datetime(2029, 12, 31),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, SHANGHAI, timezone(timedelta(hours=-8))]),
    ),
    n=counts,
)
def test_a_moment_counts_as_its_shanghai_date(moment: datetime, n: int) -> None:
    local = moment.astimezone(SHANGHAI).date()
    assert add_working_days(moment, n) == add_working_days(local, n)
    deadline = deadline_after(moment, n)
    assert deadline.astimezone(SHANGHAI).date() == add_working_days(local, n)
    assert deadline.astimezone(SHANGHAI).time() == time(23, 59, 59, 999999)


@DB_SETTINGS
@given(
    start=dates,
    n=st.integers(min_value=1, max_value=120),
    overrides=st.dictionaries(dates, st.booleans(), max_size=12),
)
def test_properties_hold_under_any_overrides(start: date, n: int, overrides: dict[date, bool]) -> None:
    with transaction.atomic():
        WorkingDayOverride.objects.bulk_create(
            WorkingDayOverride(date=day, is_workday=work) for day, work in overrides.items()
        )
        calendar.forget_overrides(range(2024, 2031))
        result = add_working_days(start, n)
        assert working_days_between(start, result) == n
        assert is_working_day(result)
        for day, work in overrides.items():
            assert is_working_day(day) is work
        transaction.set_rollback(True)
    calendar.forget_overrides(range(2024, 2031))


@DB_SETTINGS
@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)))
def test_the_fast_path_agrees_with_day_info(day: date) -> None:
    assert is_working_day(day) is calendar.day_info(day).is_workday

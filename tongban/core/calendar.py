"""China's working-day calendar: which days count when a time limit is given in working days.

Time limits of government services are set in working days (工作日) that exclude statutory holidays
and weekends but include the weekend days the State Council turns into make-up working days (调休).
Each day is decided by the first of these rules that knows it (docs/adr/0006-working-day-calendar.md):

1. an administrator's ``WorkingDayOverride`` row for that date (local holidays, corrections, or a
   future year's schedule entered once the State Council publishes it, e.g. with
   ``manage.py calendar_import``);
2. the chinese-calendar package, for the years it has the official schedule of (``official_years()``);
3. a provisional rule for every other year (``is_provisional_year``): Saturdays and Sundays rest, plus
   the statutory holidays whose dates can be computed — 元旦 1 January; 春节 除夕 and 初一 to 初三;
   清明 on the solar term; 劳动节 1–2 May; 端午 5/5 and 中秋 8/15 of the lunar calendar; 国庆 1–3
   October (the 2025 rules of the 全国年节及纪念日放假办法). The extra rest days and 调休 working
   weekends are unknown until published, so pages should warn for those years.

Counting convention (民法典 art. 201: the day a period starts is not counted; 行政许可法 art. 82):
a moment is reduced to its calendar date in Asia/Shanghai, *D*. Day 1 of a time limit is the first
working day after D, whatever the time of day and whether D itself is a working day.
``add_working_days(D, n)`` is the n-th working day after D (a ``date``); the deadline is the end of that
day, ``deadline_after(D, n)``, 23:59:59.999999 Asia/Shanghai. ``working_days_between(a, b)`` counts the
working days in (a, b], so ``working_days_between(D, add_working_days(D, n)) == n``.

Every public function reads the override table at most once per call, through a per-year cache
entry in Django's cache that the override services clear (``forget_overrides``).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from django.core.cache import cache
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from lunar_python import Lunar

from tongban.core.models import WorkingDayOverride

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59, 999999)

# Overrides are cached per year in Django's cache. With REDIS_URL every process sees a change at once;
# with the per-process default cache another process sees it within this many seconds.
OVERRIDE_CACHE_SECONDS = 300
_CACHE_PREFIX = "tongban:calendar:overrides:v1:"

_ONE_DAY = timedelta(days=1)


class DaySource(enum.StrEnum):
    OVERRIDE = "override"
    OFFICIAL = "official"
    PROVISIONAL = "provisional"


class Holiday(enum.StrEnum):
    """The statutory holidays; the values are chinese-calendar's member names."""

    NEW_YEARS_DAY = "new_years_day"
    SPRING_FESTIVAL = "spring_festival"
    TOMB_SWEEPING_DAY = "tomb_sweeping_day"
    LABOUR_DAY = "labour_day"
    DRAGON_BOAT_FESTIVAL = "dragon_boat_festival"
    MID_AUTUMN_FESTIVAL = "mid_autumn_festival"
    NATIONAL_DAY = "national_day"
    SPECIAL = "special"


HOLIDAY_LABELS: dict[str, Promise] = {
    Holiday.NEW_YEARS_DAY: _("New Year's Day"),
    Holiday.SPRING_FESTIVAL: _("Spring Festival"),
    Holiday.TOMB_SWEEPING_DAY: _("Tomb-sweeping Day"),
    Holiday.LABOUR_DAY: _("Labour Day"),
    Holiday.DRAGON_BOAT_FESTIVAL: _("Dragon Boat Festival"),
    Holiday.MID_AUTUMN_FESTIVAL: _("Mid-autumn Festival"),
    Holiday.NATIONAL_DAY: _("National Day"),
    Holiday.SPECIAL: _("Special holiday"),
}


@dataclass(frozen=True)
class DayInfo:
    """What the calendar says about one date and why."""

    day: date
    is_workday: bool
    source: DaySource
    holiday: str = ""  # a ``Holiday`` value when the day is a holiday or a make-up working day for one
    override_name: str = ""

    @property
    def is_weekend(self) -> bool:
        return self.day.weekday() >= 5

    @property
    def is_makeup_workday(self) -> bool:
        """A Saturday or Sunday that is a working day (调休)."""
        return self.is_workday and self.is_weekend

    @property
    def label(self) -> str:
        if self.override_name:
            return self.override_name
        holiday = str(HOLIDAY_LABELS.get(self.holiday, "")) if self.holiday else ""
        if self.is_makeup_workday:
            return str(_("Make-up working day (%(holiday)s)") % {"holiday": holiday}) if holiday else ""
        if self.is_workday:
            return ""
        if holiday:
            return holiday
        return str(_("Weekend")) if self.is_weekend else str(_("Rest day"))


# --- The years the official schedule is known for ---------------------------------------------------


@functools.cache
def official_years() -> range:
    """The years chinese-calendar has the State Council's published schedule for."""
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def is_provisional_year(year: int) -> bool:
    """True when the official schedule of ``year`` is unknown and the provisional rule applies.

    Overrides may still cover such a year completely (an administrator entering the published
    schedule); the page shows how many there are next to the warning.
    """
    return year not in official_years()


_OFFICIAL_HOLIDAY_KEY = {member.value: member.name for member in chinese_calendar.Holiday}
_HOLIDAY_VALUES = frozenset(h.value for h in Holiday)


def _official_key(english_name: str) -> str:
    key = _OFFICIAL_HOLIDAY_KEY.get(english_name, "")
    return key if key in _HOLIDAY_VALUES else Holiday.SPECIAL


def _official(day: date) -> DayInfo:
    if day in chinese_calendar.workdays:
        return DayInfo(day, True, DaySource.OFFICIAL, _official_key(chinese_calendar.workdays[day]))
    if day in chinese_calendar.holidays:
        return DayInfo(day, False, DaySource.OFFICIAL, _official_key(chinese_calendar.holidays[day]))
    return DayInfo(day, day.weekday() < 5, DaySource.OFFICIAL)


# --- The provisional rule ----------------------------------------------------------------------------


def _solar(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


@functools.lru_cache(maxsize=512)
def statutory_holidays(year: int) -> dict[date, Holiday]:
    """The statutory holiday dates of ``year`` under the 2025 rules (13 days), without 调休."""
    days: dict[date, Holiday] = {date(year, 1, 1): Holiday.NEW_YEARS_DAY}
    new_year = _solar(Lunar.fromYmd(year, 1, 1))
    for offset in range(-1, 3):  # 除夕, 初一, 初二, 初三
        days[new_year + timedelta(days=offset)] = Holiday.SPRING_FESTIVAL
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    days[date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = Holiday.TOMB_SWEEPING_DAY
    days[date(year, 5, 1)] = Holiday.LABOUR_DAY
    days[date(year, 5, 2)] = Holiday.LABOUR_DAY
    days[_solar(Lunar.fromYmd(year, 5, 5))] = Holiday.DRAGON_BOAT_FESTIVAL
    # 中秋 may fall on 1–3 October; the day is a holiday either way (counted once).
    days.setdefault(_solar(Lunar.fromYmd(year, 8, 15)), Holiday.MID_AUTUMN_FESTIVAL)
    for day in (1, 2, 3):
        days[date(year, 10, day)] = Holiday.NATIONAL_DAY
    return days


def _provisional(day: date) -> DayInfo:
    holiday = statutory_holidays(day.year).get(day)
    if holiday is not None:
        return DayInfo(day, False, DaySource.PROVISIONAL, holiday)
    return DayInfo(day, day.weekday() < 5, DaySource.PROVISIONAL)


def _base(day: date) -> DayInfo:
    if day.year in official_years():
        return _official(day)
    return _provisional(day)


# --- Overrides ---------------------------------------------------------------------------------------


def _cache_key(year: int) -> str:
    return f"{_CACHE_PREFIX}{year}"


def forget_overrides(years: Iterable[int]) -> None:
    """Drop the cached overrides of ``years``; the override services call this (and on commit)."""
    cache.delete_many([_cache_key(year) for year in set(years)])


class _Overrides:
    """The override rows one calendar call needs: cached per year, fetched with one query on a miss."""

    def __init__(self) -> None:
        self._by_year: dict[int, dict[date, tuple[bool, str]]] = {}

    def load(self, first_year: int, last_year: int) -> None:
        wanted = [y for y in range(first_year, last_year + 1) if y not in self._by_year]
        if not wanted:
            return
        found = cache.get_many([_cache_key(y) for y in wanted])
        missing = []
        for year in wanted:
            value = found.get(_cache_key(year))
            if value is None:
                missing.append(year)
            else:
                self._by_year[year] = value
        if not missing:
            return
        lo, hi = min(missing), max(missing)
        fetched: dict[int, dict[date, tuple[bool, str]]] = {y: {} for y in range(lo, hi + 1)}
        rows = WorkingDayOverride.objects.filter(date__gte=date(lo, 1, 1), date__lte=date(hi, 12, 31))
        for day, is_workday, name in rows.values_list("date", "is_workday", "name"):
            fetched[day.year][day] = (is_workday, name)
        cache.set_many({_cache_key(y): v for y, v in fetched.items()}, OVERRIDE_CACHE_SECONDS)
        self._by_year.update(fetched)

    def get(self, day: date) -> tuple[bool, str] | None:
        if day.year not in self._by_year:
            self.load(day.year, day.year + 1)
        return self._by_year[day.year].get(day)


def _is_workday(day: date, overrides: _Overrides) -> bool:
    """``_info(day, overrides).is_workday`` without building the DayInfo (the counting loops' path)."""
    override = overrides.get(day)
    if override is not None:
        return override[0]
    if day.year in official_years():
        return day in chinese_calendar.workdays or (
            day.weekday() < 5 and day not in chinese_calendar.holidays
        )
    return day.weekday() < 5 and day not in statutory_holidays(day.year)


def _info(day: date, overrides: _Overrides) -> DayInfo:
    override = overrides.get(day)
    base = _base(day)
    if override is not None:
        is_workday, name = override
        return DayInfo(day, is_workday, DaySource.OVERRIDE, base.holiday, name)
    return base


# --- Public API ----------------------------------------------------------------------------------------


def local_date(moment: date | datetime) -> date:
    """The calendar date of ``moment`` in Asia/Shanghai. A datetime must be timezone-aware."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the working-day calendar needs an aware datetime, or a date")
        return moment.astimezone(SHANGHAI).date()
    return moment


def day_info(moment: date | datetime) -> DayInfo:
    return _info(local_date(moment), _Overrides())


def is_working_day(moment: date | datetime) -> bool:
    """Whether the (Asia/Shanghai) date of ``moment`` is a working day."""
    return _is_workday(local_date(moment), _Overrides())


def _days_after(day: date) -> Iterator[date]:
    while True:
        day += _ONE_DAY
        yield day


def add_working_days(moment: date | datetime, n: int) -> date:
    """The n-th working day after the date of ``moment`` (day 1 is the first working day after it).

    ``n == 0`` gives the date itself. ``n`` must not be negative. The result of ``n >= 1`` is always a
    working day; a deadline is the end of that day (``deadline_after``).
    """
    if n < 0:
        raise ValueError("n must be zero or more working days")
    start = local_date(moment)
    if n == 0:
        return start
    overrides = _Overrides()
    # Two calendar days per working day plus a month of holidays is ample; later years load lazily.
    overrides.load(start.year, (start + timedelta(days=2 * n + 31)).year)
    counted = 0
    for day in _days_after(start):
        if _is_workday(day, overrides):
            counted += 1
            if counted == n:
                return day
    raise AssertionError("unreachable")  # pragma: no cover


def deadline_after(moment: date | datetime, n: int) -> datetime:
    """The end (23:59:59.999999, Asia/Shanghai) of ``add_working_days(moment, n)``."""
    return datetime.combine(add_working_days(moment, n), END_OF_DAY, tzinfo=SHANGHAI)


def next_working_day(moment: date | datetime) -> date:
    """The first working day strictly after the date of ``moment``."""
    return add_working_days(moment, 1)


def working_days_between(start: date | datetime, end: date | datetime) -> int:
    """The number of working days in (start, end], by date in Asia/Shanghai.

    Negative when ``end`` is before ``start``: minus the number of working days in (end, start].
    """
    a, b = local_date(start), local_date(end)
    if b < a:
        return -working_days_between(b, a)
    overrides = _Overrides()
    overrides.load(a.year, b.year)
    count = 0
    day = a
    while day < b:
        day += _ONE_DAY
        if _is_workday(day, overrides):
            count += 1
    return count


def year_days(year: int) -> list[DayInfo]:
    """Every day of ``year`` with its status and source (for the administrators' calendar page)."""
    overrides = _Overrides()
    overrides.load(year, year)
    day = date(year, 1, 1)
    days = []
    while day.year == year:
        days.append(_info(day, overrides))
        day += _ONE_DAY
    return days

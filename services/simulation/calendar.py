"""School days in England: weekdays outside bank holidays and the usual term breaks."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


def _easter(year: int) -> date:
    """Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=4)


@lru_cache(maxsize=16)
def _breaks(year: int) -> tuple[tuple[date, date], ...]:
    """Typical term breaks touching calendar ``year`` (local authorities' dates differ by days)."""
    easter = _easter(year)
    last_oct = date(year, 10, 31)
    oct_half = _week_of(last_oct - timedelta(days=(last_oct.weekday() - 0) % 7))
    last_may = date(year, 5, 31)
    may_half = _week_of(last_may - timedelta(days=last_may.weekday()))
    return (
        (date(year, 1, 1), date(year, 1, 3)),
        _week_of(date(year, 2, 17)),
        (easter - timedelta(days=9), easter + timedelta(days=8)),
        may_half,
        (date(year, 7, 22), date(year, 9, 2)),
        oct_half,
        (date(year, 12, 20), date(year, 12, 31)),
    )


@lru_cache(maxsize=4096)
def is_school_day(day: date) -> bool:
    """True when schools in England are normally open."""
    if day.weekday() >= 5 or day in holidays.country_holidays("GB", subdiv="ENG", years=day.year):
        return False
    return not any(start <= day <= end for start, end in _breaks(day.year))


def next_school_day(day: date) -> date:
    """``day`` itself when schools are open, else the next day they are."""
    while not is_school_day(day):
        day += timedelta(days=1)
    return day


def add_school_days(day: date, count: int) -> date:
    """The school day ``count`` school days after ``day`` (``day`` counts as day 0)."""
    day = next_school_day(day)
    for _ in range(count):
        day = next_school_day(day + timedelta(days=1))
    return day


def census_day(year: int) -> date:
    """The autumn school census day: the first Thursday of October."""
    first = date(year, 10, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7)


def school_days_before(day: date, count: int) -> date:
    """The school day ``count`` school days before ``day``."""
    for _ in range(count):
        day -= timedelta(days=1)
        while not is_school_day(day):
            day -= timedelta(days=1)
    return day

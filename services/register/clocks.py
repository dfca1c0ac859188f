"""Statutory clocks counted in school days from a per-authority calendar.

A school day is a weekday inside one of the authority's terms that is neither an English bank
holiday (from the ``holidays`` package) nor an LA-wide closure. Calendars are YAML files named
``<la_code>.yaml`` (see ``calendars/383.yaml``); loading is the only I/O here and is kept apart
from the counting, which is pure.

Counting conventions (each is the reading of the rule it serves):

- ``add_school_days(d, n)``: the n-th school day *after* ``d`` (``d`` itself never counts), for
  "within n school days of" a referral or an entry in the admission register.
- ``nth_school_day(first, n)``: the date of day n of a run that starts on ``first`` (day 1), for
  "day 10 / day 20 of continuous absence".
- ``notice_period_end(served, days)``: calendar days "beginning with the day on which it is
  served" (Education Act 1996 s437(1)): the last day of the period.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays
import yaml

CALENDAR_DIR = Path(__file__).parent / "calendars"

# A school day count never needs to look further than this: guards against a calendar with no
# school days at all looping forever.
_MAX_SCAN_DAYS = 800


class CalendarError(ValueError):
    """A calendar file is missing or wrong, or a date falls where no school days are known."""


class OutsideKnownYears(StrEnum):
    """What a calendar does for dates outside every configured school year."""

    WEEKDAYS = "weekdays"
    ERROR = "error"


@dataclass(frozen=True)
class Term:
    """One block of school days (a half term), inclusive at both ends."""

    name: str
    first_day: dt.date
    last_day: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class SchoolYear:
    """The terms of one school year, with where they came from."""

    label: str
    terms: tuple[Term, ...]
    closures: frozenset[dt.date] = frozenset()
    status: str = "published"
    source: str = ""

    @property
    def first_day(self) -> dt.date:
        return min(t.first_day for t in self.terms)

    @property
    def last_day(self) -> dt.date:
        return max(t.last_day for t in self.terms)


@dataclass(frozen=True)
class SchoolCalendar:
    """The school days of one local authority."""

    la_code: str
    years: tuple[SchoolYear, ...]
    bank_holidays: frozenset[dt.date] = field(default_factory=frozenset)
    outside_known_years: OutsideKnownYears = OutsideKnownYears.WEEKDAYS
    la_name: str = ""
    # (start, n) -> the n-th school day after start: every notification's deadlines ask the same few
    # questions, and the calendar never changes (it is frozen), so each is worked out once.
    _counted: dict[tuple[dt.date, int], dt.date] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False, hash=False)

    def _year_for(self, day: dt.date) -> SchoolYear | None:
        # A school year runs from 1 September to 31 August, whatever its first term day.
        start = day.year if day.month >= 9 else day.year - 1
        for year in self.years:
            if year.first_day.year == start:
                return year
        return None

    def is_known(self, day: dt.date) -> bool:
        """True when term dates are configured for the school year that holds ``day``."""
        return self._year_for(day) is not None

    def is_school_day(self, day: dt.date) -> bool:
        """True when pupils are expected in school on ``day``."""
        if day.weekday() >= 5 or day in self.bank_holidays:
            return False
        year = self._year_for(day)
        if year is None:
            if self.outside_known_years is OutsideKnownYears.ERROR:
                raise CalendarError(
                    f"no term dates for LA {self.la_code} in the school year holding {day.isoformat()}: "
                    f"add that year to calendars/{self.la_code}.yaml"
                )
            return True
        if day in year.closures:
            return False
        return any(day in term for term in year.terms)

    def add_school_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th school day after ``start`` (``start`` itself is never counted)."""
        if n < 0:
            raise ValueError(f"cannot count {n} school days forward")
        known = self._counted.get((start, n))
        if known is not None:
            return known
        day, counted = start, 0
        for _ in range(_MAX_SCAN_DAYS):
            if counted == n:
                break
            day += dt.timedelta(days=1)
            if self.is_school_day(day):
                counted += 1
        if counted == n:
            self._counted[(start, n)] = day
            return day
        raise CalendarError(f"fewer than {n} school days after {start.isoformat()} in LA {self.la_code}")

    def next_school_day(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a school day, else the first school day after it."""
        return day if self.is_school_day(day) else self.add_school_days(day, 1)

    def nth_school_day(self, first: dt.date, n: int) -> dt.date:
        """Day ``n`` of a run of school days whose day 1 is ``first`` (or the next school day)."""
        if n < 1:
            raise ValueError(f"school day numbers start at 1, not {n}")
        return self.add_school_days(self.next_school_day(first), n - 1)

    def school_days_between(self, start: dt.date, end: dt.date) -> int:
        """School days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_school_day(day):
                count += 1
        return count

    def term_name(self, day: dt.date) -> str | None:
        """The name of the term holding ``day``, or None in a holiday or unknown year."""
        year = self._year_for(day)
        if year is None:
            return None
        return next((t.name for t in year.terms if day in t), None)


def notice_period_end(served: dt.date, days: int) -> dt.date:
    """Last day of a period of ``days`` calendar days beginning with the day of service."""
    if days < 1:
        raise ValueError(f"a notice period must be at least one day, not {days}")
    return served + dt.timedelta(days=days - 1)


# -- The clocks the register runs, with their defaults. ---------------------------------------------


@dataclass(frozen=True)
class ClockPolicy:
    """How long each statutory or local step may take (school days unless the name says otherwise)."""

    home_visit_school_days: int = 5
    joint_enquiry_start_day: int = 10
    joint_enquiry_end_day: int = 20
    new_pupil_return_school_days: int = 5
    ctf_transfer_school_days: int = 15
    s437_notice_calendar_days: int = 15
    follow_up_interval_school_days: int = 20
    address_check_school_days: int = 5
    enquiry_response_school_days: int = 5
    lost_pupil_ctf_school_days: int = 1


@dataclass(frozen=True)
class JointEnquiryWindow:
    """Joint school/LA enquiries run from day 10 to day 20 of continuous absence."""

    opens_on: dt.date
    closes_on: dt.date


def home_visit_due(calendar: SchoolCalendar, referred_on: dt.date, policy: ClockPolicy) -> dt.date:
    """A home visit is due within 5 school days of the referral."""
    return calendar.add_school_days(referred_on, policy.home_visit_school_days)


def joint_enquiry_window(
    calendar: SchoolCalendar, first_day_absent: dt.date, policy: ClockPolicy
) -> JointEnquiryWindow:
    """Day 10 to day 20 of continuous absence, counted from the first day absent (day 1)."""
    return JointEnquiryWindow(
        opens_on=calendar.nth_school_day(first_day_absent, policy.joint_enquiry_start_day),
        closes_on=calendar.nth_school_day(first_day_absent, policy.joint_enquiry_end_day),
    )


def first_day_absent_from_referral(calendar: SchoolCalendar, referred_on: dt.date, day: int = 10) -> dt.date:
    """When a referral only says 'day 10', the first day absent is 9 school days earlier."""
    first = calendar.next_school_day(referred_on)
    for _ in range(day - 1):
        first -= dt.timedelta(days=1)
        while not calendar.is_school_day(first):
            first -= dt.timedelta(days=1)
    return first


def new_pupil_return_due(calendar: SchoolCalendar, entered_on: dt.date, policy: ClockPolicy) -> dt.date:
    """A new-pupil return is due by the end of the 5th school day after the admission-register entry."""
    return calendar.add_school_days(entered_on, policy.new_pupil_return_school_days)


def ctf_transfer_due(calendar: SchoolCalendar, left_on: dt.date, policy: ClockPolicy) -> dt.date:
    """The CTF must reach the next school within 15 school days of the pupil leaving."""
    return calendar.add_school_days(left_on, policy.ctf_transfer_school_days)


def follow_up_due(calendar: SchoolCalendar, last_check: dt.date, policy: ClockPolicy) -> dt.date:
    """The next periodic re-check of a child not yet in provision."""
    return calendar.add_school_days(last_check, policy.follow_up_interval_school_days)


# -- Loading calendars (the one place with I/O). ------------------------------------------------------


def english_bank_holidays(years: Iterable[int]) -> frozenset[dt.date]:
    """Bank holidays in England for the given calendar years."""
    return _bank_holidays(tuple(sorted(set(years))))


@lru_cache(maxsize=32)
def _bank_holidays(years: tuple[int, ...]) -> frozenset[dt.date]:
    # Building them costs about 9 ms (the holidays package computes every year's rules afresh).
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=list(years)).keys())


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise CalendarError(f"{where}: {value!r} is not a date (use YYYY-MM-DD)") from exc


def calendar_from_mapping(data: dict[str, Any], where: str = "calendar") -> SchoolCalendar:
    """Build a calendar from the parsed YAML shape; errors name the file and the entry."""
    try:
        la_code = str(data["la_code"])
        raw_years = data["years"]
    except (KeyError, TypeError) as exc:
        raise CalendarError(f"{where}: needs `la_code` and `years`") from exc
    years: list[SchoolYear] = []
    for label, raw in raw_years.items():
        terms = []
        for i, t in enumerate(raw.get("terms") or []):
            first = _date(t.get("first_day"), f"{where} {label} term {i + 1} first_day")
            last = _date(t.get("last_day"), f"{where} {label} term {i + 1} last_day")
            if last < first:
                raise CalendarError(f"{where} {label} term {i + 1}: last_day {last} is before first_day {first}")
            terms.append(Term(str(t.get("name", f"term {i + 1}")), first, last))
        if not terms:
            raise CalendarError(f"{where} {label}: no terms")
        closures = frozenset(_date(c, f"{where} {label} closures") for c in raw.get("closures") or [])
        years.append(
            SchoolYear(str(label), tuple(sorted(terms, key=lambda t: t.first_day)), closures,
                       str(raw.get("status", "published")), str(raw.get("source", "")).strip())
        )
    span = {y for sy in years for y in (sy.first_day.year, sy.last_day.year)}
    span |= {min(span) - 1, max(span) + 1, *range(min(span) - 3, max(span) + 6)}
    try:
        outside = OutsideKnownYears(str(data.get("outside_known_years", "weekdays")))
    except ValueError as exc:
        raise CalendarError(f"{where}: outside_known_years must be 'weekdays' or 'error'") from exc
    return SchoolCalendar(
        la_code=la_code,
        la_name=str(data.get("la_name", "")),
        years=tuple(sorted(years, key=lambda y: y.first_day)),
        bank_holidays=english_bank_holidays(span),
        outside_known_years=outside,
    )


def calendar_dir() -> Path:
    """Where calendars are read from: ``CMEHUB_REGISTER_CALENDAR_DIR`` or the shipped folder."""
    override = os.environ.get("CMEHUB_REGISTER_CALENDAR_DIR")
    return Path(override) if override else CALENDAR_DIR


@lru_cache(maxsize=16)
def load_calendar(la_code: str, directory: Path | None = None) -> SchoolCalendar:
    """The calendar of one authority, from ``<directory>/<la_code>.yaml``."""
    path = (directory or calendar_dir()) / f"{la_code}.yaml"
    if not path.exists():
        raise CalendarError(f"no school calendar for LA {la_code}: expected {path}")
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return calendar_from_mapping(data, where=str(path.name))

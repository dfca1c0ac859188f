"""National offer days and September start dates (School Admissions Code: 1 March secondary, 16 April primary)."""

from __future__ import annotations

import datetime as dt

from services.register.clocks import SchoolCalendar, english_bank_holidays


def _working_day_on_or_after(day: dt.date) -> dt.date:
    holidays = english_bank_holidays([day.year])
    while day.weekday() >= 5 or day in holidays:
        day += dt.timedelta(days=1)
    return day


def national_offer_day(round_name: str, entry_year: int) -> dt.date:
    """Offer day of a normal-round entry in September ``entry_year``: secondary 1 March, Reception 16 April
    (the next working day when it falls on a weekend or bank holiday)."""
    if round_name in ("secondary", "year7", "national_offer_day_secondary"):
        return _working_day_on_or_after(dt.date(entry_year, 3, 1))
    if round_name in ("reception", "primary", "national_offer_day_reception"):
        return _working_day_on_or_after(dt.date(entry_year, 4, 16))
    raise ValueError(f"round {round_name!r}: the national offer days are for 'reception' and 'secondary'")


def september_start(calendar: SchoolCalendar, entry_year: int) -> dt.date:
    """The first school day of the school year starting in September ``entry_year`` (the expected start)."""
    return calendar.next_school_day(dt.date(entry_year, 9, 1))

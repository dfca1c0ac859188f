"""National curriculum year groups from dates of birth (England: the school year starts 1 September)."""

from __future__ import annotations

import datetime as dt


def academic_year_start(on: dt.date) -> int:
    """The calendar year in which the school year containing ``on`` began."""
    return on.year if on.month >= 9 else on.year - 1


def year_group_for(dob: dt.date, on: dt.date) -> str | None:
    """``R``, ``Y1`` … ``Y13`` for a child born on ``dob`` in the school year of ``on`` (None outside R–Y13)."""
    start = academic_year_start(on)
    age_on_31_august = start - dob.year - (1 if (dob.month, dob.day) > (8, 31) else 0)
    year = age_on_31_august - 4
    if year == 0:
        return "R"
    return f"Y{year}" if 1 <= year <= 13 else None


def age_on(dob: dt.date, on: dt.date) -> int:
    """Age in whole years on a date."""
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def phase_of(year_group: str) -> str:
    """``primary`` for R–Y6, ``secondary`` for Y7–Y13."""
    return "primary" if year_group == "R" or int(year_group[1:]) <= 6 else "secondary"

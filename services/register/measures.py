"""The measures the DfE checklist asks an authority to monitor, and the pure arithmetic behind them.

``views.dashboard`` fills ``Measures`` with set-based SQL; this module holds the shapes and the
calculations that need no database (periods, time-missing bands, pace from a histogram).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Period:
    """Inclusive date range."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")


def school_year_of(day: dt.date) -> Period:
    """The school year (1 September to 31 August) holding ``day``."""
    start = day.year if day.month >= 9 else day.year - 1
    return Period(dt.date(start, 9, 1), dt.date(start + 1, 8, 31))


def previous_school_year(day: dt.date) -> Period:
    this = school_year_of(day)
    return Period(this.start.replace(year=this.start.year - 1), this.end.replace(year=this.end.year - 1))


@dataclass(frozen=True)
class Band:
    """A time-missing band: at least ``min_days`` and fewer than ``max_days`` (None: no upper bound)."""

    label: str
    min_days: int
    max_days: int | None


# The DfE collection's band definitions were not available (DOMAIN.md); these are an assumption,
# kept here as data so an authority can align them with the collection guide.
TIME_MISSING_BANDS: tuple[Band, ...] = (
    Band("less than 4 weeks", 0, 28),
    Band("4 weeks to less than 3 months", 28, 91),
    Band("3 months to less than 6 months", 91, 182),
    Band("6 months to less than 1 year", 182, 365),
    Band("1 year or more", 365, None),
)


def band_for(days: int, bands: Sequence[Band] = TIME_MISSING_BANDS) -> str:
    """The label of the band holding ``days``."""
    for band in bands:
        if days >= band.min_days and (band.max_days is None or days < band.max_days):
            return band.label
    raise ValueError(f"{days} days fits no time-missing band")


@dataclass(frozen=True)
class Pace:
    """Days from referral to provision over the cases that reached provision in a period."""

    cases: int
    median_days: float | None
    mean_days: float | None
    within_20_days: int


def pace_from_histogram(histogram: Mapping[int, int]) -> Pace:
    """Median and mean from a {days: number of cases} histogram (what the SQL returns)."""
    total = sum(histogram.values())
    if total == 0:
        return Pace(0, None, None, 0)
    ordered = sorted(histogram.items())
    mean = sum(d * n for d, n in ordered) / total

    def nth(k: int) -> int:
        seen = 0
        for days, n in ordered:
            seen += n
            if seen > k:
                return days
        return ordered[-1][0]

    median = (nth((total - 1) // 2) + nth(total // 2)) / 2
    return Pace(total, median, round(mean, 1), sum(n for d, n in ordered if d <= 20))


@dataclass
class Measures:
    """The dashboard: CME now and in a period, by reason and risk, pace, unknown whereabouts, overdue work."""

    as_of: dt.date
    period: Period
    cme_now: int = 0
    cme_any_point: int = 0
    referred_in_period: int = 0
    new_to_area: int = 0
    new_to_country: int = 0
    whereabouts_unknown: int = 0
    overdue_tasks: int = 0
    overdue_follow_ups: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)
    closures_by_reason: dict[str, int] = field(default_factory=dict)
    pace: Pace = field(default_factory=lambda: Pace(0, None, None, 0))

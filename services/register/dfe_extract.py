"""The DfE children missing education collection: census-day and any-point counts, as CSV.

Counts children (not episodes): a child with two episodes open on census day counts once. The
breakdowns follow the published collection (DOMAIN.md §6: sex, year group, time missing, primary
reason); the code lists of the DfE guide were not available, so reasons and bands use the labels
below, which an authority maps to the guide's codes before submitting.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.register.measures import TIME_MISSING_BANDS, Band, Period, band_for, previous_school_year, school_year_of
from services.register.model import DfeReason
from services.register.orm import CaseRow, ChildRow, IdentityRow
from services.register.views import cme_during, cme_on

REASON_LABELS: dict[str, str] = {
    DfeReason.AWAITING_SCHOOL_PLACE: "Awaiting a school place",
    DfeReason.OFFERED_PLACE_NOT_STARTED: "Offered a place, not yet started",
    DfeReason.UNSUITABLE_EHE: "Elective home education found unsuitable",
    DfeReason.WHEREABOUTS_UNKNOWN: "Whereabouts unknown",
    DfeReason.NEW_ARRIVAL: "New arrival to England",
    DfeReason.PERMANENTLY_EXCLUDED: "Permanently excluded, no provision",
    DfeReason.LEFT_CUSTODY: "Left custody, no provision",
    DfeReason.MISSING_EPISODE: "Reported missing",
    DfeReason.OTHER: "Other",
}
FIELDS = ("la_code", "census_date", "measure", "breakdown", "value")


@dataclass(frozen=True)
class ExtractRow:
    measure: str
    breakdown: str
    value: int


@dataclass
class DfeExtract:
    la_code: str
    census_date: dt.date
    rows: list[ExtractRow]

    def value(self, measure: str, breakdown: str = "total") -> int:
        return next((r.value for r in self.rows if r.measure == measure and r.breakdown == breakdown), 0)

    def write_csv(self, out: TextIO) -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in self.rows:
            writer.writerow((self.la_code, self.census_date.isoformat(), row.measure, row.breakdown, row.value))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            self.write_csv(fh)


def national_curriculum_year(dob: dt.date, on: dt.date) -> str:
    """Year group on ``on`` for a child born on ``dob`` (R for reception; 'not known' before/after 0-11)."""
    cohort = dob.year if dob.month >= 9 else dob.year - 1
    year = school_year_of(on).start.year - (cohort + 5)
    if year == 0:
        return "R"
    return f"Y{year}" if 1 <= year <= 11 else "outside Y0-Y11"


def _current_identities(session: Session, child_ids: list[str]) -> dict[str, tuple[dt.date | None, str]]:
    """Each child's latest date of birth and sex."""
    out: dict[str, tuple[dt.date | None, str]] = {}
    for start in range(0, len(child_ids), 5000):
        chunk = child_ids[start : start + 5000]
        latest = (
            sa.select(IdentityRow.child_id, sa.func.max(IdentityRow.seq).label("seq"))
            .where(IdentityRow.child_id.in_(chunk))
            .group_by(IdentityRow.child_id)
            .subquery()
        )
        q = sa.select(IdentityRow.child_id, IdentityRow.date_of_birth, IdentityRow.sex).join(
            latest, sa.and_(IdentityRow.child_id == latest.c.child_id, IdentityRow.seq == latest.c.seq)
        )
        out.update({cid: (dob, sex) for cid, dob, sex in session.execute(q)})
    return out


def _counter_rows(measure: str, counts: Counter[str], labels: Iterable[str] = ()) -> list[ExtractRow]:
    keys = list(dict.fromkeys([*labels, *sorted(counts)]))
    return [ExtractRow(measure, k, counts.get(k, 0)) for k in keys]


def build_extract(
    session: Session,
    census_date: dt.date,
    la_code: str,
    bands: tuple[Band, ...] = TIME_MISSING_BANDS,
) -> DfeExtract:
    """The collection for ``census_date``: census-day counts with breakdowns, and any-point counts."""
    scope = CaseRow.child_id.in_(sa.select(ChildRow.id).where(ChildRow.la_code == la_code))
    on_day = session.execute(
        sa.select(CaseRow.child_id, CaseRow.referred_on, CaseRow.dfe_reason)
        .where(cme_on(census_date), scope)
        .order_by(CaseRow.child_id, CaseRow.referred_on)
    ).all()
    # One row per child: the earliest referral of the episodes open on census day.
    per_child: dict[str, tuple[dt.date, str]] = {}
    for child_id, referred_on, reason in on_day:
        per_child.setdefault(child_id, (referred_on, reason))
    people = _current_identities(session, list(per_child))
    sex, year, band, reason_counts = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for child_id, (referred_on, reason) in per_child.items():
        dob, child_sex = people.get(child_id, (None, "U"))
        sex[{"M": "male", "F": "female"}.get(child_sex, "not known")] += 1
        year[national_curriculum_year(dob, census_date) if dob else "not known"] += 1
        band[band_for((census_date - referred_on).days, bands)] += 1
        reason_counts[REASON_LABELS.get(reason, reason)] += 1
    rows = [ExtractRow("cme_on_census_date", "total", len(per_child))]
    rows += _counter_rows("cme_on_census_date_by_sex", sex, ("female", "male", "not known"))
    rows += _counter_rows("cme_on_census_date_by_year_group", year, ("R", *(f"Y{i}" for i in range(1, 12))))
    rows += _counter_rows("cme_on_census_date_by_time_missing", band, (b.label for b in bands))
    rows += _counter_rows("cme_on_census_date_by_primary_reason", reason_counts, REASON_LABELS.values())
    for name, period in (("cme_any_point_previous_school_year", previous_school_year(census_date)),
                         ("cme_any_point_this_school_year_to_date",
                          Period(school_year_of(census_date).start, census_date))):
        count = session.scalar(
            sa.select(sa.func.count(sa.distinct(CaseRow.child_id))).where(cme_during(period), scope)
        )
        rows.append(ExtractRow(name, "total", int(count or 0)))
    return DfeExtract(la_code, census_date, rows)

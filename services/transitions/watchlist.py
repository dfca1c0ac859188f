"""Prevention: an at-risk watch list of children on roll, ranked, with the reasons shown.

A child on a school roll with no open CME case appears when risk indicators add up: flags the
register holds (looked after, EHCP, an earlier CME episode and its risk flags) and partner signals
of the last year (police welfare concerns and missing episodes, Operation Encompass notices, 10-day
absence referrals, repeated moves, a child at the same address already missing education). Weights
are a plain, documented scoring an officer can read, not a model: each reason shows its points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from services.register.model import CME_STATUSES, OPEN_STATUSES
from services.register.orm import AddressRow, CaseRow, ChildRow, NotificationRow, RiskFlagRow
from services.register.orm_places import WatchlistReviewRow
from services.register.unit_of_work import UnitOfWorkFactory

# Points per indicator (reviewed with the CME team; change here and the reasons follow).
SIGNAL_POINTS = {
    "police.missing_episode": (4, "police missing episode"),
    "police.welfare_concern": (3, "police welfare concern"),
    "police.encompass": (2, "Operation Encompass notice"),
    "school.absence_referral": (4, "10-day continuous absence referral"),
}
LOOKED_AFTER, EHCP, EARLIER_EPISODE, EARLIER_FLAG, REPEATED_MOVES, FAMILY_MISSING = 3, 1, 3, 1, 3, 5
MAX_REPEATS = 3  # the same signal counts at most this many times


@dataclass
class WatchEntry:
    """One child on the watch list: score, reasons (strongest first) and the latest review."""

    child_id: str
    current_school: str | None
    score: int = 0
    reasons: list[tuple[int, str]] = field(default_factory=list)
    last_reviewed_on: dt.date | None = None
    last_review_outcome: str | None = None

    def add(self, points: int, reason: str) -> None:
        self.score += points
        self.reasons.append((points, reason))

    @property
    def reason(self) -> str:
        """The reasons in words, strongest first, e.g. ``police welfare concern x2 (+6); looked after (+3)``."""
        return "; ".join(f"{text} (+{points})" for points, text in sorted(self.reasons, key=lambda r: (-r[0], r[1])))

    def to_dict(self) -> dict[str, Any]:
        return {"child_id": self.child_id, "current_school": self.current_school, "score": self.score,
                "reason": self.reason, "last_reviewed_on": self.last_reviewed_on,
                "last_review_outcome": self.last_review_outcome}


def _key(postcode: str | None, lines: Any) -> tuple[str, str] | None:
    first = (lines[0] if isinstance(lines, list) and lines else "") or ""
    if not postcode or not first:
        return None
    return postcode.upper().replace(" ", ""), " ".join(str(first).casefold().split())


def watch_list(
    uows: UnitOfWorkFactory, la: str, today: dt.date, *, min_score: int = 3, limit: int | None = None
) -> list[WatchEntry]:
    """Children on roll at risk of missing education, highest score first (ties: child id)."""
    since = dt.datetime.combine(today - dt.timedelta(days=365), dt.time(), tzinfo=dt.UTC)
    open_statuses = [s.value for s in OPEN_STATUSES]
    with uows() as uow:
        s = uow.session
        assert s is not None
        open_case = sa.exists().where(CaseRow.child_id == ChildRow.id, CaseRow.status.in_(open_statuses))
        on_roll = (ChildRow.la_code == la, ChildRow.current_school.is_not(None), ~open_case)
        # A sub-select, not a list of ids: an authority has far more children on roll than bind parameters.
        ids = sa.select(ChildRow.id).where(*on_roll).scalar_subquery()
        entries: dict[str, WatchEntry] = {}
        for cid, school, lac, ehcp in s.execute(
                sa.select(ChildRow.id, ChildRow.current_school, ChildRow.ever_looked_after, ChildRow.ever_ehcp)
                .where(*on_roll)):
            entry = entries[cid] = WatchEntry(cid, school)
            if lac:
                entry.add(LOOKED_AFTER, "looked after (now or before)")
            if ehcp:
                entry.add(EHCP, "EHCP")
        signals = s.execute(
            sa.select(NotificationRow.child_id, NotificationRow.event_type, sa.func.count())
            .where(NotificationRow.child_id.in_(ids), NotificationRow.event_type.in_(list(SIGNAL_POINTS)),
                   NotificationRow.occurred_at >= since)
            .group_by(NotificationRow.child_id, NotificationRow.event_type))
        for signal_child, event_type, n in signals:
            points, text = SIGNAL_POINTS[event_type]
            times = min(int(n), MAX_REPEATS)
            entries[str(signal_child)].add(points * times, text + (f" x{n}" if n > 1 else ""))
        earlier = s.execute(sa.select(CaseRow.child_id, sa.func.count()).where(
            CaseRow.child_id.in_(ids)).group_by(CaseRow.child_id))
        for cid, n in earlier:
            entries[cid].add(EARLIER_EPISODE, f"earlier CME episode{'s' if n > 1 else ''} ({n})")
        flags = s.execute(sa.select(CaseRow.child_id, RiskFlagRow.flag).distinct()
                          .join(RiskFlagRow, RiskFlagRow.case_id == CaseRow.id)
                          .where(CaseRow.child_id.in_(ids)))
        for cid, flag in flags:
            if flag not in ("looked_after", "send_ehcp"):  # counted above from the child's own record
                entries[cid].add(EARLIER_FLAG, f"risk flag from an earlier episode: {flag.replace('_', ' ')}")
        start = sa.func.coalesce(AddressRow.valid_from, AddressRow.recorded_on)
        moves = s.execute(sa.select(AddressRow.child_id, sa.func.count()).where(
            AddressRow.child_id.in_(ids), start >= since.date()).group_by(AddressRow.child_id))
        for cid, n in moves:
            if n >= 2:
                entries[cid].add(REPEATED_MOVES, f"{n} new addresses in a year")
        # Family already missing: a child with an open CME case whose current address is this child's.
        cme = [st.value for st in CME_STATUSES]
        missing_homes = {
            key for pc, lines in s.execute(
                sa.select(AddressRow.postcode, AddressRow.lines).join(CaseRow, CaseRow.child_id == AddressRow.child_id)
                .where(CaseRow.status.in_(cme), AddressRow.valid_to.is_(None)))
            if (key := _key(pc, lines)) is not None
        }
        if missing_homes:
            for cid, pc, lines in s.execute(sa.select(AddressRow.child_id, AddressRow.postcode, AddressRow.lines)
                                            .where(AddressRow.child_id.in_(ids),
                                                   AddressRow.valid_to.is_(None))):
                if _key(pc, lines) in missing_homes and not any(t.startswith("a child at the same address")
                                                                for _, t in entries[cid].reasons):
                    entries[cid].add(FAMILY_MISSING, "a child at the same address is missing education")
        reviews = s.execute(sa.select(WatchlistReviewRow.child_id, WatchlistReviewRow.reviewed_on,
                                      WatchlistReviewRow.outcome)
                            .where(WatchlistReviewRow.child_id.in_(ids))
                            .order_by(WatchlistReviewRow.reviewed_on, WatchlistReviewRow.id))
        for cid, on, outcome in reviews:
            entries[cid].last_reviewed_on, entries[cid].last_review_outcome = on, outcome
    ranked = sorted((e for e in entries.values() if e.score >= min_score), key=lambda e: (-e.score, e.child_id))
    return ranked[:limit] if limit is not None else ranked


def record_review(
    uows: UnitOfWorkFactory, child_id: str, *, reviewer: str, outcome: str, on: dt.date, note: str = ""
) -> None:
    """An officer reviewed a child on the watch list (outcome e.g. 'no_action', 'school_contacted', 'referred')."""
    with uows() as uow:
        s = uow.session
        assert s is not None
        s.add(WatchlistReviewRow(child_id=child_id, reviewed_on=on, reviewer=reviewer, outcome=outcome, note=note))
        s.commit()


def watch_list_counts(entries: list[WatchEntry]) -> dict[str, int]:
    """Dashboard figures: on the list, reviewed, never reviewed."""
    reviewed = sum(1 for e in entries if e.last_reviewed_on is not None)
    return {"on_watch_list": len(entries), "reviewed": reviewed, "not_reviewed": len(entries) - reviewed}

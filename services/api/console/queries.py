"""Read-side queries of the console pages: a few set-based statements each, fast on 100,000 children."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.api.store import EnquiryRecordRow
from services.matching.store import MatchDecisionRow, ReviewItemRow
from services.register.model import OPEN_STATUSES, RISK_BITS, RiskFlag, TaskState
from services.register.orm import CaseRow, ChildRow, EnquiryRow, IdentityRow, NotificationRow, TaskRow

PAGE_SIZE = 50
COUNT_LIMIT = 10_000  # the caseload counts matching cases up to this many, then says "more than"


@dataclass(frozen=True)
class CaseloadFilter:
    """The caseload's filters; empty means any."""

    status: str = "open"  # "open", "all" or one CaseStatus value
    risk: str = ""  # a RiskFlag value
    school: str = ""  # a LAESTAB: the school the child was last on roll at before the episode
    overdue: bool = False
    offset: int = 0


@dataclass(frozen=True)
class CaseloadRow:
    case_id: str
    child_id: str
    given_name: str | None
    surname: str | None
    date_of_birth: dt.date | None
    status: str
    dfe_reason: str
    referred_on: dt.date
    school: str | None
    risk_flags: tuple[str, ...]
    overdue_tasks: int
    next_due: dt.date | None
    restricted: bool


@dataclass
class Caseload:
    rows: list[CaseloadRow]
    total: int
    offset: int
    schools: list[str] = field(default_factory=list)


def _overdue(today: dt.date) -> sa.ColumnElement[bool]:
    return sa.and_(TaskRow.state == TaskState.OPEN.value, TaskRow.due_on < today)


def caseload(session: Session, f: CaseloadFilter, today: dt.date, la_code: str | None) -> Caseload:
    """One page of cases, newest referral first, with names, overdue counts and the next due date.

    ``la_code`` limits the list to that authority's children (a register shared by several); None
    reads every episode. The total is counted up to COUNT_LIMIT so a filter matching most of a large
    register costs no more than a page.
    """
    where: list[sa.ColumnElement[bool]] = []
    if la_code is not None:
        where.append(CaseRow.child_id.in_(sa.select(ChildRow.id).where(ChildRow.la_code == la_code)))
    if f.status == "open":
        where.append(CaseRow.status.in_([s.value for s in OPEN_STATUSES]))
    elif f.status != "all":
        where.append(CaseRow.status == f.status)
    if f.risk in {r.value for r in RiskFlag}:
        where.append(CaseRow.risk_mask.op("&")(RISK_BITS[RiskFlag(f.risk)]) != 0)
    if f.school:
        where.append(CaseRow.last_school == f.school)
    if f.overdue:
        where.append(sa.exists(sa.select(TaskRow.id).where(TaskRow.case_id == CaseRow.id, _overdue(today))))
    capped = sa.select(sa.literal(1)).select_from(CaseRow).where(*where).limit(COUNT_LIMIT + 1).subquery()
    total = int(session.scalar(sa.select(sa.func.count()).select_from(capped)) or 0)
    heads = session.execute(
        sa.select(CaseRow.id, CaseRow.child_id, CaseRow.status, CaseRow.dfe_reason, CaseRow.referred_on,
                  CaseRow.last_school, CaseRow.risk_mask)
        .where(*where).order_by(CaseRow.referred_on.desc(), CaseRow.id).offset(f.offset).limit(PAGE_SIZE)
    ).all()
    case_ids = [h[0] for h in heads]
    child_ids = [h[1] for h in heads]
    names = current_names(session, child_ids)
    children = {cid: (school, bool(restricted)) for cid, school, restricted in session.execute(
        sa.select(ChildRow.id, ChildRow.current_school, ChildRow.restricted).where(ChildRow.id.in_(child_ids)))
    } if child_ids else {}
    tasks: dict[str, tuple[int, dt.date | None]] = {}
    if case_ids:
        for task_case, late, earliest in session.execute(
            sa.select(TaskRow.case_id, sa.func.count().filter(TaskRow.due_on < today), sa.func.min(TaskRow.due_on))
            .where(TaskRow.case_id.in_(case_ids), TaskRow.state == TaskState.OPEN.value).group_by(TaskRow.case_id)
        ):
            tasks[task_case] = (int(late), earliest)
    rows = []
    for case_id, child_id, status, reason, referred, last_school, mask in heads:
        given, surname, dob = names.get(child_id, (None, None, None))
        overdue, next_due = tasks.get(case_id, (0, None))
        current_school, restricted = children.get(child_id, (None, False))
        flags = tuple(flag.value for flag, bit in RISK_BITS.items() if (mask or 0) & bit)
        rows.append(CaseloadRow(case_id, child_id, given, surname, dob, status, reason, referred,
                                last_school or current_school, flags, overdue, next_due, restricted))
    return Caseload(rows, total, f.offset)


def other_authorities(session: Session, la_code: str) -> bool:
    """Whether the register holds children of authorities other than ``la_code`` (a shared hub)."""
    return session.scalar(sa.select(sa.exists().where(ChildRow.la_code != la_code))) is True


def current_names(session: Session, child_ids: list[str]) -> dict[str, tuple[str | None, str | None, dt.date | None]]:
    """Each child's latest recorded given name, surname and date of birth."""
    out: dict[str, tuple[str | None, str | None, dt.date | None]] = {}
    if not child_ids:
        return out
    for child_id, given, surname, dob in session.execute(
        sa.select(IdentityRow.child_id, IdentityRow.given_name, IdentityRow.surname, IdentityRow.date_of_birth)
        .where(IdentityRow.child_id.in_(child_ids)).order_by(IdentityRow.child_id, IdentityRow.seq)
    ):
        out[child_id] = (given, surname, dob)  # later rows (higher seq) win
    return out


def schools(session: Session, la_code: str, limit: int = 500) -> list[str]:
    """Schools named on open cases (the caseload's school filter)."""
    q = (sa.select(CaseRow.last_school).where(CaseRow.last_school.is_not(None),
                                              CaseRow.status.in_([s.value for s in OPEN_STATUSES]))
         .group_by(CaseRow.last_school).order_by(CaseRow.last_school).limit(limit))
    return [s for s in session.scalars(q) if s]


def month_ends(today: dt.date, months: int) -> list[dt.date]:
    """The last day of each of the ``months`` months up to today's (today itself for this month)."""
    out = [today]
    first = today.replace(day=1)
    for _ in range(months - 1):
        end = first - dt.timedelta(days=1)
        out.append(end)
        first = end.replace(day=1)
    return list(reversed(out))


def cme_over_time(session: Session, today: dt.date, months: int = 12) -> list[tuple[dt.date, int]]:
    """Children missing education at each month end (today for this month), in one statement.

    CME at the first month end, then the referrals and the ends of CME since, by day: three
    index-only scans of the window's episodes rather than a pass over every episode per month.
    """
    ends = month_ends(today, months)
    first = ends[0]
    at_first = _window_count(first)
    referred = (sa.select(sa.literal("in"), CaseRow.referred_on, sa.func.count())
                .where(CaseRow.referred_on > first, CaseRow.referred_on <= today).group_by(CaseRow.referred_on))
    ended = (sa.select(sa.literal("out"), CaseRow.cme_ended_on, sa.func.count())
             .where(CaseRow.cme_ended_on > first, CaseRow.cme_ended_on <= today).group_by(CaseRow.cme_ended_on))
    base = sa.select(sa.literal("base"), sa.literal(first, sa.Date), sa.select(sa.func.count()).select_from(
        at_first).scalar_subquery())
    changes: list[tuple[str, dt.date, int]] = [(str(k), d, int(n)) for k, d, n in session.execute(
        sa.union_all(base, referred, ended))]
    start = next(n for k, _, n in changes if k == "base")
    out = []
    for end in ends:
        arrived = sum(n for k, d, n in changes if k == "in" and d <= end)
        left = sum(n for k, d, n in changes if k == "out" and d <= end)
        out.append((end, start + arrived - left))
    return out


def _window_count(day: dt.date) -> sa.Subquery:
    """Episodes CME on ``day``: open ones and ones ending later, as two index-only branches."""
    still_open = sa.select(sa.literal(1)).where(CaseRow.cme_ended_on.is_(None), CaseRow.referred_on <= day)
    ended_later = sa.select(sa.literal(1)).where(CaseRow.cme_ended_on > day, CaseRow.referred_on <= day)
    return sa.union_all(still_open, ended_later).subquery()


# Bands of days from referral to provision, for the chart.
PACE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-5", 0, 5), ("6-10", 6, 10), ("11-20", 11, 20), ("21-40", 21, 40), ("41-60", 41, 60), ("61+", 61, None))


def pace_bands(session: Session, start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """Cases that reached provision in the period, by days from referral to provision."""
    counts: dict[str, int] = dict.fromkeys((b[0] for b in PACE_BANDS), 0)
    rows = session.execute(sa.select(CaseRow.referred_on, CaseRow.provision_on, sa.func.count())
                           .where(CaseRow.provision_on.between(start, end))
                           .group_by(CaseRow.referred_on, CaseRow.provision_on)).all()
    for referred, provided, n in rows:
        if provided is None:
            continue
        days = (provided - referred).days
        for label, low, high in PACE_BANDS:
            if days >= low and (high is None or days <= high):
                counts[label] += int(n)
                break
    return list(counts.items())


# -- review queue ------------------------------------------------------------------------------------


def open_reviews(session: Session, la_code: str, limit: int = 100) -> tuple[list[ReviewItemRow], int]:
    where = (ReviewItemRow.state == "open", ReviewItemRow.responsible_la == la_code)
    total = int(session.scalar(sa.select(sa.func.count()).select_from(ReviewItemRow).where(*where)) or 0)
    rows = list(session.scalars(sa.select(ReviewItemRow).where(*where).order_by(ReviewItemRow.opened_at)
                                .limit(limit)))
    return rows, total


def decided_reviews(session: Session, la_code: str, limit: int = 20) -> list[ReviewItemRow]:
    return list(session.scalars(sa.select(ReviewItemRow).where(ReviewItemRow.state != "open",
                                                               ReviewItemRow.responsible_la == la_code)
                                .order_by(ReviewItemRow.decided_at.desc()).limit(limit)))


def decision_for(session: Session, event_id: str) -> MatchDecisionRow | None:
    return session.get(MatchDecisionRow, event_id)


# -- enquiries -------------------------------------------------------------------------------------


def api_enquiries(session: Session, direction: str, limit: int = 100) -> list[EnquiryRecordRow]:
    return list(session.scalars(sa.select(EnquiryRecordRow).where(EnquiryRecordRow.direction == direction)
                                .order_by(EnquiryRecordRow.created_at.desc()).limit(limit)))


def register_enquiries(session: Session, limit: int = 100) -> list[EnquiryRow]:
    return list(session.scalars(sa.select(EnquiryRow).order_by(EnquiryRow.opened_on.desc(), EnquiryRow.id)
                                .limit(limit)))


# -- partners ------------------------------------------------------------------------------------


@dataclass
class PartnerActivity:
    partner: str
    kind: str
    last_received: dt.datetime | None = None
    accepted: int = 0  # notifications recorded in the window
    rejected: int = 0  # records quarantined in the window

    @property
    def reject_rate(self) -> float:
        total = self.accepted + self.rejected
        return self.rejected / total if total else 0.0


def partner_activity(session: Session, since: dt.datetime) -> dict[str, PartnerActivity]:
    """Each partner's last notification received and how many it sent since ``since``."""
    out: dict[str, PartnerActivity] = {}
    q = sa.select(NotificationRow.source_partner, NotificationRow.source_kind, sa.func.max(NotificationRow.received_at),
                  sa.func.count().filter(NotificationRow.received_at >= since)
                  ).group_by(NotificationRow.source_partner, NotificationRow.source_kind)
    for partner, kind, last, recent in session.execute(q):
        activity = out.setdefault(partner, PartnerActivity(partner, kind))
        last = last if last is None or last.tzinfo else last.replace(tzinfo=dt.UTC)
        if last is not None and (activity.last_received is None or last > activity.last_received):
            activity.last_received = last
        activity.accepted += int(recent)
    return out


def count_by(items: list[Any], key: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        out[str(getattr(item, key))] += 1
    return dict(out)

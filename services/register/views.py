"""Read-side queries: a child's timeline (the case view) and the dashboard measures.

Kept apart from the repository (which loads objects to change them): these only read, with a
handful of indexed, set-based queries each, so they stay fast on a register of 100,000 children.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.register.measures import Measures, Period, pace_from_histogram
from services.register.model import OPEN_STATUSES, RISK_BITS, Case, Child, Enquiry, Notification, TaskKind, TaskState
from services.register.orm import CaseRow, ChildRow, TaskRow
from services.register.repository import RegisterRepository


@dataclass(frozen=True)
class TimelineEntry:
    on: dt.date
    what: str
    detail: str


@dataclass
class ChildTimeline:
    """Everything the register holds on one child, in date order."""

    child: Child
    cases: list[Case]
    notifications: list[Notification]
    enquiries: list[Enquiry]
    entries: list[TimelineEntry] = field(default_factory=list)


class NotFoundInRegister(LookupError):
    """No child or case has the id asked for."""


def child_timeline(session: Session, child_or_case_id: str) -> ChildTimeline:
    """The case view: the child (found by child id or case id), every episode, notification and enquiry."""
    repo = RegisterRepository(session)
    child_id = repo.child_id_for(child_or_case_id)
    child = repo.get_child(child_id) if child_id else None
    if child is None:
        raise NotFoundInRegister(f"no child or case with id {child_or_case_id}")
    cases = repo.cases_for_child(child.id)
    notes = repo.notifications_for_child(child.id)
    enquiries = repo.enquiries_for_child(child.id)
    entries = [
        TimelineEntry(n.occurred_at.date(), f"notification {n.event_type}", f"from {n.source_kind}:{n.source_partner}")
        for n in notes
    ]
    for case in cases:
        entries += [
            TimelineEntry(m.on, f"case {m.from_status or 'new'} → {m.to_status}", m.reason) for m in case.history
        ]
        for task in case.tasks:
            state = f"{task.state}" + (f" on {task.closed_on}" if task.closed_on else "")
            entries.append(TimelineEntry(task.opened_on, f"task {task.kind} due {task.due_on}", state))
    entries += [
        TimelineEntry(e.opened_on, f"enquiry {e.direction} LA {e.other_la}", e.outcome or "awaiting answer")
        for e in enquiries
    ]
    entries.sort(key=lambda e: e.on)
    return ChildTimeline(child, cases, notes, enquiries, entries)


def _days_for(dialect: str, later: Any, earlier: Any) -> sa.ColumnElement[int]:
    """Whole days between two date columns, in the backend's own arithmetic."""
    if dialect == "postgresql":
        return sa.cast(later - earlier, sa.Integer)
    return sa.cast(sa.func.julianday(later) - sa.func.julianday(earlier), sa.Integer)


def cme_on(day: dt.date) -> sa.ColumnElement[bool]:
    """A case was CME on ``day``: referred by then and not yet out of CME."""
    return sa.and_(CaseRow.referred_on <= day, sa.or_(CaseRow.cme_ended_on.is_(None), CaseRow.cme_ended_on > day))


def cme_during(period: Period) -> sa.ColumnElement[bool]:
    """A case was CME at any point in ``period``."""
    return sa.and_(
        CaseRow.referred_on <= period.end,
        sa.or_(CaseRow.cme_ended_on.is_(None), CaseRow.cme_ended_on >= period.start),
    )


def _window(
    cols: list[Any], ended: sa.ColumnElement[bool], referred_by: Any, scope: Sequence[sa.ColumnElement[bool]]
) -> sa.Subquery:
    """Episodes still open (no end) or ending per ``ended``, referred by a date: two branches of
    UNION ALL rather than one OR, so each branch is an index-only scan of ix_cme_case_cme_window."""
    open_branch = sa.select(*cols).where(CaseRow.cme_ended_on.is_(None), CaseRow.referred_on <= referred_by, *scope)
    ended_branch = sa.select(*cols).where(ended, CaseRow.referred_on <= referred_by, *scope)
    return sa.union_all(open_branch, ended_branch).subquery()


@lru_cache(maxsize=8)
def _dashboard_statement(dialect: str, scoped: bool) -> sa.CompoundSelect[Any]:
    """The dashboard as one statement with parameters as_of, start, end (and la_code when scoped).

    One statement, one round trip: each measure is a branch of a UNION ALL returning
    (measure, key, counts...), and every branch reads an index only (see ix_cme_case_*). Built
    once per backend, so each call pays only for the query, not for building it.
    """
    as_of, start, end = (sa.bindparam(n, type_=sa.Date) for n in ("as_of", "start", "end"))
    scope = (
        [CaseRow.child_id.in_(sa.select(ChildRow.id).where(ChildRow.la_code == sa.bindparam("la_code")))]
        if scoped
        else []
    )
    flags = list(RISK_BITS.items())
    width = 2 + len(flags)

    def branch(measure: str, key: Any, *counts: Any) -> sa.Select[*tuple[Any, ...]]:
        padded = [*counts, *([sa.literal(0)] * (width - len(counts)))]
        return sa.select(
            sa.literal(measure, sa.String).label("measure"),
            sa.cast(key, sa.String).label("key"),
            *(sa.cast(c, sa.BigInteger).label(f"n{i}") for i, c in enumerate(padded)),
        )

    count = sa.func.count
    status = (
        branch("status", CaseRow.status, count())
        .where(CaseRow.status.in_([s.value for s in OPEN_STATUSES]), *scope)
        .group_by(CaseRow.status)
    )
    now = _window(
        [CaseRow.dfe_reason, CaseRow.whereabouts_known, CaseRow.risk_mask], CaseRow.cme_ended_on > as_of, as_of, scope
    )
    reasons = branch(
        "reason",
        now.c.dfe_reason,
        count(),
        count().filter(~now.c.whereabouts_known),
        *(count().filter(now.c.risk_mask.op("&")(bit) != 0) for _, bit in flags),
    ).group_by(now.c.dfe_reason)
    during = _window(
        [CaseRow.referred_on, CaseRow.new_to_area, CaseRow.new_to_country], CaseRow.cme_ended_on >= start, end, scope
    )
    in_period = during.c.referred_on.between(start, end)
    periods = branch(
        "period",
        sa.literal("all"),
        count(),
        count().filter(in_period),
        count().filter(in_period, during.c.new_to_area),
        count().filter(in_period, during.c.new_to_country),
    )
    overdue = (
        branch("overdue", TaskRow.kind, count())
        .where(TaskRow.state == TaskState.OPEN.value, TaskRow.due_on < as_of)
        .group_by(TaskRow.kind)
    )
    if scoped:
        overdue = overdue.join(CaseRow, CaseRow.id == TaskRow.case_id).where(*scope)
    closures = (
        branch("closure", CaseRow.closure_reason, count())
        .where(CaseRow.closed_on.between(start, end), *scope)
        .group_by(CaseRow.closure_reason)
    )
    days = _days_for(dialect, CaseRow.provision_on, CaseRow.referred_on)
    pace = branch("pace", days, count()).where(CaseRow.provision_on.between(start, end), *scope).group_by(days)
    return sa.union_all(status, reasons, periods, overdue, closures, pace)


def dashboard(session: Session, as_of: dt.date, period: Period, la_code: str | None = None) -> Measures:
    """The checklist's measures as of ``as_of``, with period counts over ``period`` (one query)."""
    statement = _dashboard_statement(session.get_bind().dialect.name, la_code is not None)
    params: dict[str, Any] = {"as_of": as_of, "start": period.start, "end": period.end}
    if la_code is not None:
        params["la_code"] = la_code
    flags = list(RISK_BITS.items())
    m = Measures(as_of=as_of, period=period)
    risk_totals = dict.fromkeys((f.value for f, _ in flags), 0)
    histogram: dict[int, int] = {}
    by_kind: dict[str, int] = {}
    for measure, key, first, second, *rest in session.execute(statement, params):
        if measure == "status":
            m.by_status[key] = int(first)
        elif measure == "reason":
            m.by_reason[key] = int(first)
            m.whereabouts_unknown += int(second)
            for (flag, _), n in zip(flags, rest, strict=True):
                risk_totals[flag.value] += int(n)
        elif measure == "period":
            m.cme_any_point, m.referred_in_period = int(first), int(second)
            m.new_to_area, m.new_to_country = int(rest[0]), int(rest[1])
        elif measure == "overdue":
            by_kind[key] = int(first)
        elif measure == "closure":
            m.closures_by_reason[str(key)] = int(first)
        elif measure == "pace":
            histogram[int(key)] = int(first)
    m.cme_now = sum(m.by_reason.values())
    m.by_risk = {k: v for k, v in risk_totals.items() if v}
    m.overdue_tasks = sum(by_kind.values())
    m.overdue_follow_ups = by_kind.get(TaskKind.FOLLOW_UP.value, 0)
    m.pace = pace_from_histogram(histogram)
    return m

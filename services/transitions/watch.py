"""The transition watch: children expected on a roll from a start date, and what happens when they do not arrive.

Expectations come from the register's notifications: an offer (``admissions.offer``, moved by
``admissions.offer_accepted``) and a deletion return naming a new school in this authority. On the
due day (N school days after the expected start, N configurable) an expectation is met when the child
is on roll (an admission return since the offer, or the register's current school); otherwise an
offer becomes a **no-show**: an ``admissions.no_show`` event recorded through the register's handlers,
which opens a CME referral dated the due day. A deletion return whose new school sends no admission
return raises a **task** (the expectation, listed by :func:`open_tasks`) for an officer to chase.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from schemas.events import LAWFUL_BASIS_CME, make_envelope, make_event
from services.register.handlers import CalendarFor, calendar_for, record_notification
from services.register.orm import ChildRow, NotificationRow
from services.register.orm_places import TransitionExpectationRow as Row
from services.register.unit_of_work import UnitOfWorkFactory

OFFER = "offer_not_taken_up"
ADMISSION_RETURN = "admission_return_missing"
EXPECTED, ARRIVED, NO_SHOW, TASK_OPEN, TASK_DONE, WITHDRAWN = (
    "expected", "arrived", "no_show", "task_open", "task_done", "withdrawn")
_SOURCE_TYPES = ("admissions.offer", "admissions.offer_accepted", "school.deletion_return")
_NAMESPACE = uuid.UUID("4d7f0a7e-2a43-4b8e-9d1c-5b1e9f3c2a11")


@dataclass(frozen=True, slots=True)
class TransitionPolicy:
    """How many school days a child has to appear on roll."""

    no_show_school_days: int = 5
    admission_return_school_days: int = 5


@dataclass
class CheckSummary:
    """What one run of the watch did (counts and ids only: safe to log)."""

    expectations_added: int = 0
    expectations_updated: int = 0
    arrived: int = 0
    no_shows: list[str] = field(default_factory=list)  # case ids opened
    tasks_raised: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"expectations_added": self.expectations_added, "expectations_updated": self.expectations_updated,
                "arrived": self.arrived, "no_shows": len(self.no_shows), "tasks_raised": self.tasks_raised}


@dataclass(frozen=True, slots=True)
class TransitionTask:
    """An open task of the watch: chase a school's admission return."""

    expectation_id: str
    child_id: str
    school_laestab: str
    expected_start: dt.date
    due_on: dt.date
    note: str


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def expectation_id(child_id: str, kind: str, key: str) -> str:
    """Stable id of an expectation (so re-reading a notification changes nothing)."""
    return str(uuid.uuid5(_NAMESPACE, f"{child_id}|{kind}|{key}"))


def _wanted(n: NotificationRow, la: str) -> tuple[str, str, str, dt.date, str | None, str | None, str | None] | None:
    """(kind, key, school, start, year group, application reference, previous school) a notification implies."""
    p = n.payload
    if n.event_type in ("admissions.offer", "admissions.offer_accepted"):
        start = _date(p.get("expected_start_date"))
        ref = p.get("application_reference")
        if start is None or not ref:
            return None
        return OFFER, str(ref), str(p["school_laestab"]), start, p.get("year_group"), str(ref), None
    school = p.get("new_school_laestab")
    start = _date(p.get("new_school_start_date")) or _date(p.get("deletion_date"))
    if not school or start is None or not str(school).startswith(la):
        return None  # a school in another authority sends its return to that authority
    return ADMISSION_RETURN, f"{school}@{start}", str(school), start, None, None, p.get("school_laestab")


def sync_expectations(
    uows: UnitOfWorkFactory,
    la: str,
    *,
    since: dt.datetime | None = None,
    calendars: CalendarFor = calendar_for,
    policy: TransitionPolicy | None = None,
) -> CheckSummary:
    """Turn offers, accepted offers and deletion returns naming a school here into expectations (idempotent)."""
    policy = policy or TransitionPolicy()
    calendar = calendars(la)
    summary = CheckSummary()
    with uows() as uow:
        session = uow.session
        assert session is not None
        query = sa.select(NotificationRow).where(
            NotificationRow.event_type.in_(_SOURCE_TYPES), NotificationRow.child_id.is_not(None),
            NotificationRow.responsible_la == la).order_by(NotificationRow.occurred_at, NotificationRow.event_id)
        if since is not None:
            query = query.where(NotificationRow.received_at >= since)
        # One read of the authority's expectations, not one per notification.
        known = {row.id: row for row in session.scalars(sa.select(Row).where(Row.la_code == la))}
        for n in session.scalars(query):
            wanted = _wanted(n, la)
            if wanted is None or n.child_id is None:
                continue
            kind, key, school, start, year, ref, previous = wanted
            days = policy.no_show_school_days if kind == OFFER else policy.admission_return_school_days
            due = calendar.add_school_days(start, days)
            row_id = expectation_id(n.child_id, kind, key)
            row = known.get(row_id)
            if row is None:
                row = known[row_id] = Row(
                    id=row_id, child_id=n.child_id, la_code=la, kind=kind, school_laestab=school, year_group=year,
                    application_reference=ref, previous_school=previous, expected_start=start,
                    school_days_allowed=days, due_on=due, state=EXPECTED, source_event_id=n.event_id)
                session.add(row)
                summary.expectations_added += 1
            elif row.state == EXPECTED and row.source_event_id != n.event_id and (
                    row.expected_start, row.school_laestab) != (start, school):
                # An accepted offer (or a later notice) moves the start date or the school.
                row.school_laestab, row.expected_start, row.due_on = school, start, due
                row.source_event_id = n.event_id
                summary.expectations_updated += 1
        session.commit()
    return summary


def _arrived(session: Any, row: Row) -> str | None:
    """The event id (or 'register') showing the child on roll since the expectation began, else None."""
    child = session.get(ChildRow, row.child_id)
    if child is not None and child.current_school == row.school_laestab:
        return "register:current_school"
    earliest = row.expected_start - dt.timedelta(days=60)
    returns = session.scalars(sa.select(NotificationRow).where(
        NotificationRow.child_id == row.child_id, NotificationRow.event_type == "school.admission_return"))
    for n in returns:
        admitted = _date(n.payload.get("admission_date")) or n.occurred_at.date()
        if admitted >= earliest:
            return n.event_id
    return None


def no_show_event(row: Row, la: str) -> dict[str, Any]:
    """The ``admissions.no_show`` event of an expectation (event id stable per expectation)."""
    envelope = make_envelope(
        "admissions.no_show", partner_id=f"hub:transitions:{la}", source_kind="hub", responsible_la=la,
        occurred_at=dt.datetime.combine(row.due_on, dt.time(), tzinfo=dt.UTC), reference=f"no-show/{row.id}",
        lawful_basis=LAWFUL_BASIS_CME)
    return make_event("admissions.no_show", envelope, child=None, school_laestab=row.school_laestab,
                      expected_start_date=row.expected_start, school_days_allowed=row.school_days_allowed,
                      no_show_kind=row.kind, application_reference=row.application_reference,
                      previous_school_laestab=row.previous_school)


def check_due(
    uows: UnitOfWorkFactory,
    la: str,
    today: dt.date,
    *,
    calendars: CalendarFor = calendar_for,
) -> CheckSummary:
    """Settle every expectation due on or before ``today``: arrived, a no-show referral, or a task."""
    summary = CheckSummary()
    raise_no_show: list[tuple[str, str, dict[str, Any]]] = []
    with uows() as uow:
        session = uow.session
        assert session is not None
        due = session.scalars(sa.select(Row).where(Row.state == EXPECTED, Row.la_code == la,
                                                   Row.due_on <= today).order_by(Row.due_on, Row.id)).all()
        for row in due:
            evidence = _arrived(session, row)
            if evidence is not None:
                row.state, row.resolved_on, row.resolved_by = ARRIVED, today, evidence
                summary.arrived += 1
            elif row.kind == OFFER:
                raise_no_show.append((row.id, row.child_id, no_show_event(row, la)))
            else:
                row.state = TASK_OPEN
                summary.tasks_raised += 1
        session.commit()
    for row_id, child_id, event in raise_no_show:
        # Recorded through the register's handlers: the referral opens dated the due day (once per event id).
        outcome = record_notification(uows(), event, child_id, local_la=la, actor="hub:transitions",
                                      calendars=calendars)
        with uows() as uow:
            session = uow.session
            assert session is not None
            settled = session.get(Row, row_id)
            if settled is not None:
                settled.state, settled.resolved_on, settled.resolved_by = NO_SHOW, today, event["event_id"]
            session.commit()
        if outcome.case_id:
            summary.no_shows.append(outcome.case_id)
    return summary


def run_watch(
    uows: UnitOfWorkFactory,
    la: str,
    today: dt.date,
    *,
    calendars: CalendarFor = calendar_for,
    policy: TransitionPolicy | None = None,
) -> CheckSummary:
    """Sync expectations from the register, then settle those due (what the daily clock runs)."""
    added = sync_expectations(uows, la, calendars=calendars, policy=policy)
    done = check_due(uows, la, today, calendars=calendars)
    done.expectations_added, done.expectations_updated = added.expectations_added, added.expectations_updated
    return done


def open_tasks(uows: UnitOfWorkFactory, la: str) -> list[TransitionTask]:
    """Admission returns a school owes (a deletion return named it; none came in time), oldest first."""
    with uows() as uow:
        session = uow.session
        assert session is not None
        rows = session.scalars(sa.select(Row).where(Row.state == TASK_OPEN, Row.la_code == la)
                               .order_by(Row.due_on, Row.id)).all()
        return [TransitionTask(r.id, r.child_id, r.school_laestab, r.expected_start, r.due_on,
                               f"no admission return from {r.school_laestab} {r.school_days_allowed} school days "
                               f"after the start on {r.expected_start}: ask the school whether the child arrived")
                for r in rows]


def expectations_for_child(uows: UnitOfWorkFactory, child_id: str) -> list[dict[str, Any]]:
    """A child's expectations (for the case view)."""
    with uows() as uow:
        session = uow.session
        assert session is not None
        rows = session.scalars(sa.select(Row).where(Row.child_id == child_id).order_by(Row.expected_start)).all()
        return [{"id": r.id, "kind": r.kind, "school_laestab": r.school_laestab, "expected_start": r.expected_start,
                 "due_on": r.due_on, "state": r.state, "resolved_on": r.resolved_on} for r in rows]


def close_task(
    uows: UnitOfWorkFactory, task_id: str, *, arrived: bool, today: dt.date, calendars: CalendarFor = calendar_for
) -> str | None:
    """An officer settles a task: the child arrived (done), or did not (a CME referral opens); returns the case id."""
    with uows() as uow:
        session = uow.session
        assert session is not None
        found = session.get(Row, task_id)
        if found is None or found.state != TASK_OPEN:
            raise LookupError(f"no open transition task {task_id}")
        if arrived:
            found.state, found.resolved_on, found.resolved_by = TASK_DONE, today, "officer"
            session.commit()
            return None
        event, child_id, la = no_show_event(found, found.la_code), found.child_id, found.la_code
    outcome = record_notification(uows(), event, child_id, local_la=la, actor="hub:transitions", calendars=calendars)
    with uows() as uow:
        session = uow.session
        assert session is not None
        row = session.get(Row, task_id)
        if row is not None:
            row.state, row.resolved_on, row.resolved_by = NO_SHOW, today, event["event_id"]
        session.commit()
    return outcome.case_id


def summarise(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Counts by state (dashboard)."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r["state"])] = counts.get(str(r["state"]), 0) + 1
    return counts

"""Retention per data class (DOMAIN.md §5): what may be removed, and removing it.

Defaults follow an authority's published schedule (Lancashire): a CME record is kept until the
child is 31, 45 if the child ever had an EHCP, 75 if ever looked after; nothing is removed while
an episode is open. Event ids kept for de-duplication and the audit log have their own periods.
Every period is configurable (``RetentionPolicy``); ``plan`` only reads, ``apply`` deletes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.register.model import OPEN_STATUSES
from services.register.orm import AuditRow, CaseRow, ChildRow, EnquiryRow, NotificationRow, ProcessedEventRow


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each data class is kept."""

    child_until_age: int = 31
    child_with_ehcp_until_age: int = 45
    child_ever_looked_after_until_age: int = 75
    # A child with no date of birth: years after the record was created.
    child_without_dob_years: int = 25
    # Notifications that were never linked to a child (e.g. enquiries about unknown children).
    unlinked_notification_years: int = 1
    # De-duplication ids outlive any redelivery (Kafka retention is days to weeks).
    processed_event_days: int = 400
    audit_years: int = 6


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def child_keep_until(dob: dt.date | None, created_on: dt.date | None, ehcp: bool, looked_after: bool,
                     policy: RetentionPolicy) -> dt.date | None:
    """The last day a child's CME record must be kept (None: no date to count from, keep)."""
    if dob is None:
        if created_on is None:
            return None
        return _years_before(created_on, -policy.child_without_dob_years)
    age = policy.child_until_age
    if ehcp:
        age = max(age, policy.child_with_ehcp_until_age)
    if looked_after:
        age = max(age, policy.child_ever_looked_after_until_age)
    return _years_before(dob, -age)


@dataclass
class RetentionPlan:
    """What would be removed today, by data class (ids only, never personal data)."""

    today: dt.date
    children: list[str] = field(default_factory=list)
    kept_open_case: int = 0
    unlinked_notifications: int = 0
    processed_events: int = 0
    audit_entries: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "children (with their cases, notifications and enquiries)": len(self.children),
            "children past retention but with an open case (kept)": self.kept_open_case,
            "notifications never linked to a child": self.unlinked_notifications,
            "processed event ids": self.processed_events,
            "audit entries": self.audit_entries,
        }


def plan(session: Session, today: dt.date, policy: RetentionPolicy | None = None) -> RetentionPlan:
    """What ``apply`` would remove on ``today`` (reads only)."""
    policy = policy or RetentionPolicy()
    out = RetentionPlan(today=today)
    # Cut-off dates of birth: a child born before the cut-off has passed the age limit.
    born_before = {
        "plain": _years_before(today, policy.child_until_age),
        "ehcp": _years_before(today, max(policy.child_until_age, policy.child_with_ehcp_until_age)),
        # Conservative: a looked-after child keeps the longest period that could apply.
        "lac": _years_before(today, max(policy.child_until_age, policy.child_with_ehcp_until_age,
                                        policy.child_ever_looked_after_until_age)),
    }
    created_before = _years_before(today, policy.child_without_dob_years)
    expired = sa.or_(
        sa.and_(ChildRow.date_of_birth.is_not(None), ~ChildRow.ever_looked_after, ~ChildRow.ever_ehcp,
                ChildRow.date_of_birth < born_before["plain"]),
        sa.and_(ChildRow.date_of_birth.is_not(None), ~ChildRow.ever_looked_after, ChildRow.ever_ehcp,
                ChildRow.date_of_birth < born_before["ehcp"]),
        sa.and_(ChildRow.date_of_birth.is_not(None), ChildRow.ever_looked_after,
                ChildRow.date_of_birth < born_before["lac"]),
        sa.and_(ChildRow.date_of_birth.is_(None), ChildRow.created_on < created_before),
    )
    has_open = sa.exists().where(CaseRow.child_id == ChildRow.id, CaseRow.status.in_([s.value for s in OPEN_STATUSES]))
    out.children = list(session.scalars(sa.select(ChildRow.id).where(expired, ~has_open).order_by(ChildRow.id)))
    out.kept_open_case = int(session.scalar(sa.select(sa.func.count()).select_from(ChildRow).where(expired, has_open))
                             or 0)
    unlinked_cut = dt.datetime.combine(_years_before(today, policy.unlinked_notification_years), dt.time(), dt.UTC)
    out.unlinked_notifications = int(session.scalar(
        sa.select(sa.func.count()).select_from(NotificationRow).where(
            NotificationRow.child_id.is_(None), NotificationRow.received_at < unlinked_cut)) or 0)
    processed_cut = dt.datetime.combine(today - dt.timedelta(days=policy.processed_event_days), dt.time(), dt.UTC)
    out.processed_events = int(session.scalar(
        sa.select(sa.func.count()).select_from(ProcessedEventRow).where(ProcessedEventRow.processed_at < processed_cut))
        or 0)
    audit_cut = dt.datetime.combine(_years_before(today, policy.audit_years), dt.time(), dt.UTC)
    out.audit_entries = int(session.scalar(
        sa.select(sa.func.count()).select_from(AuditRow).where(AuditRow.at < audit_cut)) or 0)
    return out


def apply(session: Session, retention: RetentionPlan, policy: RetentionPolicy | None = None) -> dict[str, int]:
    """Remove what ``retention`` lists (the caller commits); returns the counts removed."""
    policy = policy or RetentionPolicy()
    today = retention.today
    removed: dict[str, int] = {}
    ids = retention.children
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        # Explicit deletes in dependency order: SQLite and PostgreSQL then behave the same even
        # where a cascade is not declared on the database.
        case_ids = sa.select(CaseRow.id).where(CaseRow.child_id.in_(chunk))
        session.execute(sa.delete(NotificationRow).where(NotificationRow.child_id.in_(chunk)))
        session.execute(sa.delete(EnquiryRow).where(EnquiryRow.child_id.in_(chunk)))
        for table in ("case_risk_flag", "case_transition", "task"):
            t = CaseRow.metadata.tables[table]
            session.execute(sa.delete(t).where(t.c.case_id.in_(case_ids)))
        session.execute(sa.delete(CaseRow).where(CaseRow.child_id.in_(chunk)))
        for table in ("child_identity", "child_identifier", "child_address"):
            t = CaseRow.metadata.tables[table]
            session.execute(sa.delete(t).where(t.c.child_id.in_(chunk)))
        session.execute(sa.delete(ChildRow).where(ChildRow.id.in_(chunk)))
    removed["children"] = len(ids)
    unlinked_cut = dt.datetime.combine(_years_before(today, policy.unlinked_notification_years), dt.time(), dt.UTC)
    removed["unlinked_notifications"] = _rowcount(session.execute(sa.delete(NotificationRow).where(
        NotificationRow.child_id.is_(None), NotificationRow.received_at < unlinked_cut)))
    processed_cut = dt.datetime.combine(today - dt.timedelta(days=policy.processed_event_days), dt.time(), dt.UTC)
    removed["processed_events"] = _rowcount(session.execute(
        sa.delete(ProcessedEventRow).where(ProcessedEventRow.processed_at < processed_cut)))
    audit_cut = dt.datetime.combine(_years_before(today, policy.audit_years), dt.time(), dt.UTC)
    removed["audit_entries"] = _rowcount(session.execute(sa.delete(AuditRow).where(AuditRow.at < audit_cut)))
    return removed


def _rowcount(result: sa.Result[object]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)

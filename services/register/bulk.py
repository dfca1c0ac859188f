"""A batch of notifications recorded with a few set-based statements per table, not ORM objects.

The matcher records notifications a batch at a time. Through the ORM each costs a dozen objects and,
for a child already known, eight queries. Here a batch loads the children it is about in seven
set-based queries, the handlers work on plain domain objects as always, and ``write`` sends back
what changed with one statement per table and kind of change (multi-row INSERTs, executemany
UPDATEs). What it stores is what ``RegisterRepository.sync`` stores: identities, identifiers,
addresses and transitions are appended, columns and tasks take their final values, and a restricted
child's addresses are deleted. The two paths are interchangeable (tests/integration/register/
test_bulk_register.py records the same notifications through both and compares every table).

All or nothing: nothing reaches the database before ``write``, which runs in the caller's
transaction. After any failure the caller drops the whole ``BatchWriter`` and records the batch
through the ORM instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.register.among import among
from services.register.model import OPEN_STATUSES, AuditEntry, Case, Child, Enquiry, Identifier, IdentifierScheme
from services.register.model import Notification as NotificationRecord
from services.register.orm import (
    AddressRow,
    AuditRow,
    CaseRow,
    ChildRow,
    EnquiryRow,
    IdentifierRow,
    IdentityRow,
    NotificationRow,
    ProcessedEventRow,
    RiskFlagRow,
    TaskRow,
    TransitionRow,
)
from services.register.repository import RegisterRepository
from services.register.rows import (
    address_from,
    address_values,
    audit_values,
    case_from,
    case_values,
    child_values,
    enquiry_from,
    enquiry_values,
    identity_from,
    identity_values,
    notification_values,
    processed_values,
    task_from,
    task_values,
    transition_from,
    transition_values,
)
from services.register.unit_of_work import UnitOfWork


def _table(model: type[Any]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


CHILD = _table(ChildRow)
IDENTITY = _table(IdentityRow)
IDENTIFIER = _table(IdentifierRow)
ADDRESS = _table(AddressRow)
CASE = _table(CaseRow)
RISK_FLAG = _table(RiskFlagRow)
TRANSITION = _table(TransitionRow)
TASK = _table(TaskRow)
ENQUIRY = _table(EnquiryRow)
NOTIFICATION = _table(NotificationRow)
AUDIT = _table(AuditRow)
PROCESSED = _table(ProcessedEventRow)

_OPEN_VALUES = sorted(s.value for s in OPEN_STATUSES)
_CHUNK = 1000  # ids per IN list


@dataclass
class _StoredChild:
    """What the database holds of a loaded child, to write back only the difference."""

    values: dict[str, Any]
    identities: int
    identifiers: set[tuple[str, str]]
    addresses: int
    valid_to: list[dt.date | None]
    purge_addresses: bool = False


@dataclass
class _StoredCase:
    values: dict[str, Any]
    flags: set[str]
    transitions: int
    tasks: dict[str, dict[str, Any]]


@dataclass
class BatchWriter:
    """The register's state for one batch: loaded and new objects, and rows to append."""

    session: Session
    children: dict[str, Child] = field(default_factory=dict)
    stored_children: dict[str, _StoredChild | None] = field(default_factory=dict)  # None: new in this batch
    cases: dict[str, Case] = field(default_factory=dict)
    stored_cases: dict[str, _StoredCase | None] = field(default_factory=dict)
    # child id -> its cases that may be open: those loaded open, and those opened in this batch
    case_ids: dict[str, list[str]] = field(default_factory=dict)
    enquiries: dict[str, Enquiry] = field(default_factory=dict)
    stored_enquiries: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    processed: dict[str, bool] = field(default_factory=dict)
    appended: dict[sa.Table, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    changes: int = 0  # how many things were staged: a unit of work that leaves after staging spoils the batch

    # -- reading ------------------------------------------------------------------------------------

    def _rows(self, query: sa.Select[Any]) -> Sequence[sa.Row[Any]]:
        return self.session.connection().execute(query).all()

    def load_children(self, child_ids: Iterable[str]) -> None:
        """Load these children (those not loaded yet) with their open cases, in seven queries."""
        wanted = sorted(set(child_ids) - self.case_ids.keys())
        for start in range(0, len(wanted), _CHUNK):
            self._load_chunk(wanted[start:start + _CHUNK])

    def _load_chunk(self, ids: list[str]) -> None:
        idents: dict[str, list[Any]] = defaultdict(list)
        for row in self._rows(sa.select(IDENTITY).where(among(IDENTITY.c.child_id, ids, self.session))
                              .order_by(IDENTITY.c.child_id, IDENTITY.c.seq)):
            idents[row.child_id].append(identity_from(row))
        schemes: dict[str, set[Identifier]] = defaultdict(set)
        for row in self._rows(sa.select(IDENTIFIER.c.child_id, IDENTIFIER.c.scheme, IDENTIFIER.c.value)
                              .where(among(IDENTIFIER.c.child_id, ids, self.session))):
            schemes[row.child_id].add(Identifier(IdentifierScheme(row.scheme), row.value))
        addrs: dict[str, list[Any]] = defaultdict(list)
        for row in self._rows(sa.select(ADDRESS).where(among(ADDRESS.c.child_id, ids, self.session))
                              .order_by(ADDRESS.c.child_id, ADDRESS.c.seq)):
            addrs[row.child_id].append(address_from(row))
        for row in self._rows(sa.select(CHILD).where(among(CHILD.c.id, ids, self.session))):
            child = Child(id=row.id, la_code=row.la_code, identities=idents[row.id], identifiers=schemes[row.id],
                          addresses=addrs[row.id], current_school=row.current_school, restricted=row.restricted,
                          ever_looked_after=row.ever_looked_after, ever_ehcp=row.ever_ehcp, created_on=row.created_on)
            self.children[child.id] = child
            self.stored_children[child.id] = _StoredChild(
                values={**child_values(child), "date_of_birth": row.date_of_birth},
                identities=len(child.identities),
                identifiers={(i.scheme.value, i.value) for i in child.identifiers},
                addresses=len(child.addresses), valid_to=[a.valid_to for a in child.addresses])
        for child_id in ids:
            self.case_ids[child_id] = []
        cases = self._rows(sa.select(CASE).where(among(CASE.c.child_id, ids, self.session),
                                                 CASE.c.status.in_(_OPEN_VALUES)))
        self._load_cases(cases)
        for row in cases:
            self.case_ids[row.child_id].append(row.id)

    def _load_cases(self, rows: Sequence[sa.Row[Any]]) -> None:
        ids = [row.id for row in rows]
        if not ids:
            return
        history: dict[str, list[Any]] = defaultdict(list)
        for row in self._rows(sa.select(TRANSITION).where(among(TRANSITION.c.case_id, ids, self.session))
                              .order_by(TRANSITION.c.case_id, TRANSITION.c.seq)):
            history[row.case_id].append(transition_from(row))
        tasks: dict[str, list[Any]] = defaultdict(list)
        for row in self._rows(sa.select(TASK).where(among(TASK.c.case_id, ids, self.session))
                              .order_by(TASK.c.case_id, TASK.c.opened_on)):
            tasks[row.case_id].append(task_from(row))
        for row in rows:
            case = case_from(row, history[row.id], tasks[row.id])
            self.cases[case.id] = case
            self.stored_cases[case.id] = _StoredCase(
                values=case_values(case), flags={f.value for f in case.risk_flags}, transitions=len(case.history),
                tasks={t.id: task_values(t) for t in case.tasks})

    def child(self, child_id: str) -> Child | None:
        if child_id not in self.case_ids:
            self.load_children([child_id])
        return self.children.get(child_id)

    def open_case(self, child_id: str) -> Case | None:
        if child_id not in self.case_ids:
            self.load_children([child_id])
        for case_id in self.case_ids[child_id]:
            case = self.cases[case_id]
            if case.is_open:
                return case
        return None

    def case(self, case_id: str) -> Case | None:
        if case_id not in self.cases:
            self._load_cases(self._rows(sa.select(CASE).where(CASE.c.id == case_id)))
        return self.cases.get(case_id)

    def enquiry(self, enquiry_id: str) -> Enquiry | None:
        if enquiry_id not in self.enquiries:
            row = self.session.connection().execute(sa.select(ENQUIRY).where(ENQUIRY.c.id == enquiry_id)).first()
            if row is None:
                return None
            self.enquiries[enquiry_id] = enquiry_from(row)
            self.stored_enquiries[enquiry_id] = enquiry_values(self.enquiries[enquiry_id])
        return self.enquiries[enquiry_id]

    def is_processed(self, event_id: str) -> bool:
        if event_id not in self.processed:
            found = self.session.connection().execute(
                sa.select(PROCESSED.c.event_id).where(PROCESSED.c.event_id == event_id)).first()
            self.processed[event_id] = found is not None
        return self.processed[event_id]

    # -- staging ------------------------------------------------------------------------------------

    def add_child(self, child: Child) -> None:
        self.children[child.id] = child
        self.stored_children[child.id] = None
        self.case_ids[child.id] = []  # a new child has no case in the database
        self.changes += 1

    def add_case(self, case: Case) -> None:
        self.cases[case.id] = case
        self.stored_cases[case.id] = None
        self.case_ids.setdefault(case.child_id, []).append(case.id)
        self.changes += 1

    def add_enquiry(self, enq: Enquiry) -> None:
        self.enquiries[enq.id] = enq
        self.stored_enquiries[enq.id] = None
        self.changes += 1

    def append(self, table: sa.Table, values: dict[str, Any]) -> None:
        """A row for an append-only table (notifications, audit, processed ids, the matcher's rows)."""
        self.appended[table].append(values)
        self.changes += 1

    def mark_processed(self, event_id: str, outcome: str, at: dt.datetime) -> None:
        self.append(PROCESSED, processed_values(event_id, outcome, at))
        self.processed[event_id] = True

    def settle(self, children: Iterable[Child]) -> None:
        """What a commit does to the objects themselves: a restricted child keeps no address."""
        for child in children:
            if not child.restricted:
                continue
            child.addresses.clear()
            stored = self.stored_children.get(child.id)
            if stored is not None and stored.addresses:
                stored.purge_addresses, stored.addresses, stored.valid_to = True, 0, []

    # -- writing ------------------------------------------------------------------------------------

    def write(self) -> None:
        """Send every change in the order the foreign keys need; the caller commits."""
        out = _Statements()
        self._children_out(out)
        self._cases_out(out)
        self._enquiries_out(out)
        for table, rows in self.appended.items():
            out.insert(table, rows)
        out.run(self.session.connection())

    def _children_out(self, out: _Statements) -> None:
        for child in self.children.values():
            stored = self.stored_children[child.id]
            values = child_values(child)
            if stored is None:
                out.insert(CHILD, [{"id": child.id, **values}])
                stored = _StoredChild(values, 0, set(), 0, [])
            else:
                if values != stored.values:
                    out.update(CHILD, {"id": child.id}, values)
                if stored.purge_addresses:
                    out.delete(ADDRESS, {"child_id": child.id})
            out.insert(IDENTITY, [{"child_id": child.id, **identity_values(child.identities[seq], seq)}
                                  for seq in range(stored.identities, len(child.identities))])
            out.insert(IDENTIFIER, [{"child_id": child.id, "scheme": i.scheme.value, "value": i.value}
                                    for i in sorted(child.identifiers, key=lambda i: (i.scheme.value, i.value))
                                    if (i.scheme.value, i.value) not in stored.identifiers])
            out.insert(ADDRESS, [{"child_id": child.id, **address_values(child.addresses[seq], seq)}
                                 for seq in range(stored.addresses, len(child.addresses))])
            for seq, (addr, before) in enumerate(zip(child.addresses, stored.valid_to, strict=False)):
                if addr.valid_to != before:
                    out.update(ADDRESS, {"child_id": child.id, "seq": seq}, {"valid_to": addr.valid_to})

    def _cases_out(self, out: _Statements) -> None:
        for case in self.cases.values():
            stored = self.stored_cases[case.id]
            values = case_values(case)
            flags = {f.value for f in case.risk_flags}
            if stored is None:
                out.insert(CASE, [{"id": case.id, **values}])
                stored = _StoredCase(values, set(), 0, {})
            elif values != stored.values:
                out.update(CASE, {"id": case.id}, values)
            for flag in sorted(stored.flags - flags):
                out.delete(RISK_FLAG, {"case_id": case.id, "flag": flag})
            out.insert(RISK_FLAG, [{"case_id": case.id, "flag": flag} for flag in sorted(flags - stored.flags)])
            out.insert(TRANSITION, [{"case_id": case.id, **transition_values(case.history[seq], seq)}
                                    for seq in range(stored.transitions, len(case.history))])
            for task in case.tasks:
                task_now = task_values(task)
                before = stored.tasks.get(task.id)
                if before is None:
                    out.insert(TASK, [{"id": task.id, "case_id": case.id, **task_now}])
                elif before != task_now:
                    out.update(TASK, {"id": task.id}, task_now)

    def _enquiries_out(self, out: _Statements) -> None:
        for enq in self.enquiries.values():
            stored = self.stored_enquiries[enq.id]
            values = enquiry_values(enq)
            if stored is None:
                out.insert(ENQUIRY, [{"id": enq.id, **values}])
            elif values != stored:
                out.update(ENQUIRY, {"id": enq.id}, values)


class _Statements:
    """Rows to write, grouped by table and statement shape, sent deletes, inserts then updates."""

    def __init__(self) -> None:
        self.deletes: dict[tuple[sa.Table, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
        self.inserts: dict[sa.Table, list[dict[str, Any]]] = defaultdict(list)
        self.updates: dict[tuple[sa.Table, tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)

    def insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.inserts[table].extend(rows)

    def delete(self, table: sa.Table, where: dict[str, Any]) -> None:
        self.deletes[(table, tuple(where))].append({f"w_{k}": v for k, v in where.items()})

    def update(self, table: sa.Table, where: dict[str, Any], values: dict[str, Any]) -> None:
        params = {f"w_{k}": v for k, v in where.items()} | {f"v_{k}": v for k, v in values.items()}
        self.updates[(table, tuple(where), tuple(values))].append(params)

    def run(self, conn: sa.Connection) -> None:
        for (table, keys), params in self.deletes.items():
            conn.execute(sa.delete(table).where(*_matching(table, keys)), params)
        # Parents first (children before their rows, cases before tasks); other parts' tables last.
        order = {table: n for n, table in enumerate(CHILD.metadata.sorted_tables)}
        copy = conn.dialect.driver == "psycopg"
        for table in sorted(self.inserts, key=lambda t: order.get(t, len(order))):
            for same in _by_keys(self.inserts[table]).values():
                if copy:
                    _copy(conn, table, same)
                else:
                    conn.execute(sa.insert(table), same)
        for (table, keys, columns), params in self.updates.items():
            conn.execute(sa.update(table).where(*_matching(table, keys))
                         .values({c: sa.bindparam(f"v_{c}") for c in columns}), params)


def _copy(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Rows into PostgreSQL with COPY: one stream, not a statement per row (several times faster)."""
    columns = list(rows[0])
    as_json = [isinstance(table.c[c].type, sa.JSON) for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as stream:
            for row in rows:
                stream.write_row([json.dumps(row[c]) if j else row[c] for c, j in zip(columns, as_json, strict=True)])
    except psycopg.Error as exc:
        # Raised as SQLAlchemy raises a statement's errors (IntegrityError for a notification another
        # worker recorded first, DataError for text PostgreSQL refuses), so callers handle both alike.
        lost = raw.broken or raw.closed
        if lost:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error, connection_invalidated=lost) from exc


def _matching(table: sa.Table, keys: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    return [table.c[k] == sa.bindparam(f"w_{k}") for k in keys]


def _by_keys(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    # An executemany needs the same keys in every row.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(row)].append(row)
    return groups


class StagedRegister(RegisterRepository):
    """One notification's view of a ``BatchWriter``: the repository the handlers use, writing nothing yet."""

    def __init__(self, writer: BatchWriter) -> None:
        super().__init__(writer.session)
        self.writer = writer
        self._touched: dict[str, Child] = {}

    def add_child(self, child: Child) -> None:
        self.writer.add_child(child)
        self._touched[child.id] = child

    def get_child(self, child_id: str) -> Child | None:
        child = self.writer.child(child_id)
        if child is not None:
            self._touched[child_id] = child
        return child

    def loaded_children(self) -> list[Child]:
        return list(self._touched.values())

    def add_case(self, case: Case) -> None:
        self.writer.add_case(case)

    def get_case(self, case_id: str) -> Case | None:
        return self.writer.case(case_id)

    def open_case_for(self, child_id: str) -> Case | None:
        return self.writer.open_case(child_id)

    def add_notification(self, n: NotificationRecord) -> None:
        self.writer.append(NOTIFICATION, notification_values(n))

    def get_enquiry(self, enquiry_id: str) -> Enquiry | None:
        return self.writer.enquiry(enquiry_id)

    def add_enquiry(self, enq: Enquiry) -> None:
        self.writer.add_enquiry(enq)

    def add_audit(self, entry: AuditEntry) -> None:
        self.writer.append(AUDIT, audit_values(entry))

    def is_processed(self, event_id: str) -> bool:
        return self.writer.is_processed(event_id)

    def mark_processed(self, event_id: str, outcome: str, at: dt.datetime) -> None:
        self.writer.mark_processed(event_id, outcome, at)

    def sync(self) -> None:
        self.writer.settle(self._touched.values())

    def forget(self) -> None:
        self._touched.clear()


class BatchFailed(Exception):
    """A notification of a batch written in one flush failed: do the batch again with savepoints."""


BeforeCommit = Callable[[Session, RegisterRepository], None]


class StagedUnit(UnitOfWork):
    """One notification's unit of work in a batch staged in a ``BatchWriter`` and written at its end.

    ``commit`` settles the domain objects (nothing goes to the database yet). There is no savepoint
    to roll back to, so leaving after staging without committing spoils the batch, which the caller
    then does again another way (the matcher: with savepoints; the API: one notification at a time).
    """

    def __init__(self, writer: BatchWriter, before_commit: BeforeCommit | None = None) -> None:
        self._writer = writer
        self.before_commit = before_commit
        self._committed = False
        self._staged_before = 0

    def __enter__(self) -> StagedUnit:
        self.session = self._writer.session
        self.register = StagedRegister(self._writer)
        self._committed = False
        self._staged_before = self._writer.changes
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        spoilt = not self._committed and self._writer.changes != self._staged_before
        self.session = None
        if spoilt and exc_type is None:
            raise BatchFailed("a notification left without committing after staging rows")

    def commit(self) -> None:
        assert self.session is not None
        if self.before_commit is not None:
            self.before_commit(self.session, self.register)
        self.register.sync()
        self._committed = True

    def rollback(self) -> None:
        raise BatchFailed("a notification rolled back inside a batch written at its end")

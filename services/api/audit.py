"""The append-only, hash-chained audit log of every read and write of personal data.

Each entry's hash covers its own fields and the previous entry's hash, so changing or deleting any
entry breaks every hash after it; the head row catches a cut tail. Entries hold ids, never names.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from services.api.driver_sql import DriverStatement, driver, planned_inserts
from services.api.security import utc_now
from services.api.store import AuditHeadRow, AuditRecordRow

GENESIS = "0" * 64
_LOCK_KEY = 0x434D4541  # PostgreSQL advisory lock id for appends ("CMEA")


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which record, why and when."""

    actor: str
    actor_la: str
    action: str
    subject_type: str
    subject_id: str
    purpose: str
    detail: str = ""


def _timestamp(at: dt.datetime) -> str:
    # SQLite hands back naive datetimes; both mean UTC here.
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(seq: int, at: dt.datetime, entry: AuditEntry, prev_hash: str) -> str:
    """The hash of one entry chained to the one before."""
    body = json.dumps([seq, _timestamp(at), entry.actor, entry.actor_la, entry.action, entry.subject_type,
                       entry.subject_id, entry.purpose, entry.detail, prev_hash], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


_AUDIT = cast(sa.Table, AuditRecordRow.__table__)
_HEAD_TABLE = cast(sa.Table, AuditHeadRow.__table__)
_ADVISORY = sa.text("select pg_advisory_xact_lock(:k)")
_HEAD = sa.select(_HEAD_TABLE.c.seq, _HEAD_TABLE.c.hash).where(_HEAD_TABLE.c.id == 1).with_for_update()
_MOVE_HEAD = sa.update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == 1).values(
    seq=sa.bindparam("seq"), hash=sa.bindparam("hash"))


def chained(head: Sequence[Any] | None, entries: Iterable[AuditEntry]) -> list[dict[str, Any]]:
    """The audit rows of ``entries``, chained on from ``head`` (its sequence number and hash; None: none yet)."""
    seq, prev = (int(head[0]), str(head[1])) if head is not None else (0, GENESIS)
    rows = []
    for raw in entries:
        entry = _fit(raw)
        seq += 1
        at = utc_now()
        digest = entry_hash(seq, at, entry, prev)
        rows.append({"seq": seq, "at": at, "actor": entry.actor, "actor_la": entry.actor_la,
                     "action": entry.action, "subject_type": entry.subject_type, "subject_id": entry.subject_id,
                     "purpose": entry.purpose, "detail": entry.detail, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def _fit(entry: AuditEntry) -> AuditEntry:
    """The entry cut to its columns' sizes before hashing, so what is stored is what was hashed."""
    return AuditEntry(entry.actor[:64], entry.actor_la[:3], entry.action[:60], entry.subject_type[:30],
                      entry.subject_id[:64], entry.purpose[:300], entry.detail)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of checking the chain."""

    ok: bool
    entries: int
    head: str
    problems: tuple[str, ...]


class AuditLog:
    """Appends entries (serialised across threads and, on PostgreSQL, processes) and verifies the chain."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._lock = threading.Lock()

    def append(self, *entries: AuditEntry) -> list[int]:
        """Write entries in their own transaction; returns their sequence numbers."""
        with self._lock, self.sessions() as session:
            seqs = self.append_in(session, *entries)
            session.commit()
            return seqs

    def append_in(self, session: Session, *entries: AuditEntry) -> list[int]:
        """Write entries inside the caller's transaction (they commit or roll back with it)."""
        return self.append_on(session.connection(), *entries)

    def append_on(self, conn: sa.Connection, *entries: AuditEntry) -> list[int]:
        """Write entries on ``conn``'s open transaction (Core statements: this is the hot path)."""
        # The head row, locked (FOR UPDATE), serialises appends across threads and processes: a second
        # writer waits, then reads the head the first one left. Before the first entry there is no row
        # to lock, so that case alone takes an advisory lock and reads again.
        head = conn.execute(_HEAD).one_or_none()
        if head is None and conn.dialect.name == "postgresql":
            conn.execute(_ADVISORY, {"k": _LOCK_KEY})
            head = conn.execute(_HEAD).one_or_none()
        rows = chained(head, entries)
        if rows:
            conn.execute(sa.insert(_AUDIT), rows)
            last = rows[-1]
            if head is None:
                conn.execute(sa.insert(_HEAD_TABLE), {"id": 1, "seq": last["seq"], "hash": last["hash"]})
            else:
                conn.execute(_MOVE_HEAD, {"seq": last["seq"], "hash": last["hash"]})
        return [row["seq"] for row in rows]

    def entries(self, *, after: int = 0, limit: int = 100, actor: str | None = None,
                subject_id: str | None = None) -> list[AuditRecordRow]:
        with self.sessions() as session:
            q = sa.select(AuditRecordRow).where(AuditRecordRow.seq > after)
            if actor:
                q = q.where(AuditRecordRow.actor == actor)
            if subject_id:
                q = q.where(AuditRecordRow.subject_id == subject_id)
            return list(session.scalars(q.order_by(AuditRecordRow.seq).limit(limit)))

    def _rows(self, session: Session, batch: int = 5000) -> Iterator[AuditRecordRow]:
        last = 0
        while True:
            rows = list(session.scalars(sa.select(AuditRecordRow).where(AuditRecordRow.seq > last)
                                        .order_by(AuditRecordRow.seq).limit(batch)))
            if not rows:
                return
            yield from rows
            last = rows[-1].seq
            session.expunge_all()

    def verify(self) -> VerifyReport:
        """Recompute the chain from the first entry; every break is reported by sequence number."""
        problems: list[str] = []
        prev, expected, count = GENESIS, 1, 0
        with self.sessions() as session:
            head = session.get(AuditHeadRow, 1)
            for row in self._rows(session):
                count += 1
                if row.seq != expected:
                    problems.append(f"entries {expected}..{row.seq - 1} are missing (deleted)")
                if row.prev_hash != prev:
                    problems.append(f"entry {row.seq}: does not follow the entry before it")
                entry = AuditEntry(row.actor, row.actor_la, row.action, row.subject_type, row.subject_id,
                                   row.purpose, row.detail)
                if entry_hash(row.seq, row.at, entry, row.prev_hash) != row.hash:
                    problems.append(f"entry {row.seq}: content changed after it was written")
                prev, expected = row.hash, row.seq + 1
            last_seq = expected - 1
            if head is None and count:
                problems.append("the chain's head record is missing")
            elif head is not None and (head.seq != last_seq or head.hash != prev):
                problems.append(f"the chain ends at entry {last_seq} but its head says {head.seq}: "
                                "entries were removed from the end, or the head was changed")
        return VerifyReport(not problems, count, prev, tuple(problems))


@dataclass
class _Unit:
    rows: list[tuple[sa.Table, dict[str, Any]]]  # (table, values) inserted with the audit entries
    entries: list[AuditEntry]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    waiter: asyncio.Future[None] | None = None  # for a caller on an event loop (no thread held)

    def finish(self) -> None:
        self.done.set()
        if self.waiter is not None:
            self.waiter.get_loop().call_soon_threadsafe(_settle, self.waiter, self.error)


def _settle(waiter: asyncio.Future[None], error: BaseException | None) -> None:
    if waiter.done():  # the caller gave up (timeout, cancelled)
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)


# The statements above, compiled once for psycopg (the group commit's path on PostgreSQL).
_HEAD_Q, _ADVISORY_Q, _MOVE_HEAD_Q = (DriverStatement(q) for q in (_HEAD, _ADVISORY, _MOVE_HEAD))


def _plain(by_table: dict[sa.Table, list[dict[str, Any]]]) -> list[tuple[str, list[dict[str, Any]]]]:
    plans = planned_inserts(by_table)
    assert plans is not None  # the audit tables' columns are all plain
    return plans


def _commit_on_driver(raw: Any, plans: list[tuple[str, list[dict[str, Any]]]], entries: list[AuditEntry]) -> None:
    """One group commit on psycopg's connection, pipelined: the locked head read is one round trip, and
    the inserts, the head's move and COMMIT go together in a second (what :meth:`AuditLog.append_on`
    does, without SQLAlchemy's per-statement cost)."""
    try:
        with raw.pipeline(), raw.cursor() as cur:
            head = cur.execute(_HEAD_Q.sql, _HEAD_Q.fixed).fetchone()
            if head is None:  # the first entry ever: no head row to lock yet (see append_on)
                cur.execute(_ADVISORY_Q.sql, _ADVISORY_Q.params({"k": _LOCK_KEY}))
                head = cur.execute(_HEAD_Q.sql, _HEAD_Q.fixed).fetchone()
            audit_rows = chained(head, entries)
            if audit_rows:
                last = {"seq": audit_rows[-1]["seq"], "hash": audit_rows[-1]["hash"]}
                if head is None:
                    plans = plans + _plain({_HEAD_TABLE: [{"id": 1, **last}]})
                else:
                    cur.execute(_MOVE_HEAD_Q.sql, _MOVE_HEAD_Q.params(last))
            for sql, rows in plans + _plain({_AUDIT: audit_rows}):
                cur.executemany(sql, rows)
            raw.commit()
    except BaseException:
        with contextlib.suppress(psycopg.Error):  # a lost connection: the pool discards it on return
            raw.rollback()
        raise


class GroupCommit:
    """Writes rows with their audit entries, many callers per transaction (one writer thread).

    Under load, requests arriving while a transaction commits share the next one: one chain-head
    read and one commit serve them all. A caller returns only once its rows are durable.
    """

    def __init__(self, sessions: sessionmaker[Session], audit: AuditLog, max_batch: int = 64) -> None:
        self.sessions = sessions
        self.audit = audit
        self.max_batch = max_batch
        self._queue: queue.Queue[_Unit | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _started(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cmehub-group-commit", daemon=True)
                self._thread.start()

    async def write_async(self, rows: list[tuple[sa.Table, dict[str, Any]]], entries: list[AuditEntry],
                          timeout_s: float = 30.0) -> None:
        """:meth:`write` for a caller on an event loop: it awaits the commit instead of blocking a thread."""
        self._started()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put(_Unit(rows, entries, waiter=waiter))
        try:
            # Shielded: a caller that goes away still has its rows committed, as with write().
            await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        except TimeoutError:
            raise TimeoutError(f"the database did not commit within {timeout_s:.0f} s") from None

    def write(self, rows: list[tuple[sa.Table, dict[str, Any]]], entries: list[AuditEntry],
              timeout_s: float = 30.0) -> None:
        """Insert ``rows`` and append ``entries`` durably; raises what the database raised for them."""
        self._started()
        unit = _Unit(rows, entries)
        self._queue.put(unit)
        if not unit.done.wait(timeout_s):
            raise TimeoutError(f"the database did not commit within {timeout_s:.0f} s")
        if unit.error is not None:
            raise unit.error

    def _commit(self, batch: list[_Unit]) -> None:
        engine = self.sessions.kw["bind"]
        by_table: dict[sa.Table, list[dict[str, Any]]] = {}
        for unit in batch:
            for table, values in unit.rows:
                by_table.setdefault(table, []).append(values)
        entries = [e for unit in batch for e in unit.entries]
        plans = planned_inserts(by_table) if engine.dialect.name == "postgresql" else None
        with self.audit._lock:
            if plans is not None:
                with engine.connect() as conn, driver(conn) as raw:
                    _commit_on_driver(raw, plans, entries)
                return
            with engine.begin() as conn:
                for table, values_list in by_table.items():
                    conn.execute(sa.insert(table), values_list)
                self.audit.append_on(conn, *entries)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            try:
                self._commit(batch)
            except Exception:
                # One bad unit must not fail the others: write them one by one to find it.
                for unit in batch:
                    try:
                        self._commit([unit])
                    except Exception as exc:
                        unit.error = exc
            for unit in batch:
                unit.finish()

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

"""Whereabouts enquiries between authorities: "is this child known to you?", answered with the least
disclosure that serves the stated purpose (DESIGN decision 8).

The linkage engine decides: a match is ``known`` (case status, date last known, a named contact
point, and only what the purpose needs besides), a close call is ``possible`` (a person reviews it
by a stated date) and anything else is ``not_known``. A restricted (S-flagged) child's address is
never disclosed. Every enquiry is recorded in the register as an ``la.enquiry`` notification and
every read of a child's record is audited with the purpose given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

import anyio
import anyio.to_thread
import sqlalchemy as sa
import structlog
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connectors.common.identifiers import nhs_number_problems, normalise_nhs_number, normalise_upn, upn_problems
from schemas.events import make_envelope, make_event
from services.api.audit import AuditEntry, AuditLog, GroupCommit
from services.api.driver_sql import DriverStatement
from services.api.linkage import RegisterIndex
from services.api.store import EnquiryRecordRow
from services.matching.records import Address as RecordAddress
from services.matching.records import PersonRecord
from services.register import clocks
from services.register.bulk import BatchFailed, BatchWriter, StagedUnit
from services.register.handlers import UnknownChild, record_notification
from services.register.model import CaseStatus
from services.register.orm import AddressRow, CaseRow, ChildRow, IdentityRow, TransitionRow
from services.register.repository import RegisterRepository
from services.register.unit_of_work import UnitOfWorkFactory

log = structlog.get_logger("cmehub.api.enquiries")


class Purpose(StrEnum):
    """Why an authority asks (a fixed list: the purpose decides what may be disclosed)."""

    CME_WHEREABOUTS = "cme_whereabouts"
    JOINT_ENQUIRY = "joint_enquiry"
    SAFEGUARDING = "safeguarding"
    IN_YEAR_ADMISSION = "in_year_admission"
    EHE_SUITABILITY = "ehe_suitability"
    CASE_TRANSFER = "case_transfer"


PURPOSE_MEANING = {
    Purpose.CME_WHEREABOUTS: "Locating a child missing education (Education Act 1996 s436A)",
    Purpose.JOINT_ENQUIRY: "Joint school and LA enquiries before removal from roll (SI 2024/208 reg 9(1)(h), (i))",
    Purpose.SAFEGUARDING: "Safeguarding a child at risk (Children Act 2004 s11; Children Act 1989 s47)",
    Purpose.IN_YEAR_ADMISSION: "Arranging a school place for a child arriving in the area",
    Purpose.EHE_SUITABILITY: "Checking the suitability of elective home education (EA 1996 s436A, s437)",
    Purpose.CASE_TRANSFER: "Handing a CME case to the authority where the child now lives",
}

# Beyond case status, date last known and contact point, what each purpose may be told of a known
# child. An address is never told for a restricted record whatever the purpose.
DISCLOSED: dict[Purpose, frozenset[str]] = {
    Purpose.CME_WHEREABOUTS: frozenset({"located_la", "on_roll_at"}),
    Purpose.JOINT_ENQUIRY: frozenset({"on_roll_at"}),
    Purpose.SAFEGUARDING: frozenset({"located_la", "on_roll_at", "address"}),
    Purpose.IN_YEAR_ADMISSION: frozenset({"on_roll_at"}),
    Purpose.EHE_SUITABILITY: frozenset(),
    Purpose.CASE_TRANSFER: frozenset({"located_la", "on_roll_at"}),
}


class EnquiryStatus(StrEnum):
    KNOWN = "known"
    POSSIBLE = "possible"
    NOT_KNOWN = "not_known"


class IndexNotReady(RuntimeError):
    """The register is not loaded yet: answering now could wrongly say "not known"."""


@dataclass(frozen=True)
class EnquirySubject:
    """The child an authority asks about, as it knows them."""

    given_name: str | None
    surname: str | None
    date_of_birth: dt.date | None
    sex: str | None = None
    middle_names: str | None = None
    former_surnames: tuple[str, ...] = ()
    upn: str | None = None
    nhs_number: str | None = None
    postcode: str | None = None
    address_lines: tuple[str, ...] = ()

    def record(self, record_id: str) -> tuple[PersonRecord, list[str]]:
        """The engine's record of this child, and warnings about identifiers that fail their checks."""
        warnings: list[str] = []
        invalid: list[tuple[str, str]] = []
        upn = nhs = None
        if self.upn:
            problems = upn_problems(self.upn)
            if problems:
                warnings += problems
                invalid.append(("upn", self.upn))
            else:
                upn = normalise_upn(self.upn)
        if self.nhs_number:
            problems = nhs_number_problems(self.nhs_number)
            if problems:
                warnings += problems
                invalid.append(("nhs_number", self.nhs_number))
            else:
                nhs = normalise_nhs_number(self.nhs_number)
        text = ", ".join(self.address_lines) or None
        addresses = (RecordAddress(text=text, postcode=self.postcode),) if (text or self.postcode) else ()
        record = PersonRecord(id=record_id, given_name=self.given_name, middle_names=self.middle_names,
                              surname=self.surname, former_surnames=self.former_surnames,
                              date_of_birth=self.date_of_birth, sex=self.sex if self.sex in ("M", "F") else None,
                              addresses=addresses, upn=upn, nhs_number=nhs, invalid_identifiers=tuple(invalid))
        return record, warnings

    def as_json(self) -> dict[str, Any]:
        return {"given_name": self.given_name, "middle_names": self.middle_names, "surname": self.surname,
                "former_surnames": list(self.former_surnames),
                "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None, "sex": self.sex,
                "upn": self.upn, "nhs_number": self.nhs_number, "postcode": self.postcode,
                "address_lines": list(self.address_lines)}


@dataclass(frozen=True)
class Asker:
    """Who asks: the client and its home authority."""

    client_id: str
    la_code: str


@dataclass
class EnquiryAsked:
    subject: EnquirySubject
    purpose: Purpose
    purpose_text: str
    case_reference: str | None = None
    reference: str | None = None  # the asker's own id for the enquiry: re-sending it returns the same answer
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChildFacts:
    """What an answer may draw on about a register child (read in two queries, not a whole record)."""

    child_id: str
    restricted: bool
    current_school: str | None
    date_last_known: dt.date | None
    case_status: str
    located_la: str | None
    address: dict[str, Any] | None


_OPEN = [s.value for s in CaseStatus if s is not CaseStatus.CLOSED]
RECORD_WHEN_IDLE_S = 0.5  # record enquiries in the register once none has arrived for this long...
RECORD_BACKLOG_LIMIT = 120  # ...or after this many waits (a minute) under continuous load


_LAST_IDENTITY = sa.select(sa.func.max(IdentityRow.recorded_on)).where(IdentityRow.child_id == ChildRow.id)
_LAST_ADDRESS = sa.select(sa.func.max(AddressRow.recorded_on)).where(AddressRow.child_id == ChildRow.id)
_HEAD = sa.select(ChildRow.restricted, ChildRow.current_school, ChildRow.created_on,
                  _LAST_IDENTITY.scalar_subquery(), _LAST_ADDRESS.scalar_subquery()
                  ).where(ChildRow.id == sa.bindparam("child_id"))
_LAST_MOVE = sa.select(sa.func.max(TransitionRow.on)).where(TransitionRow.case_id == CaseRow.id).scalar_subquery()
_CASE = (sa.select(CaseRow.status, CaseRow.located_la, CaseRow.date_last_seen, CaseRow.referred_on, _LAST_MOVE)
         .where(CaseRow.child_id == sa.bindparam("child_id"))
         .order_by(CaseRow.status.in_(_OPEN).desc(), CaseRow.referred_on.desc()).limit(1))
_ADDRESS = (sa.select(AddressRow.lines, AddressRow.town, AddressRow.postcode)
            .where(AddressRow.child_id == sa.bindparam("child_id"), AddressRow.valid_to.is_(None))
            .order_by(AddressRow.seq.desc()).limit(1))
# PostgreSQL: the child and its current case in one statement (one round trip instead of two).
_CURRENT_CASE = (sa.select(CaseRow.status, CaseRow.located_la, CaseRow.date_last_seen, CaseRow.referred_on,
                           _LAST_MOVE.label("last_move"))
                 .where(CaseRow.child_id == ChildRow.id)
                 .order_by(CaseRow.status.in_(_OPEN).desc(), CaseRow.referred_on.desc()).limit(1)
                 .lateral("current_case"))
_HEAD_AND_CASE = (sa.select(ChildRow.restricted, ChildRow.current_school, ChildRow.created_on,
                            _LAST_IDENTITY.scalar_subquery(), _LAST_ADDRESS.scalar_subquery(),
                            *_CURRENT_CASE.c)
                  .select_from(ChildRow).outerjoin(_CURRENT_CASE, sa.true())
                  .where(ChildRow.id == sa.bindparam("child_id")))
_ENQUIRY = cast(sa.Table, EnquiryRecordRow.__table__)
_OWN = sa.select(_ENQUIRY.c.id).where(_ENQUIRY.c.id == sa.bindparam("id"),
                                       _ENQUIRY.c.client_id == sa.bindparam("client_id"))

_HEAD_AND_CASE_SQL, _ADDRESS_SQL, _OWN_SQL = (DriverStatement(q) for q in (_HEAD_AND_CASE, _ADDRESS, _OWN))


def _own(conn: sa.Connection, enquiry_id: str, client_id: str) -> bool:
    """Whether this client asked this enquiry (same reference) before."""
    return _OWN_SQL.first(conn, {"id": enquiry_id, "client_id": client_id}) is not None


def child_facts(conn: sa.Connection | Session, child_id: str, with_address: bool,
                one_statement: bool | None = None) -> ChildFacts | None:
    """The facts of one child and its current case (the open one, else the latest), or None if gone.

    ``one_statement`` (default: on PostgreSQL, which has LATERAL joins) reads child and case together.
    """
    params = {"child_id": child_id}
    case: Any
    if one_statement is None:
        dialect = conn.get_bind().dialect if isinstance(conn, Session) else conn.dialect
        one_statement = dialect.name == "postgresql"
    if one_statement:
        both = _HEAD_AND_CASE_SQL.first(conn, params)
        if both is None:
            return None
        restricted, school, created, identity_on, address_on = both[:5]
        case = both[5:] if both[5] is not None else None  # a case always has a status
    else:
        head = conn.execute(_HEAD, params).one_or_none()
        if head is None:
            return None
        restricted, school, created, identity_on, address_on = head
        case = conn.execute(_CASE, params).one_or_none()
    dates = [d for d in (created, identity_on, address_on) if d]
    if case is not None:
        dates += [d for d in (case[2], case[3], case[4]) if d]
    address = None
    if with_address and not restricted:
        found = _ADDRESS_SQL.first(conn, params)
        if found is not None:
            lines = found[0] if isinstance(found[0], list) else json.loads(found[0] or "[]")
            address = {"lines": list(lines), "town": found[1], "postcode": found[2]}
    return ChildFacts(child_id, bool(restricted), school, max(dates) if dates else None,
                      case[0] if case is not None else "no_case", case[1] if case is not None else None, address)


def enquiry_values(row: EnquiryRecordRow) -> dict[str, Any]:
    """The row as column values (written with Core by the group commit)."""
    return {c.key: getattr(row, c.key) for c in _ENQUIRY.columns}


class WhereaboutsService:
    """Answers, records, reviews and reads whereabouts enquiries."""

    def __init__(self, sessions: sessionmaker[Session], uows: UnitOfWorkFactory, index: RegisterIndex,
                 audit: AuditLog, la_code: str, la_name: str, contact_point: str = "", review_days: int = 2,
                 writer: GroupCommit | None = None) -> None:
        self.sessions = sessions
        self.index = index
        self.audit = audit
        self.writer = writer or GroupCommit(sessions, audit)
        self.la_code = la_code
        self.contact_point = contact_point or f"Children Missing Education team, {la_name} (LA {la_code})"
        self.review_days = review_days
        self.uows = uows
        self.recorded = threading.Event()  # set when enquiries wait to be recorded in the register
        self._stopping = False
        self.last_asked = 0.0
        self.pending_hint = 0
        years = range(dt.date.today().year - 1, dt.date.today().year + 3)
        self.calendar = clocks.SchoolCalendar(la_code=la_code, years=(),
                                              bank_holidays=clocks.english_bank_holidays(years))

    # -- answering --------------------------------------------------------------------------------

    def ask(self, asker: Asker, asked: EnquiryAsked, now: dt.datetime | None = None) -> EnquiryRecordRow:
        """Answer an enquiry now and store it with its audit entries (one group commit).

        The same ``reference`` from the same client answers once. The register's own record of the
        enquiry (an ``la.enquiry`` notification) is written just after, by :meth:`record_pending`.
        """
        row, entries = self.answer(asker, asked, now)
        if entries:
            self.writer.write([(_ENQUIRY, enquiry_values(row))], entries)
            self._asked()
        return row

    async def ask_async(self, asker: Asker, asked: EnquiryAsked, limiter: anyio.CapacityLimiter | None = None
                        ) -> EnquiryRecordRow:
        """:meth:`ask` for the event loop, then stored by the group commit without holding a thread, so
        waiting answers share commits.

        Without ``limiter`` the answer is worked out on the loop itself: its linking holds the interpreter
        lock whichever thread runs it, and its reads are sub-millisecond round trips, while handing it to
        a thread and back cost about 1 ms of CPU per enquiry (bench_api: 4.5 to 3.5 ms). With one, it is
        worked out in a thread, at most ``limiter``'s at once (for a database far enough away that
        overlapping its round trips pays).
        """
        if limiter is None:
            row, entries = self.answer(asker, asked, None)
        else:
            row, entries = await anyio.to_thread.run_sync(self.answer, asker, asked, None, limiter=limiter)
        if entries:
            await self.writer.write_async([(_ENQUIRY, enquiry_values(row))], entries)
            self._asked()
        return row

    def _asked(self) -> None:
        self.last_asked = time.monotonic()
        self.recorded.set()

    def answer(self, asker: Asker, asked: EnquiryAsked, now: dt.datetime | None = None
               ) -> tuple[EnquiryRecordRow, list[AuditEntry]]:
        """The answer and its audit entries, not yet stored (no entries: an answer given before)."""
        # Counted from its arrival: an answer still in progress keeps the register's recording waiting.
        self.last_asked = time.monotonic()
        now = now or dt.datetime.now(dt.UTC)
        enquiry_id = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"cmehub:{asker.client_id}:{asked.reference}"))
                      if asked.reference else str(uuid.uuid4()))
        # One connection for every read of the answer, without a transaction (no BEGIN and ROLLBACK
        # round trips; the reads need no common snapshot: the register may change between them anyway).
        with self.uows.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if asked.reference and _own(conn, enquiry_id, asker.client_id):
                existing = self.get(enquiry_id, asker.client_id)
                if existing is not None:
                    return existing, []
            if self.index.mark is None:
                raise IndexNotReady("the register is still loading; ask again in a minute")
            record, warnings = asked.subject.record(enquiry_id)
            with_address = "address" in DISCLOSED[asked.purpose]
            decision = self.index.link(record)
            child_id = decision.register_id if decision.decision in ("match", "review") else None
            facts = child_facts(conn, child_id, with_address) if child_id else None
            if child_id and facts is None:  # merged away since the index last caught up: forget and ask again
                self.index.forget(child_id)
                decision = self.index.link(record)
                child_id = decision.register_id if decision.decision in ("match", "review") else None
                facts = child_facts(conn, child_id, with_address) if child_id else None
        if facts is None:
            status = EnquiryStatus.NOT_KNOWN
        else:
            status = EnquiryStatus.KNOWN if decision.decision == "match" else EnquiryStatus.POSSIBLE
        review_by = self.calendar.add_school_days(now.date(), self.review_days) \
            if status is EnquiryStatus.POSSIBLE else None
        answer = self._answer(enquiry_id, status, asked, facts, review_by, now, warnings + asked.warnings)
        row = EnquiryRecordRow(
            id=enquiry_id, direction="incoming", client_id=asker.client_id, from_la=asker.la_code,
            to_la=self.la_code, purpose_code=asked.purpose.value, purpose_text=asked.purpose_text,
            case_reference=asked.case_reference, subject=asked.subject.as_json(), status=status.value,
            answer=answer, child_id=facts.child_id if facts else None, match_probability=decision.match_probability,
            reason=decision.reason, review_by=review_by, reviewed=False, created_at=now, answered_at=now)
        purpose = f"{asked.purpose.value}: {asked.purpose_text}"
        theirs = f"; their reference {asked.reference}" if asked.reference else ""
        entries = [AuditEntry(asker.client_id, asker.la_code, "enquiry.received", "enquiry", enquiry_id, purpose,
                              f"answered {status.value}{theirs}")]
        if facts is not None:
            entries.append(AuditEntry(asker.client_id, asker.la_code, "child.read", "child", facts.child_id, purpose,
                                      f"enquiry {enquiry_id}; disclosed {','.join(sorted(answer['known'] or {}))}"
                                      if status is EnquiryStatus.KNOWN else f"enquiry {enquiry_id}; held for review"))
        return row, entries

    def _answer(self, enquiry_id: str, status: EnquiryStatus, asked: EnquiryAsked, facts: ChildFacts | None,
                review_by: dt.date | None, now: dt.datetime, warnings: list[str]) -> dict[str, Any]:
        known: dict[str, Any] | None = None
        possible: dict[str, Any] | None = None
        if status is EnquiryStatus.KNOWN and facts is not None:
            known = self._known(asked.purpose, facts)
        elif status is EnquiryStatus.POSSIBLE:
            possible = {"review_by": review_by.isoformat() if review_by else None,
                        "contact_point": self.contact_point,
                        "message": "a person will compare the details and answer by the date given"}
        return {"enquiry_id": enquiry_id, "status": status.value, "responding_la": self.la_code,
                "purpose": {"code": asked.purpose.value, "text": asked.purpose_text},
                "case_reference": asked.case_reference, "answered_at": now.isoformat(), "known": known,
                "possible": possible, "warnings": warnings}

    def _known(self, purpose: Purpose, facts: ChildFacts) -> dict[str, Any]:
        allowed = DISCLOSED[purpose]
        known: dict[str, Any] = {
            "case_status": facts.case_status,
            "date_last_known": facts.date_last_known.isoformat() if facts.date_last_known else None,
            "contact_point": self.contact_point,
        }
        if "on_roll_at" in allowed:
            known["on_roll_at"] = facts.current_school
        if "located_la" in allowed and facts.case_status == CaseStatus.LOCATED_OTHER_LA.value:
            known["located_la"] = facts.located_la
        if "address" in allowed and not facts.restricted and facts.address is not None:
            known["address"] = facts.address
        return known

    # -- the register's record of each enquiry ----------------------------------------------------

    def record_pending(self, limit: int = 50, yield_to_requests: bool = False) -> int:
        """Record answered enquiries in the register (``la.enquiry`` via its own handler); returns how many.

        With ``yield_to_requests`` it stops early once a new enquiry arrives (answers come first).
        On PostgreSQL the batch is claimed with ``FOR UPDATE SKIP LOCKED``, so several API workers
        share the outbox instead of each recording every enquiry, and it is recorded in the claim's
        own transaction a table at a time (:class:`BatchWriter`): the register's rows and the marks
        commit together. If one enquiry of the batch fails, the batch is recorded one at a time.
        """
        if yield_to_requests and time.monotonic() - self.last_asked < RECORD_WHEN_IDLE_S:
            return 0
        with self.sessions() as claim:
            query = (sa.select(EnquiryRecordRow).where(EnquiryRecordRow.registered_at.is_(None),
                                                       EnquiryRecordRow.direction == "incoming")
                     .order_by(EnquiryRecordRow.created_at).limit(limit))
            postgres = claim.get_bind().dialect.name == "postgresql"
            pending = list(claim.scalars(query.with_for_update(skip_locked=True) if postgres else query))
            if not postgres:
                claim.commit()  # SQLite has no row locks: end the read so the register's writes go ahead
            done: list[str] = []
            try:
                if postgres and len(pending) > 1 and self._record_batch(claim, pending):
                    done = [row.id for row in pending]
                    pending = []
                for row in pending:
                    if yield_to_requests and time.monotonic() - self.last_asked < RECORD_WHEN_IDLE_S:
                        break
                    self._record_in_register(row)
                    done.append(row.id)
            finally:
                if done:
                    claim.execute(sa.update(EnquiryRecordRow).where(EnquiryRecordRow.id.in_(done))
                                  .values(registered_at=dt.datetime.now(dt.UTC)))
                    claim.commit()
        return len(done)

    def _record_batch(self, session: Session, rows: list[EnquiryRecordRow]) -> bool:
        """Record ``rows`` in ``session``'s transaction, staged then written a table at a time.

        False when one of them fails: then nothing of the batch is kept (its savepoint is rolled back).
        """
        events = [(row, self._enquiry_event(row)) for row in rows]
        savepoint = session.begin_nested()
        writer = BatchWriter(session)
        try:
            ids = [str(event["event_id"]) for _, event in events]
            done = RegisterRepository(session).processed_among(ids)
            writer.processed.update((event_id, event_id in done) for event_id in ids)
            writer.load_children({row.child_id for row in rows if row.child_id})
            for row, event in events:
                record_notification(StagedUnit(writer), event, row.child_id, local_la=self.la_code,
                                    actor=f"api:{row.client_id}", now=event["occurred_at"])
            writer.write()
            savepoint.commit()
        except (BatchFailed, IntegrityError, DataError, LookupError, ValueError, TypeError) as exc:
            savepoint.rollback()
            log.warning("recording a batch of enquiries failed; recording them one at a time",
                        error=type(exc).__name__, enquiries=len(rows))
            return False
        return True

    def _enquiry_event(self, row: EnquiryRecordRow) -> dict[str, Any]:
        # The child's details stay out of the event (least retention): the match is the child id.
        at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        envelope = make_envelope("la.enquiry", partner_id=f"la:{row.from_la}", source_kind="authority",
                                 responsible_la=self.la_code, occurred_at=at, reference=f"enquiry:{row.id}",
                                 received_at=at)
        return make_event("la.enquiry", envelope, child=None, from_la=row.from_la, to_la=self.la_code,
                          enquiry_id=row.id, reason=f"{row.purpose_code}: {row.purpose_text}"[:500],
                          case_reference=row.case_reference)

    def _record_in_register(self, row: EnquiryRecordRow) -> None:
        event = self._enquiry_event(row)
        actor = f"api:{row.client_id}"
        try:
            record_notification(self.uows(), event, row.child_id, local_la=self.la_code, actor=actor,
                                now=event["occurred_at"])
        except UnknownChild:
            # Merged away or erased after the answer was given: the enquiry is still the register's to
            # keep, so it is recorded without its child rather than holding up every enquiry behind it.
            log.warning("the child an enquiry was answered about has left the register; recorded without it")
            record_notification(self.uows(), event, None, local_la=self.la_code, actor=actor,
                                now=event["occurred_at"])

    async def _recorder(self) -> None:
        while not self._stopping:
            await asyncio.to_thread(self.recorded.wait, 5.0)
            self.recorded.clear()
            if self._stopping:
                return
            try:
                # Answers come first: while enquiries keep arriving, recording waits (the rows are durable
                # and marked pending), unless the backlog grows past RECORD_BACKLOG_LIMIT.
                while time.monotonic() - self.last_asked < RECORD_WHEN_IDLE_S and \
                        self.pending_hint < RECORD_BACKLOG_LIMIT and not self._stopping:
                    self.pending_hint += 1
                    await asyncio.sleep(RECORD_WHEN_IDLE_S)
                forced = self.pending_hint >= RECORD_BACKLOG_LIMIT
                self.pending_hint = 0
                while await asyncio.to_thread(self.record_pending, 50, not forced) > 0:
                    await asyncio.sleep(0.05)  # leave room for requests between batches
                if time.monotonic() - self.last_asked < RECORD_WHEN_IDLE_S:
                    self.recorded.set()  # interrupted by new enquiries: come back when they pause
            except Exception as exc:  # the rows stay pending and are retried on the next wake
                log.error("recording enquiries in the register failed", error=type(exc).__name__)
                await asyncio.sleep(5.0)

    def readiness(self) -> dict[str, Any]:
        """Enquiries keep being answered while the register's record of them catches up; say how far behind."""
        with self.uows.engine.connect() as conn:
            waiting = conn.execute(sa.select(sa.func.count()).select_from(_ENQUIRY).where(
                _ENQUIRY.c.registered_at.is_(None), _ENQUIRY.c.direction == "incoming")).scalar_one()
        return {"ready": True, "detail": f"{waiting} answered enquiries waiting to be recorded in the register"}

    async def start(self) -> None:
        self._stopping = False
        self.recorded.set()  # catch up with anything left from before a restart
        self._task = asyncio.create_task(self._recorder())

    async def stop(self) -> None:
        self._stopping = True
        self.recorded.set()  # wake the waiting thread so shutdown does not wait for its timeout
        task = getattr(self, "_task", None)
        if task is not None:
            task.cancel()
        self.writer.stop()

    # -- reading and reviewing --------------------------------------------------------------------

    def get(self, enquiry_id: str, client_id: str) -> EnquiryRecordRow | None:
        """The enquiry when ``client_id`` asked it; None otherwise (never another client's)."""
        with self.sessions() as session:
            row = session.get(EnquiryRecordRow, enquiry_id)
            return row if row is not None and row.client_id == client_id else None

    def mine(self, client_id: str, limit: int = 100) -> list[EnquiryRecordRow]:
        with self.sessions() as session:
            return list(session.scalars(sa.select(EnquiryRecordRow).where(EnquiryRecordRow.client_id == client_id)
                                        .order_by(EnquiryRecordRow.created_at.desc()).limit(limit)))

    def pending_reviews(self, limit: int = 100) -> list[EnquiryRecordRow]:
        with self.sessions() as session:
            return list(session.scalars(sa.select(EnquiryRecordRow).where(
                EnquiryRecordRow.direction == "incoming", EnquiryRecordRow.status == EnquiryStatus.POSSIBLE.value,
                EnquiryRecordRow.reviewed.is_(False)).order_by(EnquiryRecordRow.review_by).limit(limit)))

    def get_any(self, enquiry_id: str) -> EnquiryRecordRow | None:
        with self.sessions() as session:
            return session.get(EnquiryRecordRow, enquiry_id)

    def review(self, enquiry_id: str, officer: Asker, same_child: bool,
               now: dt.datetime | None = None) -> EnquiryRecordRow | None:
        """An officer's decision on a ``possible`` answer: the enquirer then sees known or not_known."""
        now = now or dt.datetime.now(dt.UTC)
        with self.sessions() as session:
            row = session.get(EnquiryRecordRow, enquiry_id, with_for_update=True)
            if row is None or row.status != EnquiryStatus.POSSIBLE.value or row.reviewed:
                return None
            candidate = row.child_id
            purpose = Purpose(row.purpose_code)
            facts = child_facts(session, row.child_id, "address" in DISCLOSED[purpose]) \
                if same_child and row.child_id else None
            status = EnquiryStatus.KNOWN if facts is not None else EnquiryStatus.NOT_KNOWN
            asked = EnquiryAsked(EnquirySubject(None, None, None), purpose, row.purpose_text, row.case_reference)
            answer = self._answer(row.id, status, asked, facts, None, now, list(row.answer.get("warnings", [])))
            answer["reviewed"] = {"on": now.date().isoformat(), "note": "decided by an officer"}
            row.status, row.answer, row.reviewed, row.answered_at = status.value, answer, True, now
            if status is EnquiryStatus.NOT_KNOWN:
                row.child_id = None
            why = f"{row.purpose_code}: review of enquiry {row.id}"
            entries = [AuditEntry(officer.client_id, officer.la_code, "enquiry.reviewed", "enquiry", row.id, why,
                                  status.value)]
            if candidate:
                entries.append(AuditEntry(officer.client_id, officer.la_code, "child.read", "child", candidate,
                                          why, "compared with the enquiry"))
            self.audit.append_in(session, *entries)
            session.commit()
            return row

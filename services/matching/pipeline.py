"""Notifications through the matcher: link each to a child, then apply it to the register once.

The business step of the stream, the review queue and the tests: no Kafka here. A notification's
register effects, its decision with the evidence and its processed id are written together, so a
redelivered notification changes nothing. On PostgreSQL a batch shares one transaction: the children
it is about are loaded in a few set-based queries and its rows are written a table at a time
(services/register/bulk.py); if any notification of it fails, the batch is done again through the
ORM with each notification in its own savepoint, so one bad notification fails alone. SQLite commits
each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace, TracebackType
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from schemas.events import to_jsonable
from services.matching.blocking import BlockingIndex, Prepared
from services.matching.decision import ComparisonWeight, LinkDecision
from services.matching.engine import Linker
from services.matching.outputs import case_transfer_event, match_decision_event, register_change_events
from services.matching.records import PersonRecord, from_child_identity
from services.matching.register_view import child_record, load_index
from services.matching.store import MatchDecisionRow, ReviewItemRow
from services.register.among import among
from services.register.bulk import BatchFailed, BatchWriter, BeforeCommit, StagedRegister, StagedUnit
from services.register.database import session_factory
from services.register.handlers import RecordOutcome, record_notification
from services.register.repository import RegisterRepository
from services.register.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger("cmehub.matching")



class ReviewNotFound(LookupError):
    """No notification with that id is held for review."""


class ReviewAlreadyDecided(ValueError):
    """A person has already decided this review."""


class _Step(UnitOfWork):
    """One notification's unit of work inside a batch's session: a savepoint, not a transaction.

    ``commit`` releases the savepoint (the batch commits later); leaving without it rolls back this
    notification only. ``before_commit`` adds the matcher's rows and reads the child's new state.
    """

    def __init__(self, session: Session, before_commit: BeforeCommit | None = None) -> None:
        self._shared = session
        self.before_commit = before_commit
        self._savepoint: SessionTransaction | None = None
        self._released = False

    def __enter__(self) -> _Step:
        self.session = self._shared
        self.register = RegisterRepository(self._shared)
        self._savepoint = self._shared.begin_nested()
        self._released = False
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._released:
            self.rollback()
        self.session = None

    def commit(self) -> None:
        assert self.session is not None and self._savepoint is not None
        if self.before_commit is not None:
            self.before_commit(self.session, self.register)
        self.register.sync()
        self.session.flush()
        self._savepoint.commit()
        self._released = True

    def rollback(self) -> None:
        if self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.rollback()
        self.register.forget()


class _Single(UnitOfWork):
    """A unit of work of its own (SQLite, reviews) with the matcher's rows in the same transaction."""

    def __init__(self, uows: UnitOfWorkFactory, before_commit: BeforeCommit | None = None) -> None:
        super().__init__(session_factory(uows.engine))
        self.before_commit = before_commit

    def commit(self) -> None:
        assert self.session is not None
        if self.before_commit is not None:
            self.before_commit(self.session, self.register)
        super().commit()


@dataclass
class Applied:
    """What processing one notification did, and the events to publish about it."""

    event_id: str
    decision: LinkDecision | None = None
    outcome: RecordOutcome | None = None
    held_for_review: bool = False
    duplicate: bool = False
    outputs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (topic, event)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class NotificationPipeline:
    """Links notifications against an in-memory index of the register and records them."""

    def __init__(self, uows: UnitOfWorkFactory, linker: Linker | None = None, *, local_la: str | None = None,
                 clock: Callable[[], dt.datetime] = _now) -> None:
        self.uows = uows
        self.linker = linker or Linker()
        self.local_la = local_la
        self.clock = clock
        self.shares_transactions = uows.engine.dialect.name == "postgresql"
        # Called once an index is loaded (the worker takes the index out of the garbage collector's sight).
        self.after_index_load: Callable[[], None] | None = None
        self._indexes: dict[str, BlockingIndex] = {}
        # While a batch is written with one flush: what it changed in the index, to put back on failure,
        # the notifications held for review and the decisions it wrote (not in the database yet).
        self._undo: list[tuple[str, str, Prepared | None]] | None = None
        self._held: set[str] = set()
        self._decisions: dict[str, Any] = {}  # event id -> its decision's values, as attributes
        self._prepared: dict[str, Prepared] = {}  # event id -> its record, prepared for the linker

    # -- the index ------------------------------------------------------------------------------

    def index_for(self, la_code: str) -> BlockingIndex:
        """The authority's register index, loaded on first use and kept current as children change."""
        index = self._indexes.get(la_code)
        if index is None:
            index = self._indexes[la_code] = load_index(self.uows, self.linker, la_code)
            log.info("register index loaded", la=la_code, children=len(index))
            if self.after_index_load is not None:
                self.after_index_load()
        return index

    def _index(self, la_code: str, record: PersonRecord) -> None:
        index = self.index_for(la_code)
        before = None
        if record.id in index.positions:
            before = index.records[index.positions[record.id]]
            index.remove(record.id)
        if self._undo is not None:
            self._undo.append((la_code, record.id, before))
        index.add(record)

    def forget_indexes(self) -> None:
        """Drop every index: after a rebalance, or a batch that did not commit."""
        self._indexes.clear()

    # -- notifications ----------------------------------------------------------------------------

    def process(self, event: Mapping[str, Any]) -> Applied:
        """Link and record one notification (a no-op for one already processed)."""
        result = self.process_batch([event])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def process_batch(self, events: Sequence[Mapping[str, Any]]) -> list[Applied | Exception]:
        """Link and record notifications in order; a notification that fails gives its exception.

        A failure of the database itself (lost connection, failed commit) is raised for the whole
        batch, and nothing of it is kept.
        """
        if not self.shares_transactions:
            results: list[Applied | Exception] = []
            for event in events:
                with session_factory(self.uows.engine)() as probe:
                    results.append(self._one(event, lambda hook: _Single(self.uows, hook), probe))
            return results
        if len(events) > 1:
            staged = self._in_bulk(events)
            if staged is not None:
                return staged
        session = session_factory(self.uows.engine)()
        try:
            results = [self._one(event, lambda hook: _Step(session, hook), session) for event in events]
            session.commit()
        except BaseException:
            session.rollback()
            self.forget_indexes()  # it may hold children of the transaction that did not commit
            raise
        finally:
            session.close()
        return results

    def _in_bulk(self, events: Sequence[Mapping[str, Any]]) -> list[Applied | Exception] | None:
        """The whole batch in one transaction, written a table at a time, or None when a notification
        of it failed (then nothing of it is kept, the index is as before, and the caller uses savepoints)."""
        session = session_factory(self.uows.engine)()
        writer = BatchWriter(session)
        self._undo = []
        try:
            ids = [str(e["event_id"]) for e in events]
            done = RegisterRepository(session).processed_among(ids)
            held = set(session.scalars(
                sa.select(ReviewItemRow.event_id).where(among(ReviewItemRow.event_id, ids, session))))
            writer.processed.update((i, i in done) for i in ids)
            if done or held:  # their decisions are published again: read them in one query
                session.scalars(sa.select(MatchDecisionRow).where(
                    among(MatchDecisionRow.event_id, done | held, session))).all()
            self._held, self._decisions = held, {}
            writer.load_children(self._likely_children(events, done | held))
            results: list[Applied | Exception] = []
            for event in events:
                results.append(self._process(event, lambda hook: StagedUnit(writer, hook), session, writer))
            writer.write()
            session.commit()
        except (BatchFailed, IntegrityError, DataError, LookupError, ValueError, TypeError):
            session.rollback()
            self._undo_index()
            return None
        except BaseException:
            session.rollback()
            self.forget_indexes()  # it may hold children of the transaction that did not commit
            raise
        finally:
            session.close()
            self._undo = None
            self._held, self._decisions, self._prepared = set(), {}, {}
        return results

    def _likely_children(self, events: Sequence[Mapping[str, Any]], skip: set[str]) -> set[str]:
        """The register children holding an identifier of the batch's notifications, to load them together.

        Each notification's record is prepared here once for the linker. A child it is linked to
        without a shared identifier (or one created earlier in the batch) is loaded when asked for.
        """
        wanted: set[str] = set()
        for event in events:
            event_id = str(event["event_id"])
            if event_id in skip or not event.get("child"):
                continue
            la = self.local_la or str(event["responsible_la"])
            prepared = self._prepared[event_id] = self.linker.prepare(from_child_identity(event_id, event["child"]))
            wanted |= self.index_for(la).sharing_identifier(prepared)
        return wanted

    def _undo_index(self) -> None:
        """Put back the index entries the failed batch replaced, newest first."""
        for la, record_id, before in reversed(self._undo or []):
            index = self._indexes.get(la)
            if index is None:
                continue
            if record_id in index.positions:
                index.remove(record_id)
            if before is not None:
                index.add_prepared(before)

    def _one(self, event: Mapping[str, Any], unit: Callable[[BeforeCommit | None], UnitOfWork],
             session: Session) -> Applied | Exception:
        try:
            return self._process(event, unit, session)
        except (IntegrityError, DataError) as exc:  # this notification's rows, refused by the database
            return exc
        except (LookupError, ValueError, TypeError) as exc:  # this notification, not the database
            return exc

    def _process(self, event: Mapping[str, Any], unit: Callable[[BeforeCommit | None], UnitOfWork],
                 session: Session, writer: BatchWriter | None = None) -> Applied:
        event_id = str(event["event_id"])
        la = self.local_la or str(event["responsible_la"])
        if writer is not None:
            seen = writer.processed.get(event_id, False) or event_id in self._held
        else:
            seen = (RegisterRepository(session).is_processed(event_id)
                    or session.get(ReviewItemRow, event_id) is not None)
        if seen:
            return self._redelivered(event, session)
        if not event.get("child"):
            outcome = record_notification(unit(None), event, None, local_la=la)
            return self._recorded(event, None, outcome, la)
        prepared = self._prepared.pop(event_id, None)
        decision = self.linker.link(prepared or from_child_identity(event_id, event["child"]), self.index_for(la))
        if decision.decision == "review":
            return self._hold(event, decision, unit)
        child_id = decision.register_id if decision.decision == "match" else None
        changed: list[PersonRecord] = []

        def write_decision(session: Session, register: RegisterRepository) -> None:
            self._add_decision(session, register, event, decision, child_id)
            changed.extend(_changed_child(register))

        outcome = record_notification(unit(write_decision), event, child_id, local_la=la)
        for record in changed:
            self._index(la, record)
        return self._recorded(event, decision, outcome, la)

    def apply_reviewed(self, event_id: str, child_id: str | None, *, officer: str, reason: str) -> RecordOutcome:
        """Record a held notification once a person has said which child it is (None: a new child).

        The review item's outcome and the register's effects commit together; deciding twice is refused.
        """
        with session_factory(self.uows.engine)() as session:
            item = session.get(ReviewItemRow, event_id)
            if item is None:
                raise ReviewNotFound(f"no notification {event_id} is held for review")
            if item.state != "open":
                raise ReviewAlreadyDecided(f"review {event_id} was already {item.state} by {item.decided_by}")
            event = dict(item.event)
        la = self.local_la or str(event["responsible_la"])
        now = self.clock()
        changed: list[PersonRecord] = []

        def close_item(session: Session, register: RegisterRepository) -> None:
            row = session.get(ReviewItemRow, event_id)
            assert row is not None
            row.state = "accepted" if child_id else "rejected"
            row.decided_at, row.decided_by, row.decision_reason = now, officer, reason
            row.linked_child_id = child_id
            changed.extend(_changed_child(register))

        outcome = record_notification(_Single(self.uows, close_item), event, child_id, local_la=la, actor=officer)
        for record in changed:
            self._index(la, record)
        return outcome

    # -- helpers ----------------------------------------------------------------------------------

    def _add_decision(self, session: Session, register: RegisterRepository, event: Mapping[str, Any],
                      decision: LinkDecision, child_id: str | None) -> None:
        values = self._decision_values(event, decision, child_id)
        _add_row(session, register, MatchDecisionRow, values)
        if self._undo is not None:  # a batch written at its end: a repeat of this event later in it finds it here
            self._decisions[values["event_id"]] = SimpleNamespace(**values)

    def _decision_values(self, event: Mapping[str, Any], decision: LinkDecision,
                         child_id: str | None) -> dict[str, Any]:
        return {
            "event_id": str(event["event_id"]), "event_type": str(event["event_type"]),
            "responsible_la": str(event["responsible_la"]), "decision": decision.decision, "rule": decision.rule,
            "child_id": child_id, "candidate_id": decision.register_id, "probability": decision.match_probability,
            "weight": decision.match_weight, "reason": decision.reason,
            "comparisons": [{"comparison": c.comparison, "level": c.level, "weight": c.weight}
                            for c in decision.comparisons],
            "candidates": decision.candidates, "config_version": decision.config_version,
            "decided_at": self.clock(), "decided_by": "hub:matching",
        }

    def _hold(self, event: Mapping[str, Any], decision: LinkDecision,
              unit: Callable[[BeforeCommit | None], UnitOfWork]) -> Applied:
        event_id = str(event["event_id"])
        now = self.clock()

        def add_item(session: Session, register: RegisterRepository) -> None:
            self._add_decision(session, register, event, decision, None)
            _add_row(session, register, ReviewItemRow, {
                "event_id": event_id, "responsible_la": str(event["responsible_la"]),
                "event_type": str(event["event_type"]), "candidate_id": decision.register_id,
                "probability": decision.match_probability, "reason": decision.reason,
                "event": to_jsonable(dict(event)), "state": "open", "opened_at": now, "decided_at": None,
                "decided_by": None, "decision_reason": None, "linked_child_id": None})

        with unit(add_item) as uow:
            uow.commit()
        if self._undo is not None:
            self._held.add(event_id)
        log.debug("notification held for review", event_id=event_id, event_type=event.get("event_type"))
        applied = Applied(event_id, decision=decision, held_for_review=True)
        applied.outputs.append(("cme.match.decisions", self._decision_event(event, decision, None)))
        return applied

    def _decision_event(self, event: Mapping[str, Any], decision: LinkDecision, child_id: str | None,
                        ) -> dict[str, Any]:
        t = self.linker.config.thresholds
        return match_decision_event(event, decision, child_id, t.match, t.review, self.clock())

    def _recorded(self, event: Mapping[str, Any], decision: LinkDecision | None, outcome: RecordOutcome,
                  la: str) -> Applied:
        event_id = str(event["event_id"])
        if outcome.duplicate:
            return Applied(event_id, duplicate=True)
        applied = Applied(event_id, decision=decision, outcome=outcome)
        now = self.clock()
        if decision is not None:
            applied.outputs.append(("cme.match.decisions", self._decision_event(event, decision, outcome.child_id)))
        changes = register_change_events(event, outcome, now)
        applied.outputs.extend(("cme.register.changes", change) for change in changes)
        transfer = case_transfer_event(event, outcome, la, now)
        if transfer is not None:
            applied.outputs.append(("cme.la.outbound", transfer))
        return applied

    def _redelivered(self, event: Mapping[str, Any], session: Session) -> Applied:
        """A notification already processed: publish its decision again (same id), change nothing."""
        event_id = str(event["event_id"])
        applied = Applied(event_id, duplicate=True)
        row = self._decisions.get(event_id) or session.get(MatchDecisionRow, event_id)
        if row is not None:
            decision = LinkDecision(
                record_id=event_id, decision=row.decision,  # type: ignore[arg-type]
                register_id=row.candidate_id, match_probability=row.probability, match_weight=row.weight,
                rule=row.rule,  # type: ignore[arg-type]
                comparisons=tuple(ComparisonWeight(c["comparison"], c["level"], c["weight"]) for c in row.comparisons),
                reason=row.reason, candidates=row.candidates, config_version=row.config_version)
            applied.outputs.append(("cme.match.decisions", self._decision_event(event, decision, row.child_id)))
        return applied


def _add_row(session: Session, register: RegisterRepository, model: type[Any], values: dict[str, Any]) -> None:
    """A matcher's row beside the register's: staged with a batch's, or added to the session."""
    if isinstance(register, StagedRegister):
        register.writer.append(model.__table__, values)
    else:
        session.add(model(**values))


def _changed_child(register: RegisterRepository) -> list[PersonRecord]:
    """The children this unit of work touched, as the engine will compare them from now on."""
    return [child_record(child) for child in register.loaded_children()]

"""One notification through the matcher: link it to a child, then apply it to the register once.

The business step of the stream, the review queue and the tests: no Kafka here. Each notification is
one transaction holding its register effects, the decision with its evidence and its processed id,
so a redelivered notification changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from schemas.events import to_jsonable
from services.matching.blocking import BlockingIndex
from services.matching.decision import ComparisonWeight, LinkDecision
from services.matching.engine import Linker
from services.matching.outputs import case_transfer_event, match_decision_event, register_change_events
from services.matching.records import from_child_identity
from services.matching.register_view import child_record, load_index
from services.matching.store import MatchDecisionRow, ReviewItemRow
from services.register.database import session_factory
from services.register.handlers import RecordOutcome, record_notification
from services.register.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger("cmehub.matching")


class _DecidingUnitOfWork(UnitOfWork):
    """A unit of work that also writes the matcher's own rows in the register's transaction."""

    def __init__(self, sessions: sessionmaker[Session], before_commit: Callable[[Session], None]) -> None:
        super().__init__(sessions)
        self.before_commit = before_commit

    def commit(self) -> None:
        assert self.session is not None
        self.before_commit(self.session)
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


class ReviewNotFound(LookupError):
    """No notification with that id is held for review."""


class ReviewAlreadyDecided(ValueError):
    """A person has already decided this review."""


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
        self._sessions = session_factory(uows.engine)
        self._indexes: dict[str, BlockingIndex] = {}

    # -- the index ------------------------------------------------------------------------------

    def index_for(self, la_code: str) -> BlockingIndex:
        """The authority's register index, loaded on first use and kept current by ``process``."""
        index = self._indexes.get(la_code)
        if index is None:
            index = self._indexes[la_code] = load_index(self.uows, self.linker, la_code)
            log.info("register index loaded", la=la_code, children=len(index))
        return index

    def reindex(self, la_code: str, child_id: str) -> None:
        """Bring one child's entry in the index up to date with the register."""
        index = self.index_for(la_code)
        with self.uows() as uow:
            child = uow.register.get_child(child_id)
        if child_id in index.positions:
            index.remove(child_id)
        if child is not None:
            index.add(child_record(child))

    def forget_indexes(self) -> None:
        """Drop every index (after a rebalance another worker may have changed the register)."""
        self._indexes.clear()

    # -- one notification -----------------------------------------------------------------------

    def is_processed(self, event_id: str) -> bool:
        """Recorded in the register, or held for review."""
        with self.uows() as uow:
            assert uow.session is not None
            return uow.register.is_processed(event_id) or uow.session.get(ReviewItemRow, event_id) is not None

    def process(self, event: Mapping[str, Any]) -> Applied:
        """Link and record one notification (a no-op for one already processed)."""
        event_id = str(event["event_id"])
        if self.is_processed(event_id):
            return self._redelivered(event)
        la = self.local_la or str(event["responsible_la"])
        if not event.get("child"):
            outcome = record_notification(self.uows(), event, None, local_la=la)
            return self._recorded(event, None, None, outcome, la)
        decision = self.linker.link(from_child_identity(event_id, event["child"]), self.index_for(la))
        if decision.decision == "review":
            return self._hold(event, decision)
        child_id = decision.register_id if decision.decision == "match" else None
        decided = self._decision_row(event, decision, child_id)
        uow = _DecidingUnitOfWork(self._sessions, lambda session: session.add(decided))
        outcome = record_notification(uow, event, child_id, local_la=la)
        return self._recorded(event, decision, child_id, outcome, la)

    def apply_reviewed(self, event_id: str, child_id: str | None, *, officer: str, reason: str) -> RecordOutcome:
        """Record a held notification once a person has said which child it is (None: a new child).

        The review item's outcome and the register's effects commit together; deciding twice is refused.
        """
        with self._sessions() as session:
            item = session.get(ReviewItemRow, event_id)
            if item is None:
                raise ReviewNotFound(f"no notification {event_id} is held for review")
            if item.state != "open":
                raise ReviewAlreadyDecided(f"review {event_id} was already {item.state} by {item.decided_by}")
            event = dict(item.event)
        la = self.local_la or str(event["responsible_la"])
        now = self.clock()

        def close_item(session: Session) -> None:
            row = session.get(ReviewItemRow, event_id)
            assert row is not None
            row.state = "accepted" if child_id else "rejected"
            row.decided_at, row.decided_by, row.decision_reason = now, officer, reason
            row.linked_child_id = child_id
            session.add(row)

        uow = _DecidingUnitOfWork(self._sessions, close_item)
        outcome = record_notification(uow, event, child_id, local_la=la, actor=officer)
        if outcome.child_id is not None:
            self.reindex(la, outcome.child_id)
        return outcome

    # -- helpers ----------------------------------------------------------------------------------

    def _decision_row(self, event: Mapping[str, Any], decision: LinkDecision, child_id: str | None) -> MatchDecisionRow:
        return MatchDecisionRow(
            event_id=str(event["event_id"]), event_type=str(event["event_type"]),
            responsible_la=str(event["responsible_la"]), decision=decision.decision, rule=decision.rule,
            child_id=child_id, candidate_id=decision.register_id, probability=decision.match_probability,
            weight=decision.match_weight, reason=decision.reason,
            comparisons=[{"comparison": c.comparison, "level": c.level, "weight": c.weight}
                         for c in decision.comparisons],
            candidates=decision.candidates, config_version=decision.config_version, decided_at=self.clock(),
            decided_by="hub:matching")

    def _hold(self, event: Mapping[str, Any], decision: LinkDecision) -> Applied:
        event_id = str(event["event_id"])
        now = self.clock()
        with self.uows() as uow:
            assert uow.session is not None
            uow.session.add(self._decision_row(event, decision, None))
            uow.session.add(ReviewItemRow(
                event_id=event_id, responsible_la=str(event["responsible_la"]), event_type=str(event["event_type"]),
                candidate_id=decision.register_id, probability=decision.match_probability, reason=decision.reason,
                event=to_jsonable(dict(event)), state="open", opened_at=now))
            try:
                uow.commit()
            except IntegrityError:  # another worker held it first
                return Applied(event_id, duplicate=True)
        log.info("notification held for review", event_id=event_id, event_type=event.get("event_type"))
        applied = Applied(event_id, decision=decision, held_for_review=True)
        applied.outputs.append(("cme.match.decisions", self._decision_event(event, decision, None)))
        return applied

    def _decision_event(self, event: Mapping[str, Any], decision: LinkDecision, child_id: str | None,
                        ) -> dict[str, Any]:
        t = self.linker.config.thresholds
        return match_decision_event(event, decision, child_id, t.match, t.review, self.clock())

    def _recorded(self, event: Mapping[str, Any], decision: LinkDecision | None, child_id: str | None,
                  outcome: RecordOutcome, la: str) -> Applied:
        event_id = str(event["event_id"])
        if outcome.duplicate:
            return Applied(event_id, duplicate=True)
        if outcome.child_id is not None and event.get("child"):
            self.reindex(la, outcome.child_id)
        applied = Applied(event_id, decision=decision, outcome=outcome)
        now = self.clock()
        if decision is not None:
            applied.outputs.append(("cme.match.decisions",
                                    self._decision_event(event, decision, outcome.child_id or child_id)))
        changes = register_change_events(event, outcome, now)
        applied.outputs.extend(("cme.register.changes", change) for change in changes)
        transfer = case_transfer_event(event, outcome, la, now)
        if transfer is not None:
            applied.outputs.append(("cme.la.outbound", transfer))
        return applied

    def _redelivered(self, event: Mapping[str, Any]) -> Applied:
        """A notification already processed: publish its decision again (same id), change nothing."""
        event_id = str(event["event_id"])
        applied = Applied(event_id, duplicate=True)
        with self._sessions() as session:
            row = session.get(MatchDecisionRow, event_id)
        if row is not None:
            decision = LinkDecision(
                record_id=event_id, decision=row.decision,  # type: ignore[arg-type]
                register_id=row.candidate_id, match_probability=row.probability, match_weight=row.weight,
                rule=row.rule,  # type: ignore[arg-type]
                comparisons=tuple(ComparisonWeight(c["comparison"], c["level"], c["weight"]) for c in row.comparisons),
                reason=row.reason, candidates=row.candidates, config_version=row.config_version)
            applied.outputs.append(("cme.match.decisions", self._decision_event(event, decision, row.child_id)))
        return applied

"""The events the matcher publishes about what it did: decisions, register changes, case transfers.

Their ids derive from the notification's id, so publishing them again after a redelivery gives the
same ids and consumers can drop the copy. They carry ids and statuses, never a child's details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from schemas.events import make_envelope, make_event
from services.matching.decision import ComparisonWeight, LinkDecision
from services.register.handlers import RecordOutcome
from services.register.model import CaseStatus

DECIDED_BY = "hub:matching"
_OUTCOME = {"match": "match", "review": "possible_match", "no_match": "no_match"}
_METHOD = {"identifier": "deterministic", "probabilistic": "probabilistic", "none": "probabilistic"}
_MISSING_LABELS = {"missing", "null", "not given", "absent"}


def _comparison(c: ComparisonWeight) -> dict[str, Any]:
    label = c.level.lower()
    if label in _MISSING_LABELS or label.startswith("missing"):
        outcome = "missing"
    elif label.startswith("exact"):
        outcome = "agree"
    elif c.weight > 0:
        outcome = "partial"
    else:
        outcome = "disagree"
    return {"field": c.comparison, "method": c.level, "outcome": outcome, "similarity": None,
            "weight": round(c.weight, 4)}


def _envelope(event_type: str, notification: Mapping[str, Any], suffix: str, at: dt.datetime) -> dict[str, Any]:
    la = str(notification["responsible_la"])
    return make_envelope(event_type, partner_id=f"cmehub-{la}", source_kind="hub", responsible_la=la,
                         occurred_at=at, received_at=at, reference=f"{notification['event_id']}:{suffix}")


def match_decision_event(notification: Mapping[str, Any], decision: LinkDecision, child_id: str | None,
                         upper: float, lower: float, at: dt.datetime, decided_by: str = DECIDED_BY,
                         outcome: str | None = None) -> dict[str, Any]:
    """``match.decision``: what the engine (or a person) decided about one notification, and why."""
    return make_event(
        "match.decision", _envelope("match.decision", notification, "decision", at),
        child=None, notification_event_id=str(notification["event_id"]),
        notification_event_type=str(notification["event_type"]), child_id=child_id,
        decision=outcome or _OUTCOME[decision.decision], method=_METHOD[decision.rule],
        score=float(decision.match_probability), upper_threshold=upper, lower_threshold=lower,
        comparisons=[_comparison(c) for c in decision.comparisons], candidates_considered=decision.candidates,
        reason=decision.reason, decided_by=decided_by, model_version=decision.config_version or None,
    )


def register_change_events(notification: Mapping[str, Any], outcome: RecordOutcome,
                           at: dt.datetime) -> list[dict[str, Any]]:
    """``register.change``: a child created, and each move of its case."""
    if outcome.duplicate or outcome.child_id is None:
        return []
    events = []
    if outcome.created_child:
        events.append(make_event(
            "register.change", _envelope("register.change", notification, "created", at), child=None,
            child_id=outcome.child_id, change_kind="created", case_reference=outcome.case_id,
            caused_by_event_id=str(notification["event_id"]), actor=DECIDED_BY))
    for n, move in enumerate(outcome.transitions):
        kind = ("closed" if move.to_status is CaseStatus.CLOSED
                else "reopened" if move.from_status is CaseStatus.CLOSED else "status_changed")
        events.append(make_event(
            "register.change", _envelope("register.change", notification, f"move{n}", at), child=None,
            child_id=outcome.child_id, change_kind=kind, case_reference=outcome.case_id,
            status=move.to_status.value, previous_status=move.from_status.value if move.from_status else None,
            reason=move.reason, caused_by_event_id=str(notification["event_id"]), actor=DECIDED_BY))
    return events


def case_transfer_event(notification: Mapping[str, Any], outcome: RecordOutcome, local_la: str,
                        at: dt.datetime) -> dict[str, Any] | None:
    """``la.case_transfer`` when the notification located the child in another authority's area."""
    to_la = notification.get("destination_la")
    moved = any(m.to_status is CaseStatus.LOCATED_OTHER_LA for m in outcome.transitions)
    if not moved or not to_la or to_la == local_la or outcome.case_id is None:
        return None
    return make_event(
        # The receiving authority must be able to find the child, so the identity travels (a restricted
        # child's address was never in it).
        "la.case_transfer", _envelope("la.case_transfer", notification, "transfer", at),
        child=notification.get("child"),
        from_la=local_la, to_la=str(to_la), case_reference=outcome.case_id,
        transfer_reason=f"located in LA {to_la} by {notification['event_type']}")

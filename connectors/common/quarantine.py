"""Quarantine: records the hub cannot trust, kept with their original bytes and every reason."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.common.canonical import event_id_for
from connectors.common.problems import Problem

QUARANTINE_TOPIC = "cme.quarantine"


@dataclass(slots=True)
class Quarantined:
    """One quarantined record (or a whole unreadable file) and why."""

    partner_id: str
    kind: str
    file_name: str
    position: str
    problems: list[Problem]
    original: bytes
    responsible_la: str | None = None
    reference: str | None = None

    @property
    def reasons(self) -> list[str]:
        """Every reason found, in plain words."""
        return [p.text for p in self.problems]

    def to_record(self, received_at: datetime) -> dict[str, Any]:
        """The ``QuarantineRecord`` dict; its id is stable so a re-run does not duplicate it."""
        digest = hashlib.sha256(self.original).hexdigest()[:16]
        ref = self.reference or f"{self.file_name}#{self.position}"
        return {
            "quarantine_id": event_id_for(self.partner_id, f"quarantine:{ref}:{digest}"),
            "source": {"partner_id": self.partner_id, "kind": self.kind, "reference": ref},
            "responsible_la": self.responsible_la,
            "file_name": self.file_name,
            "position": self.position,
            "reasons": self.reasons,
            "original": self.original,
            "received_at": received_at,
        }


@dataclass(slots=True)
class ParseResult:
    """What one input produced: events, quarantined records and the warnings events carry.

    ``records`` counts the input's records in scope; every one of them ends as an event or in
    quarantine. ``out_of_scope`` counts records read but not about a school-age child (an adult
    on a passenger list), reported so nothing disappears silently.
    """

    file_name: str
    format: str
    records: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    warnings: list[tuple[str, Problem]] = field(default_factory=list)  # (event_id, problem)
    out_of_scope: int = 0

    @property
    def warned_events(self) -> int:
        """How many events carry at least one warning."""
        return len({event_id for event_id, _ in self.warnings})

    def add_event(self, event: dict[str, Any], warnings: list[Problem]) -> None:
        """Add an event and the warnings its record raised."""
        self.events.append(event)
        self.warnings.extend((event["event_id"], w) for w in warnings)

    def balanced(self) -> bool:
        """True when every record in scope became an event or was quarantined."""
        return len(self.events) + len(self.quarantined) == self.records

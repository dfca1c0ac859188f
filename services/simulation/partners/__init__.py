"""Partner files in their real formats: what each partner would send, one writer per format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EVENT, QUARANTINE, OUT_OF_SCOPE = "event", "quarantine", "out_of_scope"


@dataclass(slots=True)
class Record:
    """One record inside a partner file and what the hub should make of it."""

    position: str
    kind: str  # the signal kind (deletion, ctf, border, ...) or "adult" for a passenger who is not a child
    child_id: str | None
    la: str
    identity: dict[str, Any]  # what the partner wrote about the child (after noise)
    noise: list[str] = field(default_factory=list)
    expected: str = EVENT


@dataclass(slots=True)
class PartnerFile:
    """One file a partner delivers, with the records in it."""

    path: str
    partner: str  # school, health, police, border
    format: str  # ctf, returns-csv, returns-json, fhir, nems, police-json, paxlst (connectors.formats names)
    la: str
    delivered_at: datetime
    data: bytes
    records: list[Record]
    malformed: str | None = None  # why the whole file is unreadable, when it is

    @property
    def expected_events(self) -> int:
        """Events the connector should emit for this file."""
        return 0 if self.malformed else sum(r.expected == EVENT for r in self.records)

    @property
    def expected_quarantined(self) -> int:
        """Records (or the whole file, counted once) the connector should quarantine."""
        return 1 if self.malformed else sum(r.expected == QUARANTINE for r in self.records)

    @property
    def expected_out_of_scope(self) -> int:
        """Records read but not about a school-age child (adults on a passenger list)."""
        return 0 if self.malformed else sum(r.expected == OUT_OF_SCOPE for r in self.records)


def iso_z(moment: datetime) -> str:
    """A UTC timestamp as ISO-8601 with ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

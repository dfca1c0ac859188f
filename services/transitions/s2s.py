"""S2S downloads: CTFs from the Lost Pupils Database (``XXX``) and outside-sector files (``MMM``), searched in bulk.

Every pupil of every file is parsed by the project's CTF connector and linked against the register
with the linkage engine; matches and possible matches are kept (``s2s_result``) with their weights
for officers to review. Nothing is merged automatically: an LPD hit is a lead, not proof. Counts add
up: every pupil is a match, a possible match, no match, or quarantined with its reasons.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.common.parsing import ParseContext
from connectors.schools.ctf import parse_ctf
from services.matching.blocking import BlockingIndex
from services.matching.decision import LinkDecision
from services.matching.engine import Linker
from services.matching.records import from_child_identity
from services.matching.register_view import load_index
from services.register.orm_places import S2sResultRow
from services.register.unit_of_work import UnitOfWorkFactory

_DECISIONS = {"match": "match", "review": "possible_match", "no_match": "no_match"}
MAX_MEMBER_BYTES = 5_000_000  # a CTF of one pupil is a few kB; anything this large is not one


class S2sInputError(ValueError):
    """The S2S download cannot be read (not a folder, a zip or a CTF file)."""


@dataclass(frozen=True, slots=True)
class S2sResult:
    """One pupil searched against the register."""

    file_name: str
    position: str
    destination_kind: str | None
    decision: str  # match, possible_match, no_match, quarantined
    child_id: str | None
    match_weight: float | None
    match_probability: float | None
    reason: str
    comparisons: tuple[tuple[str, str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"file_name": self.file_name, "position": self.position, "destination_kind": self.destination_kind,
                "decision": self.decision, "child_id": self.child_id, "match_weight": self.match_weight,
                "match_probability": self.match_probability, "reason": self.reason,
                "comparisons": [{"comparison": c, "level": lv, "weight": w} for c, lv, w in self.comparisons]}


@dataclass
class S2sSummary:
    """The batch: counts that add up, and every result."""

    batch_id: str
    files: int = 0
    pupils: int = 0
    by_destination: dict[str, int] = field(default_factory=dict)
    results: list[S2sResult] = field(default_factory=list)

    def count(self, decision: str) -> int:
        return sum(1 for r in self.results if r.decision == decision)

    @property
    def balanced(self) -> bool:
        """Every pupil ended as a decision or in quarantine."""
        return len(self.results) == self.pupils

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "files": self.files, "pupils": self.pupils,
                "by_destination": dict(self.by_destination), "matches": self.count("match"),
                "possible_matches": self.count("possible_match"), "no_match": self.count("no_match"),
                "quarantined": self.count("quarantined"), "balanced": self.balanced}


def iter_s2s_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every ``.xml`` in a folder (recursively), a zip, or one file, in name order."""
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".xml"):
            yield str(item.relative_to(path)), item.read_bytes()
        return
    if not path.is_file():
        raise S2sInputError(f"{path}: no such folder, zip or CTF file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if info.is_dir() or not info.filename.lower().endswith(".xml"):
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise S2sInputError(f"{path}: member {info.filename} is {info.file_size} bytes; not a CTF")
                yield info.filename, archive.read(info)
        return
    yield path.name, path.read_bytes()


def _result(file_name: str, position: str, kind: str | None, decision: LinkDecision) -> S2sResult:
    return S2sResult(
        file_name=file_name, position=position, destination_kind=kind, decision=_DECISIONS[decision.decision],
        child_id=decision.register_id if decision.decision != "no_match" else None,
        match_weight=None if decision.match_weight is None else round(decision.match_weight, 2),
        match_probability=round(decision.match_probability, 4), reason=decision.reason,
        comparisons=tuple((c.comparison, c.level, round(c.weight, 2)) for c in decision.comparisons),
    )


def search_s2s(
    files: Iterator[tuple[str, bytes]], linker: Linker, index: BlockingIndex, ctx: ParseContext | None = None
) -> S2sSummary:
    """Parse every CTF and link every pupil against ``index`` (pure: nothing stored)."""
    ctx = ctx or ParseContext()
    summary = S2sSummary(batch_id=str(uuid.uuid4()))
    for name, data in files:
        summary.files += 1
        parsed = parse_ctf(data, name, ctx)
        summary.pupils += parsed.records
        for q in parsed.quarantined:
            summary.results.append(S2sResult(name, q.position, None, "quarantined", None, None, None,
                                             "; ".join(q.reasons)))
        for event in parsed.events:
            kind = str(event.get("destination_kind"))
            summary.by_destination[kind] = summary.by_destination.get(kind, 0) + 1
            record = from_child_identity(str(event["event_id"]), event["child"])
            position = str(event["source"]["reference"]).rsplit("#", 1)[-1]
            summary.results.append(_result(name, position, kind, linker.link(record, index)))
    return summary


def ingest_s2s(
    uows: UnitOfWorkFactory,
    path: Path,
    *,
    la: str | None = None,
    linker: Linker | None = None,
    ctx: ParseContext | None = None,
    now: dt.datetime | None = None,
) -> S2sSummary:
    """Search every pupil of an S2S download (folder or zip) against the register and store the results."""
    linker = linker or Linker()
    index = load_index(uows, linker, la)
    summary = search_s2s(iter_s2s_files(path), linker, index, ctx)
    stamp = now or dt.datetime.now(dt.UTC)
    with uows() as uow:
        session = uow.session
        assert session is not None
        session.add_all(S2sResultRow(
            batch_id=summary.batch_id, file_name=r.file_name[:200], position=r.position, event_id=None,
            destination_kind=r.destination_kind, decision=r.decision, child_id=r.child_id,
            match_weight=r.match_weight, match_probability=r.match_probability, reason=r.reason,
            comparisons=[{"comparison": c, "level": lv, "weight": w} for c, lv, w in r.comparisons],
            ingested_at=stamp) for r in summary.results)
        session.commit()
    return summary


def s2s_results(
    uows: UnitOfWorkFactory, batch_id: str | None = None, decisions: tuple[str, ...] = ("match", "possible_match")
) -> list[S2sResult]:
    """Stored results for officers (default: matches and possible matches of every batch), heaviest first."""
    with uows() as uow:
        session = uow.session
        assert session is not None
        query = sa.select(S2sResultRow).where(S2sResultRow.decision.in_(decisions))
        if batch_id is not None:
            query = query.where(S2sResultRow.batch_id == batch_id)
        rows = session.scalars(query.order_by(S2sResultRow.match_weight.desc(), S2sResultRow.id)).all()
        return [S2sResult(r.file_name, r.position, r.destination_kind, r.decision, r.child_id, r.match_weight,
                          r.match_probability, r.reason,
                          tuple((c["comparison"], c["level"], float(c["weight"])) for c in r.comparisons))
                for r in rows]

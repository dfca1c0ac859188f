"""Compare the running register with a scenario's ground truth: who was linked to whom, which cases are open.

Event ids are stable (derived from each partner's own references), so re-parsing the scenario's
files gives the id of every event the stream sent; the truth says which child each one is about.
The register's notification table says which register child it was linked to.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from connectors.common.parsing import ParseContext
from connectors.ingest import parse_file
from services.register.model import OPEN_STATUSES
from services.register.orm import CaseRow, ChildRow, NotificationRow
from services.simulation.pds import PdsStore
from services.simulation.stream import FAMILY, read_manifest


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """An event the scenario produced and the child it is really about."""

    event_id: str
    child_id: str
    la: str
    kind: str


@dataclass(slots=True)
class Evaluation:
    """How the register stands against the ground truth."""

    truth_events: int = 0
    in_register: int = 0  # truth events the register holds
    unlinked: int = 0  # held but not linked to any child
    awaiting_review: int = 0  # truth events in the matcher's open review queue
    review_right_candidate: int = 0  # of those, offered with the right child as the candidate
    true_children: int = 0  # distinct children behind the linked events
    register_children: int = 0  # distinct register children holding linked events
    false_merges: int = 0  # extra true children folded into one register child
    merged_events: int = 0  # events linked to a register child that is someone else
    missed_matches: int = 0  # extra register children one true child was split across
    cases_should_be_open: int = 0  # children of the home authority missing education at the end
    cases_heard_of: int = 0  # of those, children the period's traffic mentions (the register can know them)
    cases_found_open: int = 0  # of those, with an open case on their register child
    cases_spurious: int = 0  # the authority's open cases of children the truth says are not missing education
    examples: dict[str, list[str]] = field(default_factory=dict)

    def lines(self) -> list[tuple[str, str]]:
        """Figures as (label, value) pairs for printing."""
        return [
            ("events in the ground truth", str(self.truth_events)),
            ("events held by the register", str(self.in_register)),
            ("  of which not linked to a child", str(self.unlinked)),
            ("events awaiting review", str(self.awaiting_review)),
            ("  with the right child as the candidate", str(self.review_right_candidate)),
            ("true children behind linked events", str(self.true_children)),
            ("register children holding them", str(self.register_children)),
            ("false merges (children folded into another)", str(self.false_merges)),
            ("events linked to the wrong child", str(self.merged_events)),
            ("missed matches (extra register children)", str(self.missed_matches)),
            ("cases that should be open", str(self.cases_should_be_open)),
            ("  of children the period's traffic mentions", str(self.cases_heard_of)),
            ("  open in the register", str(self.cases_found_open)),
            ("open cases the truth does not support", str(self.cases_spurious)),
        ]


def truth_events(folder: Path) -> list[TruthEvent]:
    """Every event the scenario's files produce, with the child it is about (files re-parsed)."""
    expected: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (folder / "truth" / "notifications.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["expected"] == "event":
                expected[row["path"]].append(row)
    out: list[TruthEvent] = []
    pds = PdsStore.from_folder(folder)
    for delivery in read_manifest(folder):
        rows = expected.get(str(delivery.path.relative_to(folder)), [])
        if not rows:
            continue
        ctx = ParseContext(default_la=delivery.la, received_at=delivery.delivered_at)
        result = parse_file(delivery.path.read_bytes(), delivery.path.name, FAMILY[delivery.partner], ctx,
                            pds.fetcher(delivery.delivered_at))
        if len(result.events) != len(rows):
            raise ValueError(
                f"{delivery.path}: the connector now makes {len(result.events)} events where the truth has "
                f"{len(rows)}; re-write the scenario with this version of the hub"
            )
        out.extend(TruthEvent(e["event_id"], r["child_id"], r["la"], r["kind"])
                   for e, r in zip(result.events, rows, strict=True))
    return out


def _open_episodes(folder: Path, la: str) -> set[str]:
    with (folder / "truth" / "episodes.csv").open(encoding="utf-8", newline="") as handle:
        return {r["child_id"] for r in csv.DictReader(handle) if r["la"] == la and r["open_at_end"] == "true"}


def _open_reviews(conn: sa.Connection, event_ids: list[str]) -> dict[str, str | None]:
    """Open review items (the matcher's queue of possible matches): event id -> candidate register child."""
    if not sa.inspect(conn).has_table("review_item"):
        return {}
    table = sa.table("review_item", sa.column("event_id"), sa.column("candidate_id"), sa.column("state"))
    out: dict[str, str | None] = {}
    for start in range(0, len(event_ids), 500):
        query = sa.select(table.c.event_id, table.c.candidate_id).where(
            table.c.event_id.in_(event_ids[start : start + 500]), table.c.state == "open"
        )
        out.update({row.event_id: row.candidate_id for row in conn.execute(query)})
    return out


def evaluate(folder: Path, engine: sa.Engine, la: str) -> Evaluation:
    """The register behind ``engine`` against the scenario in ``folder``, for authority ``la``."""
    events = truth_events(folder)
    truth = {e.event_id: e for e in events}
    result = Evaluation(truth_events=len(events))
    links: dict[str, str | None] = {}
    with engine.connect() as conn:
        ids = list(truth)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = sa.select(NotificationRow.event_id, NotificationRow.child_id).where(
                NotificationRow.event_id.in_(chunk)
            )
            links.update({row.event_id: row.child_id for row in conn.execute(query)})
        open_cases = {
            row.child_id
            for row in conn.execute(
                sa.select(CaseRow.child_id)
                .join(ChildRow, ChildRow.id == CaseRow.child_id)
                .where(CaseRow.status.in_([s.value for s in OPEN_STATUSES]), ChildRow.la_code == la)
            )
        }
        reviews = _open_reviews(conn, ids)
    result.in_register = len(links)
    result.unlinked = sum(1 for child in links.values() if child is None)
    by_register: dict[str, Counter[str]] = defaultdict(Counter)
    by_true: dict[str, set[str]] = defaultdict(set)
    for event_id, register_child in links.items():
        if register_child is None:
            continue
        true_child = truth[event_id].child_id
        by_register[register_child][true_child] += 1
        by_true[true_child].add(register_child)
    result.true_children, result.register_children = len(by_true), len(by_register)
    owner: dict[str, str] = {}
    merged_examples: list[str] = []
    for register_child, counts in by_register.items():
        owner[register_child] = counts.most_common(1)[0][0]
        if len(counts) > 1:
            result.false_merges += len(counts) - 1
            result.merged_events += sum(counts.values()) - counts.most_common(1)[0][1]
            merged_examples.append(register_child)
    result.missed_matches = sum(len(r) - 1 for r in by_true.values())
    should = _open_episodes(folder, la)
    result.cases_should_be_open = len(should)
    result.cases_heard_of = len(should & {e.child_id for e in events})
    result.cases_found_open = sum(1 for child in should if any(r in open_cases for r in by_true.get(child, ())))
    result.cases_spurious = sum(1 for r in open_cases if r in owner and owner[r] not in should)
    result.awaiting_review = len(reviews)
    result.review_right_candidate = sum(
        1 for event_id, candidate in reviews.items()
        if candidate is not None and owner.get(candidate) == truth[event_id].child_id
    )
    result.examples = {"false_merge_register_children": merged_examples[:5]}
    return result

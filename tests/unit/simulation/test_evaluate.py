"""`cmehub simulate evaluate`: a register built from the truth scores perfectly; a false merge is caught."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from services.cli import app
from services.register.database import make_engine, migrate
from services.register.orm import CaseRow, ChildRow, NotificationRow
from services.simulation.evaluate import evaluate, truth_events


def _register(url: str, folder: Path, *, merge: tuple[str, str] | None = None) -> sa.Engine:
    """A register whose links follow the truth (optionally folding one child into another)."""
    migrate(url)
    engine = make_engine(url)
    events = truth_events(folder)
    with (folder / "truth" / "episodes.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    open_children = {r["child_id"] for r in rows if r["la"] == "383" and r["open_at_end"] == "true"}
    now = dt.datetime(2025, 12, 20, tzinfo=dt.UTC)
    with Session(engine) as session:
        children = sorted({e.child_id for e in events})
        for child in children:
            session.add(ChildRow(id=f"reg-{child}", la_code="383"))
        session.flush()
        for e in events:
            target = merge[1] if merge and e.child_id == merge[0] else e.child_id
            session.add(NotificationRow(
                event_id=e.event_id, event_type="x", child_id=f"reg-{target}", source_partner="p", source_kind="school",
                responsible_la=e.la, occurred_at=now, received_at=now, lawful_basis="x", payload={}))
        for n, child in enumerate(sorted(open_children & set(children))):
            session.add(CaseRow(id=f"case-{n}", child_id=f"reg-{child}", status="referred", referral_source="school",
                                referred_on=now.date(), dfe_reason="other"))
        session.commit()
    return engine


def test_a_register_that_follows_the_truth_has_no_false_merges(small_folder: Path, tmp_path: Path) -> None:
    engine = _register(f"sqlite:///{tmp_path / 'register.sqlite3'}", small_folder)
    result = evaluate(small_folder, engine, "383")
    assert result.truth_events == result.in_register > 300
    assert (result.false_merges, result.merged_events, result.missed_matches, result.unlinked) == (0, 0, 0, 0)
    assert result.true_children == result.register_children
    assert result.cases_should_be_open >= result.cases_found_open > 0  # a child with no traffic cannot be found
    assert result.cases_spurious == 0


def test_a_false_merge_is_counted(small_folder: Path, tmp_path: Path) -> None:
    events = truth_events(small_folder)
    with (small_folder / "truth" / "children.csv").open(encoding="utf-8") as handle:
        children = list(csv.DictReader(handle))
    with_events = {e.child_id for e in events}
    # Fold one twin into the other: the classic false merge.
    a, b = next((r["child_id"], r["twin_of"]) for r in children
                if r["twin_of"] and r["child_id"] in with_events and r["twin_of"] in with_events)
    url = f"sqlite:///{tmp_path / 'merged.sqlite3'}"
    engine = _register(url, small_folder, merge=(a, b))
    result = evaluate(small_folder, engine, "383")
    assert result.false_merges == 1
    assert result.merged_events == min(sum(e.child_id == x for e in events) for x in (a, b))
    engine.dispose()
    cli = CliRunner().invoke(app, ["simulate", "evaluate", str(small_folder), "--database-url", url, "--la", "383"])
    assert cli.exit_code == 1
    assert "false merges" in cli.output

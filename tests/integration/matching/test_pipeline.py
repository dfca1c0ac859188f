"""The matcher's business step on a real register (PostgreSQL, and SQLite for the demo)."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from schemas.events import new_event_id, validate
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import NotificationPipeline, ReviewAlreadyDecided
from services.matching.store import MatchDecisionRow, ReviewItemRow
from services.register.database import migrate as migrate_register
from services.register.orm import ChildRow, NotificationRow
from services.register.unit_of_work import unit_of_work_factory
from tests.integration.matching.notifications import admission_return, deletion_return


@pytest.fixture(params=["postgresql", "sqlite"])
def pipeline(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[NotificationPipeline]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{request.getfixturevalue('tmp_path')}/register.sqlite3"
    migrate_register(url)
    migrate_matching(url)
    uows = unit_of_work_factory(url)
    yield NotificationPipeline(uows)
    uows.dispose()


def _count(pipeline: NotificationPipeline, table: type) -> int:
    with pipeline.uows.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_new_child_then_a_later_notification_about_the_same_child(pipeline: NotificationPipeline) -> None:
    first = pipeline.process(deletion_return(1))
    assert first.decision is not None and first.decision.decision == "no_match"
    assert first.outcome is not None and first.outcome.created_child
    later = pipeline.process(admission_return(1))
    assert later.decision is not None and later.decision.decision == "match"
    assert later.decision.rule == "identifier"
    assert later.outcome is not None and later.outcome.child_id == first.outcome.child_id
    assert _count(pipeline, ChildRow) == 1
    assert _count(pipeline, NotificationRow) == 2
    assert _count(pipeline, MatchDecisionRow) == 2


def test_every_published_event_is_valid_and_says_why(pipeline: NotificationPipeline) -> None:
    applied = pipeline.process(deletion_return(2))
    topics = [topic for topic, _ in applied.outputs]
    assert topics[0] == "cme.match.decisions"
    assert "cme.register.changes" in topics
    for _, event in applied.outputs:
        assert validate(event) == []
    decision = applied.outputs[0][1]
    assert decision["decision"] == "no_match" and decision["reason"]
    assert decision["child_id"] == applied.outcome.child_id  # type: ignore[union-attr]


def test_redelivery_changes_nothing_and_republishes_the_same_decision(pipeline: NotificationPipeline) -> None:
    event = deletion_return(3)
    first = pipeline.process(event)
    again = pipeline.process(copy.deepcopy(event))
    assert again.duplicate
    assert _count(pipeline, ChildRow) == 1 and _count(pipeline, NotificationRow) == 1
    assert [e["event_id"] for _, e in again.outputs] == [first.outputs[0][1]["event_id"]]


def test_a_close_call_is_held_for_review_and_recorded_once_a_person_decides(pipeline: NotificationPipeline) -> None:
    pipeline.process(deletion_return(4))
    # The same name and birth date with no identifier and another address: a person must decide.
    close_call = admission_return(4)
    close_call["child"]["upn"] = None
    close_call["child"]["given_name"] = "Zaynab"
    close_call["child"]["addresses"][0].update(lines=["9 Other Road"], postcode="BD7 1AA")
    close_call["event_id"] = new_event_id("school-3832999", "close-call/4")
    held = pipeline.process(close_call)
    assert held.held_for_review, held.decision
    assert _count(pipeline, NotificationRow) == 1
    assert pipeline.process(close_call).duplicate
    with pipeline.uows.engine.connect() as conn:
        item = conn.execute(sa.select(ReviewItemRow)).one()
    assert item.state == "open" and item.candidate_id is not None
    outcome = pipeline.apply_reviewed(item.event_id, item.candidate_id, officer="officer:test", reason="same UPN")
    assert outcome.child_id == item.candidate_id
    assert _count(pipeline, NotificationRow) == 2 and _count(pipeline, ChildRow) == 1
    with pipeline.uows.engine.connect() as conn:
        decided = conn.execute(sa.select(ReviewItemRow)).one()
    assert (decided.state, decided.decided_by) == ("accepted", "officer:test")
    assert decided.linked_child_id == item.candidate_id
    with pytest.raises(ReviewAlreadyDecided):
        pipeline.apply_reviewed(item.event_id, None, officer="officer:other", reason="changed my mind")


def test_rejecting_a_review_records_a_new_child(pipeline: NotificationPipeline) -> None:
    pipeline.process(deletion_return(5))
    close_call = admission_return(5)
    close_call["child"].update(upn=None, given_name="Mohamed")
    close_call["child"]["addresses"][0].update(lines=["9 Other Road"], postcode="BD7 1AA")
    close_call["event_id"] = new_event_id("school-3832999", "close-call/5")
    assert pipeline.process(close_call).held_for_review
    outcome = pipeline.apply_reviewed(close_call["event_id"], None, officer="officer:test", reason="a cousin")
    assert outcome.created_child
    assert _count(pipeline, ChildRow) == 2

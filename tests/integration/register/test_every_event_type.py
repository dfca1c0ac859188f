"""Every event type of the contract can be recorded, and the same event racing itself is applied once."""

from __future__ import annotations

import threading

import pytest

from schemas.events import EVENT_TYPES
from schemas.examples import example_event
from services.register.database import migrate
from services.register.handlers import RecordOutcome, record_notification
from services.register.unit_of_work import UnitOfWorkFactory, unit_of_work_factory


@pytest.fixture(scope="module")
def sqlite_uows(tmp_path_factory: pytest.TempPathFactory) -> UnitOfWorkFactory:
    url = f"sqlite:///{tmp_path_factory.mktemp('types') / 'register.sqlite3'}"
    migrate(url)
    return unit_of_work_factory(url)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_is_recorded_once(sqlite_uows: UnitOfWorkFactory, event_type: str) -> None:
    event = example_event(event_type)
    first = record_notification(sqlite_uows(), event, None)
    assert not first.duplicate and not first.refused
    assert (first.child_id is not None) == (event.get("child") is not None)
    assert record_notification(sqlite_uows(), event, first.child_id).duplicate
    with sqlite_uows() as uow:
        assert uow.register.is_processed(event["event_id"])


def test_the_same_event_racing_itself_is_applied_once(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    event = example_event("school.deletion_return")
    first = record_notification(uows(), example_event("school.admission_return"), None)
    results: list[RecordOutcome] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(4)

    def deliver() -> None:
        try:
            gate.wait()
            results.append(record_notification(uows(), event, first.child_id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert sum(not r.duplicate for r in results) == 1 and len(results) == 4
        with uows() as uow:
            assert sorted(n.event_type for n in uow.register.notifications_for_child(first.child_id or "")) == [
                "school.admission_return", "school.deletion_return"]
            assert len(uow.register.cases_for_child(first.child_id or "")) <= 1
    finally:
        uows.dispose()

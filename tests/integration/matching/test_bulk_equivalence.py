"""A batch written a table at a time (services/register/bulk.py) stores exactly what the ORM stores.

A simulated term's notifications from every partner (new children, moves, deletions, restricted
records, absences, enquiries) are recorded twice on the real PostgreSQL server: in batches through
the batch writer, and one at a time through the ORM. Every table must then hold the same rows
(ids made deterministic; timestamps of when the work ran, and serial ids, left out).
"""

from __future__ import annotations

import copy
import itertools
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from schemas.codec import default_codec
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import Applied, NotificationPipeline
from services.matching.store import MatchingBase
from services.register.database import migrate as migrate_register
from services.register.orm import Base
from services.register.unit_of_work import unit_of_work_factory
from services.simulation import ScenarioConfig, simulate, write_scenario
from services.simulation.stream import stream
from tests.conftest import scratch_database

SCENARIO = ScenarioConfig(seed=11, children=3000, neighbour_children=1000, start=date(2025, 9, 1),
                          end=date(2025, 12, 19))


class _Collect:
    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    def send_event(self, event: Mapping[str, Any]) -> None:
        self.events.append(event)

    def send_quarantine(self, record: Mapping[str, Any]) -> None:
        pass

    def flush(self) -> int:
        return 0


@pytest.fixture(scope="module")
def term(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The term's notifications as the matching worker decodes them from Kafka."""
    folder = tmp_path_factory.mktemp("bulk-term")
    write_scenario(simulate(SCENARIO), folder)
    sink = _Collect()
    stream(folder, sink, minutes=0, sleep=lambda _s: None)
    codec = default_codec()
    events = [codec.decode(codec.encode(dict(e))) for e in sink.events]
    return events + _later(events)


def _later(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Moves and S-flags for children recorded earlier (so in another batch): they change stored rows."""
    out: list[dict[str, Any]] = []
    moves = [e for e in events if e.get("new_address") and e.get("child")][:40]
    for n, event in enumerate(moves):
        move = copy.deepcopy(event)
        address = dict(move["new_address"], lines=[f"{n + 1} Later Street"], postcode=f"LS{n % 20 + 1} 9ZZ", uprn=None)
        move.update(event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"move/{event['event_id']}")), new_address=address)
        out.append(move)
    flagged = [e for e in events if e["event_type"] == "health.patient_update" and e.get("child")][:40]
    for event in flagged:
        restricted = copy.deepcopy(event)
        restricted["child"]["flags"] = {**(restricted["child"].get("flags") or {}), "restricted": True}
        restricted["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"restricted/{event['event_id']}"))
        out.append(restricted)
    assert len(moves) >= 10 and len(flagged) >= 10, (len(moves), len(flagged))
    return out


@pytest.fixture
def counted_ids(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make every new child, case and task id come from a counter; the returned function restarts it."""
    counter: list[Iterator[int]] = [itertools.count()]

    def next_id() -> str:
        return f"00000000-0000-4000-8000-{next(counter[0]):012d}"

    for name, module in list(sys.modules.items()):
        if name.startswith("services.") and callable(getattr(module, "new_id", None)):
            monkeypatch.setattr(module, "new_id", next_id)

    def restart() -> None:
        counter[0] = itertools.count()

    return restart


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in [*Base.metadata.sorted_tables, *MatchingBase.metadata.sorted_tables]:
            columns = [c for c in table.columns if not isinstance(c.type, sa.DateTime)
                       and not (c.primary_key and isinstance(c.type, sa.Integer))]  # serial ids
            rows = conn.execute(sa.select(*columns)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    engine.dispose()
    return out


def _pipeline(url: str) -> NotificationPipeline:
    migrate_register(url)
    migrate_matching(url)
    return NotificationPipeline(unit_of_work_factory(url))


def test_batches_store_what_the_orm_stores(term: list[dict[str, Any]], postgres_url: str,
                                            postgres_server_url: str, counted_ids: Callable[[], None]) -> None:
    kinds = {e["event_type"] for e in term}
    assert len(term) > 300 and len(kinds) >= 6, kinds  # a varied stream, not one kind of notification

    bulk = _pipeline(postgres_url)
    fallbacks: list[int] = []
    in_bulk = bulk._in_bulk

    def spy(events: Sequence[Mapping[str, Any]]) -> list[Applied | Exception] | None:
        result = in_bulk(events)
        if result is None:
            fallbacks.append(len(events))
        return result

    bulk._in_bulk = spy  # type: ignore[method-assign]
    counted_ids()
    for start in range(0, len(term), 100):
        for result in bulk.process_batch(term[start:start + 100]):
            assert not isinstance(result, Exception), result
    assert fallbacks == []  # every batch was written by the batch writer

    with scratch_database(postgres_server_url, f"t_orm_{postgres_url.rsplit('/', 1)[-1][2:]}") as orm_url:
        one_by_one = _pipeline(orm_url)
        counted_ids()
        for event in term:
            result = one_by_one.process_batch([event])[0]
            assert not isinstance(result, Exception), result
        bulk_rows, orm_rows = _tables(postgres_url), _tables(orm_url)

    assert bulk_rows.keys() == orm_rows.keys()
    for table in bulk_rows:
        assert bulk_rows[table] == orm_rows[table], f"table {table} differs"
    assert len(bulk_rows["notification"]) + len(bulk_rows["review_item"]) == len({e["event_id"] for e in term})
    assert bulk_rows["cme_case"] and bulk_rows["task"] and bulk_rows["case_transition"]

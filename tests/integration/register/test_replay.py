"""Duplicate delivery: replaying the same notifications in the same order changes nothing after the first pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.register.database import make_engine, migrate
from services.register.handlers import record_notification
from services.register.orm import Base
from services.register.unit_of_work import UnitOfWorkFactory, unit_of_work_factory
from tests.unit.register import builders as b

D = dt.date
KIDS = [
    b.child(),
    b.child(given="Tomasz", surname="Nowak", dob=D(2012, 1, 30), upn=None, postcode="LS11 5QN"),
    b.child(given="Ayaan", surname="Begum", dob=D(2016, 9, 2), upn=None, nhs="9434765919", looked_after=True),
]

Builder = Callable[[dt.date, str, dict[str, Any]], dict[str, Any]]
BUILDERS: list[Builder] = [
    lambda day, ref, kid: b.deletion(day, ref, ground="9(1)(g)", kid=kid),
    lambda day, ref, kid: b.deletion(day, ref, ground="9(1)(i)", kid=kid),
    lambda day, ref, kid: b.deletion(day, ref, ground="9(1)(a)", new_school_laestab="8204001", kid=kid),
    lambda day, ref, kid: b.absence(day, ref, day - dt.timedelta(days=14), kid=kid, enquiries_made=["calls"]),
    lambda day, ref, kid: b.lost_ctf(day, ref, kid=kid),
    lambda day, ref, kid: b.admission(day, ref, kid=kid),
    lambda day, ref, kid: b.police_found(day, ref, kid=kid),
    lambda day, ref, kid: b.missing_episode(day, ref, kid=kid, risk="high"),
    lambda day, ref, kid: b.enquiry_out(day, ref, "ENQ-1", kid=kid),
    lambda day, ref, kid: b.enquiry_response(day, ref, "ENQ-1", kid=kid),
    lambda day, ref, kid: b.deletion(day, ref, ground="9(1)(k)", kid=kid),
]

notification = st.tuples(
    st.integers(0, len(KIDS) - 1),
    st.integers(0, len(BUILDERS) - 1),
    st.dates(D(2025, 9, 1), D(2026, 7, 21)),
)


def build(stream: list[tuple[int, int, dt.date]]) -> list[tuple[int, dict[str, Any]]]:
    return [(kid, BUILDERS[kind](day, f"ref-{i:03d}", KIDS[kid])) for i, (kid, kind, day) in enumerate(stream)]


def deliver(uows: UnitOfWorkFactory, events: list[tuple[int, dict[str, Any]]], known: dict[int, str]) -> None:
    """Record each event; the 'matcher' here knows a child once the register has created it."""
    for kid, event in events:
        outcome = record_notification(uows(), event, known.get(kid), local_la="383")
        if outcome.child_id:
            known.setdefault(kid, outcome.child_id)


def snapshot(uows: UnitOfWorkFactory) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every register table, in a stable order."""
    with uows.engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(sa.select(table))), key=lambda r: r
            )
            for table in Base.metadata.sorted_tables
        }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(notification, min_size=1, max_size=12))
def test_replaying_notifications_twice_leaves_the_register_unchanged(
    tmp_path_factory: Any, stream: list[tuple[int, int, dt.date]]
) -> None:
    path: Path = tmp_path_factory.mktemp("replay") / "register.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    uows = unit_of_work_factory(url)
    try:
        events = build(stream)
        known: dict[int, str] = {}
        deliver(uows, events, known)
        first = snapshot(uows)
        assert len(first["notification"]) == len({e["event_id"] for _, e in events})
        deliver(uows, events, known)
        assert snapshot(uows) == first
    finally:
        uows.dispose()


def test_replay_on_postgresql_is_a_no_op(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    try:
        stream = [(0, 3, D(2025, 10, 24)), (0, 4, D(2025, 11, 14)), (1, 0, D(2025, 11, 3)), (0, 5, D(2025, 12, 1)),
                  (1, 8, D(2025, 11, 4)), (1, 9, D(2025, 11, 6)), (2, 7, D(2026, 1, 12)), (2, 6, D(2026, 1, 13))]
        events = build(stream)
        known: dict[int, str] = {}
        deliver(uows, events, known)
        first = snapshot(uows)
        assert len(first["cme_case"]) == 3 and len(first["processed_event"]) == len(events)
        deliver(uows, events, known)
        assert snapshot(uows) == first
    finally:
        uows.dispose()
        make_engine(postgres_url).dispose()

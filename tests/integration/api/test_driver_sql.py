"""The enquiry's hot statements on psycopg's own connection store and read what SQLAlchemy would."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from services.api.audit import AuditEntry, AuditLog, GroupCommit
from services.api.database import api_engine, migrate
from services.api.driver_sql import DriverStatement
from services.api.enquiries import _ADDRESS, _ENQUIRY, _OWN
from services.register.database import make_engine, session_factory
from services.register.database import migrate as migrate_register

pytestmark = pytest.mark.postgres


def enquiry(reference: str, **changes: Any) -> dict[str, Any]:
    now = dt.datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=dt.UTC)
    values: dict[str, Any] = {
              "id": str(uuid.uuid5(uuid.NAMESPACE_URL, reference)), "direction": "incoming", "client_id": "la-384",
              "from_la": "384", "to_la": "383", "purpose_code": "cme_whereabouts", "purpose_text": "deleted 9(1)(i)",
              "case_reference": None,
              "subject": {"given_name": "Zoë", "surname": "O'Brien", "former_surnames": [], "upn": None},
              "status": "known",
              "answer": {"status": "known", "known": {"case_status": "enquiries"}, "review_by": None},
              "child_id": "C0000001", "match_probability": 0.987654321, "reason": "match: valid identifier agrees",
              "review_by": dt.date(2026, 12, 2), "reviewed": False, "created_at": now, "answered_at": now,
              "registered_at": None}
    return {**values, **changes}


def entries(values: dict[str, Any]) -> list[AuditEntry]:
    return [AuditEntry("la-384", "384", "enquiry.received", "enquiry", values["id"], "cme_whereabouts: test"),
            AuditEntry("la-384", "384", "child.read", "child", "C0000001", "cme_whereabouts: test", "disclosed status")]


@pytest.fixture
def engine(postgres_url: str) -> Any:
    migrate(postgres_url)
    engine = api_engine(postgres_url)
    yield engine
    engine.dispose()


def stored(engine: sa.Engine, enquiry_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(_ENQUIRY).where(_ENQUIRY.c.id == enquiry_id)).mappings().one()
        text = conn.execute(sa.text("select subject::text, answer::text from api_enquiry where id = :i"),
                            {"i": enquiry_id}).one()
    return {**row, "subject_text": text[0], "answer_text": text[1]}


def test_group_commit_stores_what_sqlalchemy_stores(engine: sa.Engine) -> None:
    sessions = session_factory(engine)
    writer = GroupCommit(sessions, AuditLog(sessions))
    by_driver, by_sqlalchemy = enquiry("driver"), enquiry("sqlalchemy")
    try:
        writer.write([(_ENQUIRY, by_driver)], entries(by_driver))  # the first entry ever: no head row yet
        writer.write([(_ENQUIRY, enquiry("second"))], entries(enquiry("second")))  # the head row, locked
    finally:
        writer.stop()
    with engine.begin() as conn:
        conn.execute(sa.insert(_ENQUIRY), by_sqlalchemy)
    driver_row, sqlalchemy_row = stored(engine, by_driver["id"]), stored(engine, by_sqlalchemy["id"])
    assert {k: v for k, v in driver_row.items() if k != "id"} == {k: v for k, v in sqlalchemy_row.items() if k != "id"}
    assert driver_row["subject"] == by_driver["subject"] and driver_row["created_at"] == by_driver["created_at"]
    report = AuditLog(sessions).verify()
    assert report.ok and report.entries == 4, report.problems


def test_a_unit_the_database_refuses_fails_alone_as_a_sqlalchemy_error(engine: sa.Engine) -> None:
    sessions = session_factory(engine)
    writer = GroupCommit(sessions, AuditLog(sessions))
    first = enquiry("first")
    writer.write([(_ENQUIRY, first)], entries(first))
    outcomes: dict[str, BaseException | None] = {}
    batch = {"again": first, "good": enquiry("good"), "nul": enquiry("nul", purpose_text="a\x00b")}

    def write(name: str, values: dict[str, Any]) -> None:
        try:
            writer.write([(_ENQUIRY, values)], entries(values))
            outcomes[name] = None
        except BaseException as exc:  # recorded for the assertions
            outcomes[name] = exc

    threads = [threading.Thread(target=write, args=item) for item in batch.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.stop()
    assert isinstance(outcomes["again"], sa.exc.IntegrityError)  # same id: the API's idempotency catches it
    assert isinstance(outcomes["nul"], sa.exc.DataError)  # answered 422 by the API, not 500
    assert "a\x00b" not in str(outcomes["nul"])  # no values in the message (they can be personal data)
    assert outcomes["good"] is None
    report = AuditLog(sessions).verify()
    assert report.ok and report.entries == 4, report.problems


def test_a_connection_the_database_dropped_fails_one_commit_then_is_replaced(engine: sa.Engine) -> None:
    sessions = session_factory(engine)
    writer = GroupCommit(sessions, AuditLog(sessions))
    try:
        values = enquiry("before")
        writer.write([(_ENQUIRY, values)], entries(values))
        with engine.connect() as conn:
            pids = [p for (p,) in conn.execute(sa.text(
                "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"))]
            for pid in pids:
                conn.execute(sa.text("select pg_terminate_backend(:p)"), {"p": pid})
        outcomes = []
        for reference in ("after-1", "after-2", "after-3"):
            values = enquiry(reference)
            try:
                writer.write([(_ENQUIRY, values)], entries(values))
                outcomes.append("stored")
            except sa.exc.OperationalError:
                outcomes.append("database unavailable")
        assert outcomes[-1] == "stored" and outcomes.count("database unavailable") <= 1, outcomes
    finally:
        writer.stop()
    assert AuditLog(sessions).verify().ok


def test_driver_statements_read_what_sqlalchemy_reads(postgres_url: str) -> None:
    from tests.unit.api.register_seed import seed_register

    migrate_register(postgres_url)
    migrate(postgres_url)
    seeded = seed_register(postgres_url, "A123456789012", "9434765919")
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(_ENQUIRY), enquiry("mine"))
        with engine.connect() as conn:
            for child_id in (seeded.amina, seeded.restricted, seeded.no_case, "no-such"):
                expected = conn.execute(_ADDRESS, {"child_id": child_id}).first()
                assert DriverStatement(_ADDRESS).first(conn, {"child_id": child_id}) == \
                    (tuple(expected) if expected else None)
            mine = enquiry("mine")["id"]
            for asked in ({"id": mine, "client_id": "la-384"}, {"id": mine, "client_id": "la-999"}):
                expected = conn.execute(_OWN, asked).first()
                assert DriverStatement(_OWN).first(conn, asked) == (tuple(expected) if expected else None)
    finally:
        engine.dispose()

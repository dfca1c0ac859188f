"""PostgreSQL stopped and restarted in the middle of a stream written by a bare SQLAlchemy writer.

The writer consumes a Kafka topic in a group and, per polled batch, in one transaction: records each
event id in ``applied_events`` (the idempotency key) and writes the event's effect row only for ids
new there; tenacity retries the transaction while the database is away; Kafka offsets are committed
only after the database commit. Ground truth: the ids the producer had confirmed; each must have
exactly one effect row. A private PostgreSQL (``deploy/postgres/start.sh`` on its own port) is
stopped with a fast shutdown, which cuts the writer's open connections, and started again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer
from sqlalchemy.dialects.postgresql import insert as pg_insert
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from connectors.common.producer import EventProducer
from schemas.codec import default_codec
from schemas.topics import message_key
from tests.integration.faults.cluster import LocalPostgres
from tests.integration.faults.stream import make_events

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(150)]

EVENTS = 3000
STOP_AFTER = 800  # events applied before PostgreSQL is stopped
DOWN_S = 2.0

metadata = sa.MetaData()
applied_events = sa.Table(
    "applied_events", metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)
# The effect of an event (in the register: a case update). No unique key: only the writer's logic
# keeps it to one row per event, which is what the test checks.
effects = sa.Table(
    "effects", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("responsible_la", sa.String(3), nullable=False),
)


@dataclass
class Writer:
    """Kafka -> PostgreSQL, at-least-once delivery made exactly-once by the idempotency key."""

    bootstrap: str
    topic: str
    url: str
    expected: int
    attempts: int = 0
    failures: int = 0
    applied: int = 0
    commit_times: list[float] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        codec = default_codec()
        engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=1, max_overflow=0)
        consumer = KafkaConsumer(self.topic, bootstrap_servers=self.bootstrap,
                                 group_id=f"writer-{uuid.uuid4().hex[:8]}", enable_auto_commit=False,
                                 auto_offset_reset="earliest", max_poll_records=100)
        retrying = Retrying(retry=retry_if_exception_type(sa.exc.OperationalError), reraise=True,
                            wait=wait_exponential(multiplier=0.1, max=1.0), stop=stop_after_delay(60))
        try:
            while self.applied < self.expected:
                batch = [codec.decode(m.value) for records in consumer.poll(timeout_ms=500).values() for m in records]
                if not batch:
                    continue
                for attempt in retrying:
                    with attempt:
                        self._write(engine, batch)
                self.commit_times.append(time.monotonic())
                consumer.commit()  # only after the database has the batch
                time.sleep(0.02)
        except BaseException as exc:
            self.error = exc
        finally:
            consumer.close(autocommit=False)
            engine.dispose()
            self.done.set()

    def _write(self, engine: sa.Engine, batch: list[dict[str, object]]) -> None:
        self.attempts += 1
        try:
            with engine.begin() as conn:
                new_ids = set(conn.execute(
                    pg_insert(applied_events).values([{"event_id": e["event_id"]} for e in batch])
                    .on_conflict_do_nothing().returning(applied_events.c.event_id)
                ).scalars())
                rows = [{"event_id": e["event_id"], "responsible_la": e["responsible_la"]}
                        for e in batch if e["event_id"] in new_ids]
                if rows:
                    conn.execute(effects.insert(), rows)
        except sa.exc.OperationalError:
            self.failures += 1
            raise
        self.applied += len(new_ids)


def test_postgres_stopped_and_restarted_mid_stream_loses_and_duplicates_nothing(
    kafka_bootstrap: str, topic_name: str, local_postgres: LocalPostgres,
    recovery_report: Callable[[str, float | int | str], None],
) -> None:
    engine = sa.create_engine(local_postgres.url)
    metadata.create_all(engine)
    engine.dispose()  # its pooled connection would not survive the restart
    events = make_events(EVENTS, uuid.uuid4().hex[:8])
    with EventProducer(kafka_bootstrap) as producer:
        for event in events:
            producer.send_encoded(topic_name, message_key(event.record), event.value)
        assert producer.flush() == EVENTS
    confirmed = {e.event_id for e in events}

    writer = Writer(kafka_bootstrap, topic_name, local_postgres.url, expected=EVENTS)
    thread = threading.Thread(target=writer.run, name="fault-writer", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while writer.applied < STOP_AFTER and not writer.done.is_set() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert 0 < writer.applied < EVENTS, f"the stop must land mid-stream ({writer.applied} applied)"
    stopped_at = time.monotonic()
    local_postgres.stop()
    time.sleep(DOWN_S)
    restart_begun = time.monotonic()
    local_postgres.start()
    restarted_s = time.monotonic() - restart_begun
    assert writer.done.wait(90), f"the writer did not finish; {writer.applied} of {EVENTS} applied"
    assert writer.error is None, f"the writer failed: {writer.error!r}"

    with engine.connect() as conn:
        per_event: dict[str, int] = dict(conn.execute(
            sa.select(effects.c.event_id, sa.func.count()).group_by(effects.c.event_id)
        ).all())
        keys = set(conn.execute(sa.select(applied_events.c.event_id)).scalars())
    engine.dispose()
    lost = confirmed - per_event.keys()
    twice = {i for i, n in per_event.items() if n > 1}
    assert not lost, f"{len(lost)} confirmed events have no effect row"
    assert not twice, f"{len(twice)} events were applied more than once"
    assert per_event.keys() == keys == confirmed
    assert writer.failures > 0, "the writer never saw the database go away: the fault did not land"

    back = restart_begun + restarted_s
    first_commit = min(t for t in writer.commit_times if t > restart_begun)
    recovery_report("events confirmed", len(confirmed))
    recovery_report("lost", len(lost))
    recovery_report("applied twice", len(twice))
    recovery_report("failed write attempts (retried)", writer.failures)
    recovery_report("database down s (stop begun -> start begun)", restart_begun - stopped_at)
    recovery_report("database start s", restarted_s)
    recovery_report("write recovery s (stop -> first batch committed after the restart)", first_commit - stopped_at)
    recovery_report("write recovery s after the database was back", first_commit - back)

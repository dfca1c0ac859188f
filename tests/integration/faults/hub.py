"""Ground truth read back from the hub itself: the register's event ids and the broker's side topics.

The register is the matching worker's PostgreSQL database: ``processed_event`` holds one row per
event id the worker committed (its primary key), ``notification`` one per notification recorded,
``review_item`` one per notification held for a person to say which child it is about (a close call
between namesakes: committed, not yet in ``processed_event``).
``RegisterWatch`` polls it and notes when each id first appeared, which gives recovery times
measured at the register commit. ``side_topic`` reads the dead-letter or quarantine topic whole.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from tests.integration.matching.stream_harness import StreamHarness


@dataclass
class RegisterWatch:
    """Polls the register for event ids and remembers when (wall clock) each was first seen committed."""

    harness: StreamHarness
    first_seen: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._engine = sa.create_engine(self.harness.database_url, pool_size=1, max_overflow=0)

    def close(self) -> None:
        self._engine.dispose()

    def _ids(self, table: str) -> list[str]:
        try:
            with self._engine.connect() as conn:
                return [str(i) for i in conn.execute(sa.text(f"select event_id from {table}")).scalars()]
        except sa.exc.ProgrammingError:  # the worker has not created its tables yet
            return []

    def poll(self) -> None:
        now = time.time()  # wall clock: comparable with Kafka's message timestamps
        for event_id in self._ids("processed_event") + self._ids("review_item"):
            self.first_seen.setdefault(event_id, now)

    def wait_for(self, ids: Iterable[str], timeout_s: float, what: str) -> None:
        """Poll every 0.1 s until every id is committed; fails with the worker logs if not in time."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if wanted <= self.first_seen.keys():
                return
            for worker in self.harness.workers:
                assert worker.poll() is None, f"a matching worker died: see {self.harness.state_dir}/worker*.log"
            time.sleep(0.1)
        missing = len(wanted - self.first_seen.keys())
        logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in self.harness.state_dir.glob("worker*.log"))
        raise AssertionError(f"{missing} of {len(wanted)} event ids not in the register after {timeout_s} s "
                             f"waiting for {what}\n{logs}")

    def counts(self, table: str) -> Counter[str]:
        """How often each event id is in ``table`` (``processed_event``, ``notification`` or ``review_item``)."""
        return Counter(self._ids(table))


def side_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 20.0,
               settle_s: float = 2.0) -> list[ConsumerRecord]:
    """Every message of ``topic`` from the beginning: waits for ``expected``, then a little longer for extras."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, fetch_max_bytes=16 * 1024 * 1024)
    out: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(out) < expected:
            for records in consumer.poll(timeout_ms=250).values():
                out.extend(records)
        settle = time.monotonic() + settle_s
        while time.monotonic() < settle:
            for records in consumer.poll(timeout_ms=250).values():
                out.extend(records)
    finally:
        consumer.close()
    return out

"""A stream of encoded events with known ids, produced and consumed the way the hub does it.

The producer is the connectors' own ``EventProducer`` (idempotent, acks=all): a batch counts as
accepted only when ``flush`` confirms it, and a batch Kafka did not confirm is sent again, as a
connector re-runs its input (event ids are stable). The consumer commits offsets only after it has
handled what it polled and dedups by event id, so redelivery after a failure is harmless. The ground
truth is the list of ids the producer had confirmed.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaConsumer
from kafka.errors import KafkaConnectionError, KafkaError

from connectors.common.producer import DeliveryError, EventProducer
from schemas.codec import default_codec
from schemas.examples import example_event
from schemas.topics import message_key

# Authorities the events are spread over (the message key), so every partition carries traffic.
AUTHORITIES = ("383", "384", "380", "381", "382", "370", "371", "372", "373", "330", "331", "332")


@dataclass(frozen=True)
class StreamEvent:
    """One event of the stream: its id, the record and its encoded bytes."""

    event_id: str
    record: dict[str, object]
    value: bytes


def make_events(count: int, run: str) -> list[StreamEvent]:
    """``count`` deletion returns with distinct, known ids spread over a dozen authorities."""
    codec = default_codec()
    base = example_event("school.deletion_return")
    events = []
    for i in range(count):
        record = copy.deepcopy(base)
        record["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cmehub-faults/{run}/{i}"))
        record["responsible_la"] = AUTHORITIES[i % len(AUTHORITIES)]
        events.append(StreamEvent(str(record["event_id"]), record, codec.encode(record)))
    return events


@dataclass
class ProducerRun:
    """Produces the events in batches at a steady pace in a thread; records which ids Kafka confirmed."""

    bootstrap: str
    topic: str
    events: list[StreamEvent]
    batch: int = 100
    pause_s: float = 0.05
    delivery_timeout_s: float = 30.0
    acked: list[str] = field(default_factory=list)
    ack_times: list[tuple[int, float]] = field(default_factory=list)  # (events sent before batch, confirmed at)
    failed_batches: int = 0
    resent_ids: set[str] = field(default_factory=set)
    error: BaseException | None = None
    batches_done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fault-producer", daemon=True)
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        assert self._thread is not None
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise AssertionError(f"the producer did not finish within {timeout_s:.0f} s; {len(self.acked)} confirmed")
        if self.error is not None:
            raise AssertionError(f"the producer failed: {self.error!r}") from self.error

    def confirmed_batches(self) -> int:
        return len(self.ack_times)

    def _producer(self) -> EventProducer:
        return EventProducer(self.bootstrap, delivery_timeout_s=self.delivery_timeout_s, connect_attempts=10,
                             client_id="cmehub-fault-test")

    def _reconnect(self, attempts: int = 3) -> EventProducer:
        # A broker still starting may refuse a new producer for a while: try a few times.
        for attempt in range(attempts):
            try:
                return self._producer()
            except DeliveryError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _run(self) -> None:
        producer: EventProducer | None = None
        try:
            producer = self._producer()
            for start in range(0, len(self.events), self.batch):
                chunk = self.events[start:start + self.batch]
                while True:
                    try:
                        for event in chunk:
                            producer.send_encoded(self.topic, message_key(event.record), event.value)
                        producer.flush()
                    except DeliveryError:
                        # Not confirmed: some may be in the log, some not. Do what a connector's re-run
                        # does: a new producer sends the same events again (kafka-python's idempotent
                        # producer was seen stuck for minutes after in-flight batches expired).
                        self.failed_batches += 1
                        self.resent_ids.update(e.event_id for e in chunk)
                        with contextlib.suppress(Exception):
                            producer.close(timeout_s=0)
                        producer = self._reconnect()
                        continue
                    break
                self.acked.extend(e.event_id for e in chunk)
                self.ack_times.append((start, time.monotonic()))
                time.sleep(self.pause_s)
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            if producer is not None:
                with contextlib.suppress(Exception):
                    producer.close()
            self.batches_done.set()

    def first_ack_after(self, moment: float) -> float | None:
        """When the first batch confirmed after ``moment`` was confirmed."""
        later = [t for _, t in self.ack_times if t > moment]
        return min(later) if later else None


@dataclass
class ConsumerRun:
    """Consumes the topic in a group in a thread, commits after handling, dedups by event id."""

    bootstrap: str
    topic: str
    group: str
    seen: Counter[str] = field(default_factory=Counter)  # deliveries per event id (before dedup)
    applied: dict[str, float] = field(default_factory=dict)  # event id -> when first applied
    commit_failures: int = 0
    poll_failures: int = 0
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _assigned: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    on_apply: Callable[[str], None] | None = None

    def start(self, wait_s: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._run, name="fault-consumer", daemon=True)
        self._thread.start()
        if not self._assigned.wait(wait_s):
            raise AssertionError(f"the consumer got no partitions within {wait_s:.0f} s: {self.error!r}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def wait_for(self, ids: set[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ids <= self.applied.keys() or self.error is not None:
                break
            time.sleep(0.1)
        if self.error is not None:
            raise AssertionError(f"the consumer failed: {self.error!r}") from self.error

    def _run(self) -> None:
        codec = default_codec()
        consumer: KafkaConsumer | None = None
        try:
            consumer = KafkaConsumer(
                self.topic, bootstrap_servers=self.bootstrap.split(","), group_id=self.group,
                client_id="cmehub-fault-consumer", enable_auto_commit=False, auto_offset_reset="earliest",
                session_timeout_ms=10000, heartbeat_interval_ms=1000, request_timeout_ms=15000,
                # Try a restarted broker every second (kafka-python backs off to 30 s by default).
                reconnect_backoff_max_ms=1000,
            )
            while not self._stop.is_set():
                try:
                    polled = consumer.poll(timeout_ms=200)
                except KafkaConnectionError:
                    # kafka-python 3 raises from poll when the broker is down as it looks for the group
                    # coordinator; a consumer application polls again, and so does this one.
                    self.poll_failures += 1
                    time.sleep(0.2)
                    continue
                if consumer.assignment():
                    self._assigned.set()
                now = time.monotonic()
                for records in polled.values():
                    for message in records:
                        event_id = str(codec.decode(message.value)["event_id"])
                        self.seen[event_id] += 1
                        if event_id not in self.applied:  # dedup by event id: apply once
                            self.applied[event_id] = now
                            if self.on_apply is not None:
                                self.on_apply(event_id)
                if polled:
                    try:
                        consumer.commit()
                    except KafkaError:
                        # The group coordinator moved: these records come again and are deduped.
                        self.commit_failures += 1
        except BaseException as exc:  # reported by wait_for()
            self.error = exc
        finally:
            if consumer is not None:
                consumer.close(autocommit=False)

    @property
    def redelivered(self) -> int:
        return sum(n - 1 for n in self.seen.values())


def read_log(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> Counter[str]:
    """Every event id in the topic's log from the beginning, with how often it is there."""
    codec = default_codec()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap.split(","), group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=3000)
    ids: Counter[str] = Counter()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and sum(ids.values()) < expected:
            for records in consumer.poll(timeout_ms=500).values():
                for message in records:
                    ids[str(codec.decode(message.value)["event_id"])] += 1
        # Anything beyond the expected count (duplicates) arrives in the next polls.
        for _ in range(4):
            for records in consumer.poll(timeout_ms=250).values():
                for message in records:
                    ids[str(codec.decode(message.value)["event_id"])] += 1
    finally:
        consumer.close()
    return ids

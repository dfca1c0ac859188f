"""The matching worker's loop body: decode, link and record a batch, publish what it did, and send
what fails to the retry or dead-letter topic with its origin in headers. Nothing is dropped.

It runs in one thread beside faust's event loop (database work blocks), so the agents in stream.py
stay thin: they hand a batch over and ack it once this returns, after the database commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy.exc as sa_exc
import structlog
from confluent_kafka import Producer
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential

from connectors.common.producer import Deliveries, produce, producer_config, restart
from schemas.codec import Codec, UndecodableMessage
from schemas.events import validate
from schemas.topics import (
    DEADLETTER,
    HEADER_ATTEMPTS,
    HEADER_NOT_BEFORE,
    HEADER_ORIGINAL_OFFSET,
    HEADER_ORIGINAL_PARTITION,
    HEADER_ORIGINAL_TOPIC,
    RETRY,
    failure_headers,
    message_key,
    read_failure_headers,
)
from services.matching.pipeline import Applied, NotificationPipeline

log = structlog.get_logger("cmehub.matching")


@dataclass(frozen=True)
class Message:
    """A Kafka message as the worker needs it (free of faust and kafka-python types)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class Publisher:
    """Where the worker sends events and failed messages (a Kafka producer in production)."""

    max_message_bytes: int | None = None  # the largest message it can send (None: no limit)

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError


class PublishFailed(RuntimeError):
    """The broker did not take messages the worker sent (what the batch did is committed; its offsets are not)."""


class KafkaPublisher(Publisher):
    """An idempotent librdkafka producer (acks=all), set up as the connectors' (``producer_config``)."""

    max_message_bytes = 10 * 1024 * 1024  # the hub's brokers take this much (deploy/kafka message.max.bytes)

    def __init__(self, bootstrap: str) -> None:
        self._config = producer_config(bootstrap, "cmehub-matching", delivery_timeout_s=60,
                                       max_message_bytes=self.max_message_bytes)
        self._producer = Producer(self._config)
        self._deliveries = Deliveries()

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        produce(self._producer, self._deliveries, topic, value, key, headers, wait_s=60)

    def flush(self) -> None:
        """Wait for the broker to take everything sent; raise ``PublishFailed`` if it refused any of it."""
        self._producer.flush(60)
        sent = self._deliveries.queued
        _, refused, reason = self._deliveries.take()
        if refused:
            self._producer = restart(self._producer, self._deliveries, self._config)
            reason = reason or "no answer within 60 s"
            raise PublishFailed(f"the broker did not take {refused} of {sent} messages: {reason}")

    def close(self) -> None:
        self._producer.flush(10)


Outgoing = tuple[str, bytes, bytes | None, list[tuple[str, bytes]] | None]  # topic, value, key, headers


class CollectingPublisher(Publisher):
    """Keeps what the worker sends, for another process to publish (``send_all``) before it acks the batch."""

    max_message_bytes = KafkaPublisher.max_message_bytes  # what the publishing process's producer takes

    def __init__(self) -> None:
        self._outgoing: list[Outgoing] = []

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        self._outgoing.append((topic, value, key, headers))

    def flush(self) -> None:
        """Nothing to wait for here: the process that publishes waits for the broker."""

    def take(self) -> list[Outgoing]:
        """What was sent since the last call, in order."""
        outgoing, self._outgoing = self._outgoing, []
        return outgoing


def send_all(publisher: Publisher, outgoing: list[Outgoing]) -> None:
    """Publish what a ``CollectingPublisher`` kept, in order, and wait until the broker has all of it."""
    for topic, value, key, headers in outgoing:
        publisher.send(topic, value, key=key, headers=headers)
    publisher.flush()


def is_transient(exc: BaseException) -> bool:
    """A failure that may pass by itself: the database unreachable, restarting or busy."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError | ConnectionError)


def describe(exc: BaseException) -> str:
    """The error for a header or a log line: our own errors say why; others give only their type
    (a library's message may quote the data it choked on)."""
    module = type(exc).__module__
    if module.startswith(("services.", "schemas.")):
        return f"{type(exc).__name__}: {str(exc)[:500]}"
    return type(exc).__name__


@dataclass
class RetryPolicy:
    """How long a notification is retried in place, then on the retry topic, before the dead letters."""

    in_place_attempts: int = 4
    in_place_seconds: float = 20.0
    topic_attempts: int = 5
    topic_delay_s: float = 5.0


@dataclass
class Counters:
    """Per-process counts for metrics and logs (never personal data)."""

    processed: int = 0
    duplicates: int = 0
    held_for_review: int = 0
    retried: int = 0
    dead_lettered: int = 0
    published: int = 0
    by_error: dict[str, int] = field(default_factory=dict)


class MatchingWorker:
    """Processes messages from the notification topics and the retry topic."""

    def __init__(self, pipeline: NotificationPipeline, codec: Codec, publisher: Publisher,
                 policy: RetryPolicy | None = None, clock: Callable[[], dt.datetime] | None = None,
                 topic_prefix: str = "") -> None:
        self.pipeline = pipeline
        self.prefix = topic_prefix
        self.codec = codec
        self.publisher = publisher
        self.policy = policy or RetryPolicy()
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.counters = Counters()

    def handle_batch(self, messages: Sequence[Message], attempts: int = 0) -> None:
        """Process a batch in order (one transaction on PostgreSQL), publish what it did, and make sure
        everything published reached the broker. Nothing in the batch is dropped."""
        decoded = [(m, e) for m in messages if (e := self._decode(m, attempts)) is not None]
        if not decoded:
            self.publisher.flush()
            return
        events = [e for _, e in decoded]
        try:
            results = self._retrying()(self.pipeline.process_batch, events)
        except Exception as exc:  # the batch as a whole did not commit
            if len(decoded) > 1 and not is_transient(exc):
                # Something in the batch breaks the transaction itself: find it by halves, in order (one
                # message at a time cost a transaction per message: seconds for a 200-message batch).
                decodable = [m for m, _ in decoded]
                self.handle_batch(decodable[:len(decodable) // 2], attempts)
                self.handle_batch(decodable[len(decodable) // 2:], attempts)
                return
            for message, event in decoded:
                self._failed(message, event, exc, attempts)
            self.publisher.flush()
            return
        for (message, event), result in zip(decoded, results, strict=True):
            if isinstance(result, Exception):
                self._failed(message, event, result, attempts)
            else:
                self._count(result)
                self._publish(result, message.key)
        self.publisher.flush()

    def handle(self, message: Message, attempts: int = 0) -> None:
        """Process one message; failures go to the retry or dead-letter topic, never up."""
        self.handle_batch([message], attempts)

    def handle_retry(self, message: Message) -> None:
        """A message from the retry topic: wait until it is due, then process it as its origin."""
        headers = read_failure_headers(list(message.headers))
        due = headers.get(HEADER_NOT_BEFORE)
        if due:
            wait = (dt.datetime.fromisoformat(due) - self.clock()).total_seconds()
            if wait > 0:
                time.sleep(min(wait, self.policy.topic_delay_s * 2 ** self.policy.topic_attempts))
        origin = Message(
            topic=headers.get(HEADER_ORIGINAL_TOPIC, message.topic),
            partition=int(headers.get(HEADER_ORIGINAL_PARTITION, message.partition)),
            offset=int(headers.get(HEADER_ORIGINAL_OFFSET, message.offset)),
            key=message.key, value=message.value,
        )
        self.handle(origin, attempts=int(headers.get(HEADER_ATTEMPTS, "1")))

    # -- steps ------------------------------------------------------------------------------------

    def _decode(self, message: Message, attempts: int) -> dict[str, Any] | None:
        try:
            event = self.codec.decode(message.value or b"", message.topic, message.partition, message.offset)
        except UndecodableMessage as exc:
            self._dead_letter(message, str(exc), attempts + 1)
            return None
        problems = validate(event, structure=False)  # decoding held it to its schema; check the content
        if problems:
            self._dead_letter(message, "impossible content: " + "; ".join(problems[:10]), attempts + 1)
            return None
        return event

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.policy.in_place_attempts) | stop_after_delay(self.policy.in_place_seconds),
            wait=wait_exponential(multiplier=0.25, max=5),
            reraise=True,
        )

    def _failed(self, message: Message, event: dict[str, Any], exc: BaseException, attempts: int) -> None:
        if is_transient(exc):
            self._retry_later(message, describe(exc), attempts + 1)
        else:
            log.warning("notification failed", event_id=event.get("event_id"), error=type(exc).__name__)
            self._dead_letter(message, describe(exc), attempts + 1)

    def _count(self, applied: Applied) -> None:
        c = self.counters
        c.processed += not applied.duplicate
        c.duplicates += applied.duplicate
        c.held_for_review += applied.held_for_review

    def _publish(self, applied: Applied, key: bytes | None) -> None:
        for topic, event in applied.outputs:
            self.publisher.send(self.prefix + topic, self.codec.encode(event), key=message_key(event) or key)
            self.counters.published += 1

    def _room(self, key: bytes | None, headers: list[tuple[str, bytes]]) -> int | None:
        """How many value bytes fit in one message beside this key and these headers (None: no limit)."""
        limit = self.publisher.max_message_bytes
        if limit is None:
            return None
        # 512 bytes cover the record batch's and the record's own framing, with room to spare.
        return limit - 512 - len(key or b"") - sum(len(k) + len(v) for k, v in headers)

    def _retry_later(self, message: Message, error: str, attempts: int) -> None:
        room = self._room(message.key, failure_headers(message.topic, message.partition, message.offset, error,
                                                       attempts, self.clock().isoformat()))
        if room is not None and len(message.value or b"") > room:
            self._dead_letter(message, f"too large to retry with its headers: {error}", attempts)
            return
        if attempts >= self.policy.topic_attempts:
            self._dead_letter(message, f"gave up after {attempts} attempts: {error}", attempts)
            return
        due = self.clock() + dt.timedelta(seconds=self.policy.topic_delay_s * 2 ** (attempts - 1))
        headers = failure_headers(message.topic, message.partition, message.offset, error, attempts, due.isoformat())
        self.publisher.send(self.prefix + RETRY, message.value or b"", key=message.key, headers=headers)
        self.counters.retried += 1
        log.warning("notification sent to retry", topic=message.topic, partition=message.partition,
                    offset=message.offset, attempts=attempts, error=error.split(":")[0])

    def _dead_letter(self, message: Message, error: str, attempts: int) -> None:
        value = message.value or b""
        headers = failure_headers(message.topic, message.partition, message.offset, error, attempts)
        room = self._room(message.key, headers)
        if room is not None and len(value) > room:
            # A message at the broker's limit cannot be sent again with headers added; sending it whole would
            # fail and stop the stream. Keep what fits and say so: the whole message stays at its origin offset.
            note = (f"; the dead letter keeps the first {room - 512} of {len(value)} bytes (sha256 "
                    f"{hashlib.sha256(value).hexdigest()}); the whole message stays at its origin offset")
            headers = failure_headers(message.topic, message.partition, message.offset, error + note, attempts)
            value = value[:room - 512]
        self.publisher.send(self.prefix + DEADLETTER, value, key=message.key, headers=headers)
        self.counters.dead_lettered += 1
        kind = error.split(":")[0]
        self.counters.by_error[kind] = self.counters.by_error.get(kind, 0) + 1
        log.warning("message dead-lettered", topic=message.topic, partition=message.partition,
                    offset=message.offset, error=kind)

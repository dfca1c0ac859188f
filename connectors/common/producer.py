"""Send events and quarantine records to Kafka: idempotent, acks=all, bounded retries with back-off.

Events go to their catalogue topic (``schemas.topics.topic_for``), quarantine records to
``cme.quarantine``; the key is the responsible authority's code. Event ids are derived from the
partner's own references, so an input re-sent after a failure produces the same ids and the
register ignores the duplicates.

The client is librdkafka (``confluent-kafka``): batching, checksums and acknowledgements run in C
threads outside the GIL, at about a tenth of kafka-python's CPU per record
(``bench/bench_connectors.py`` measures both). Python pays only for handing each record over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from connectors.common.oversize import MAX_MESSAGE_BYTES
from schemas.codec import Codec, default_codec
from schemas.topics import QUARANTINE, message_key, topic_for


class DeliveryError(Exception):
    """Kafka did not take every record; says which broker and how many were and were not sent."""


# librdkafka's own lines (brokers and connections, never records). It warns of what it retries by
# itself (a coordinator still loading, a broker restarting); what it gives up on reaches the caller as
# an exception with a plain message. So only its errors are shown.
RDKAFKA_LOG = logging.getLogger("kafka.rdkafka")
RDKAFKA_LOG.setLevel(logging.ERROR)

# Bytes per partition batch (librdkafka's own default is 1 MB). At 256 KiB a steady stream to many
# partitions still sends few, full requests, and a batch is never held back long for lack of data.
BATCH_BYTES = 256 * 1024
QUEUE_KIB = 64 * 1024


def producer_config(bootstrap_servers: str, client_id: str, *, linger_ms: int = 5,
                    delivery_timeout_s: float = 30.0, max_message_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """librdkafka settings for the hub's producers: idempotent, acks=all, every record confirmed or reported."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id,
        "enable.idempotence": True,  # with acks=all: no duplicates or reordering from the producer's own retries
        "acks": "all",
        # Kafka's own partitioner (murmur2, as the Java client, kafka-python and aiokafka): an authority's
        # records land on the same partition whichever client sent them. librdkafka's default differs.
        "partitioner": "murmur2_random",
        "linger.ms": linger_ms,
        "batch.size": BATCH_BYTES,
        # What may wait in memory for the broker (librdkafka's default is 1 GiB): a bigger backlog
        # makes produce() serve acknowledgements until there is room, as kafka-python's 32 MiB did.
        "queue.buffering.max.kbytes": QUEUE_KIB,
        "message.max.bytes": max_message_bytes,  # what the hub's brokers take (deploy/kafka message.max.bytes)
        "message.timeout.ms": int(delivery_timeout_s * 1000),  # give up on a record (and report it) after this
        "request.timeout.ms": int(min(delivery_timeout_s, 30) * 1000),
        "reconnect.backoff.max.ms": 1000,  # a restarted broker is found again within a second
        "socket.connection.setup.timeout.ms": 5000,
        "logger": RDKAFKA_LOG,
    }


class Deliveries:
    """Counts what the broker confirmed and refused since the last ``take()`` (librdkafka's delivery callback)."""

    def __init__(self) -> None:
        self.queued = 0
        self.confirmed = 0
        self.first_error: KafkaError | None = None

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.confirmed += 1
        else:
            self.first_error = self.first_error or error

    def take(self) -> tuple[int, int, str | None]:
        """(confirmed, not confirmed, first reason) since the last call; a record with no answer is not confirmed."""
        confirmed, missing = self.confirmed, self.queued - self.confirmed
        reason = _reason(self.first_error) if self.first_error is not None else None
        self.queued = self.confirmed = 0
        self.first_error = None
        return confirmed, missing, reason


def _reason(error: KafkaError) -> str:
    return f"{error.name()}: {error.str()}"


_Headers = list[tuple[str, str | bytes | None]]  # librdkafka's header type (a list is invariant in its items)


def produce(producer: Producer, deliveries: Deliveries, topic: str, value: bytes, key: bytes | None = None,
            headers: list[tuple[str, bytes]] | None = None, *, wait_s: float = 30.0) -> None:
    """Queue one record; when librdkafka's queue is full, serve acknowledgements until there is room."""
    deadline = None
    while True:
        try:
            producer.produce(topic, value=value, key=key, headers=cast(_Headers, headers), on_delivery=deliveries)
        except BufferError:
            deadline = deadline or time.monotonic() + wait_s
            if time.monotonic() > deadline:
                raise
            producer.poll(0.05)
            continue
        deliveries.queued += 1
        return


def restart(producer: Producer, deliveries: Deliveries, config: dict[str, Any]) -> Producer:
    """After a failed flush: drop what is still queued (the caller sends it again) and start a new
    idempotent session, so that nothing from the failed attempt lands after its re-send."""
    producer.purge()
    producer.flush(0)
    deliveries.take()
    return Producer(config)


class EventProducer:
    """A Kafka producer for connector output (use as a context manager)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        codec: Codec | None = None,
        topic_prefix: str = "",
        connect_attempts: int = 3,
        connect_timeout_s: float = 5.0,
        delivery_timeout_s: float = 30.0,
        client_id: str = "cmehub-ingest",
        linger_ms: int = 5,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.codec = codec or default_codec()
        self.topic_prefix = topic_prefix
        self.delivery_timeout_s = delivery_timeout_s
        self.sent = 0
        self._deliveries = Deliveries()
        self._topics: dict[str, str] = {}
        self._config = producer_config(bootstrap_servers, client_id, linger_ms=linger_ms,
                                       delivery_timeout_s=delivery_timeout_s)
        self._producer = Producer(self._config)
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(KafkaException),
                stop=stop_after_attempt(connect_attempts),
                wait=wait_exponential(multiplier=0.5, max=4),
            ):
                with attempt:
                    self._producer.list_topics(timeout=connect_timeout_s)  # librdkafka connects lazily: ask now
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise DeliveryError(
                f"Kafka at {bootstrap_servers} cannot be reached after {connect_attempts} attempts "
                f"({_cause(cause)}); nothing was sent. Start the broker (deploy/kafka/start.sh) or set "
                "CMEHUB_KAFKA_BOOTSTRAP, then run the same command again."
            ) from cause

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, topic: str, record: Mapping[str, Any], value: bytes) -> None:
        self.send_encoded(topic, message_key(record), value)

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Queue an event for its topic (call :meth:`flush` to confirm delivery)."""
        event_type = str(event["event_type"])
        topic = self._topics.get(event_type)
        if topic is None:
            topic = self._topics[event_type] = topic_for(event)
        self._send(topic, event, self.codec.encode(event))

    def send_encoded(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue a message already encoded (topic without this producer's prefix)."""
        try:
            produce(self._producer, self._deliveries, self.topic_prefix + topic, value, key,
                    wait_s=self.delivery_timeout_s)
        except (KafkaException, BufferError) as exc:
            raise DeliveryError(
                f"Kafka at {self.bootstrap_servers} refused a record for {self.topic_prefix + topic} "
                f"({_cause(exc)}); {self.sent} records were confirmed sent before it"
            ) from exc

    def send_quarantine(self, record: Mapping[str, Any]) -> None:
        """Queue a quarantine record for ``cme.quarantine``."""
        self._send(QUARANTINE, record, self.codec.encode(record, "QuarantineRecord"))

    def flush(self) -> int:
        """Wait until Kafka has confirmed every queued record; returns how many were confirmed."""
        self._producer.flush(self.delivery_timeout_s)
        confirmed, failed, reason = self._deliveries.take()
        self.sent += confirmed
        if failed:
            self._producer = restart(self._producer, self._deliveries, self._config)
            raise DeliveryError(
                f"Kafka at {self.bootstrap_servers} did not confirm {failed} records "
                f"({reason or 'no answer in time'}); "
                f"{self.sent} records were confirmed sent. Re-run the same input: event ids are stable, "
                "so records already sent are not applied twice."
            )
        return confirmed

    def close(self, timeout_s: float | None = None) -> None:
        """Flush what is queued (up to ``timeout_s``, default the delivery timeout); 0 abandons it."""
        if timeout_s == 0:
            self._producer.purge()
        self._producer.flush(self.delivery_timeout_s if timeout_s is None else timeout_s)


def _cause(exc: BaseException | None) -> str:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return _reason(exc.args[0])
    return type(exc).__name__ if exc is not None else "unknown"

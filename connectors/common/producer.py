"""Send events and quarantine records to Kafka: idempotent, acks=all, bounded retries with back-off.

Events go to their catalogue topic (``schemas.topics.topic_for``), quarantine records to
``cme.quarantine``; the key is the responsible authority's code. Event ids are derived from the
partner's own references, so an input re-sent after a failure produces the same ids and the
register ignores the duplicates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from connectors.common.oversize import MAX_MESSAGE_BYTES
from schemas.codec import Codec, default_codec
from schemas.topics import QUARANTINE, message_key, topic_for


class DeliveryError(Exception):
    """Kafka did not take every record; says which broker and how many were and were not sent."""


# Bytes per partition batch. kafka-python's 16 KiB default holds about 36 events; while earlier
# batches await their acks, every send into a full queue wakes the sender thread (a system call and
# a lock hand-over per event). 256 KiB batches halve the producer's CPU per event and the broker's.
BATCH_BYTES = 256 * 1024


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
        self._pending: list[Any] = []
        self._topics: dict[str, str] = {}
        self._config = {
            "bootstrap_servers": bootstrap_servers.split(","),
            "client_id": client_id,
            "enable_idempotence": True,  # with acks=all: no duplicates from the producer's own retries
            "acks": "all",
            "linger_ms": linger_ms,
            "request_timeout_ms": int(min(delivery_timeout_s, 30) * 1000),
            "delivery_timeout_ms": int(delivery_timeout_s * 1000) + 1000,
            "max_block_ms": int(delivery_timeout_s * 1000),
            "bootstrap_timeout_ms": int(connect_timeout_s * 1000),
            "reconnect_backoff_max_ms": 1000,  # a restarted broker is found again within a second
            "max_request_size": MAX_MESSAGE_BYTES,  # what the hub's brokers take (kafka-python's default: 1 MiB)
            "batch_size": BATCH_BYTES,
        }
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(KafkaError),
                stop=stop_after_attempt(connect_attempts),
                wait=wait_exponential(multiplier=0.5, max=4),
            ):
                with attempt:
                    self._producer = KafkaProducer(**self._config)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise DeliveryError(
                f"Kafka at {bootstrap_servers} cannot be reached after {connect_attempts} attempts "
                f"({type(cause).__name__}); nothing was sent. Start the broker (deploy/kafka/start.sh) or set "
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
            future = self._producer.send(self.topic_prefix + topic, key=key, value=value)
        except KafkaError as exc:
            raise DeliveryError(
                f"Kafka at {self.bootstrap_servers} refused a record for {self.topic_prefix + topic} "
                f"({type(exc).__name__}); {self.sent} records were confirmed sent before it"
            ) from exc
        self._pending.append(future)

    def send_quarantine(self, record: Mapping[str, Any]) -> None:
        """Queue a quarantine record for ``cme.quarantine``."""
        self._send(QUARANTINE, record, self.codec.encode(record, "QuarantineRecord"))

    def flush(self) -> int:
        """Wait until Kafka has confirmed every queued record; returns how many were confirmed."""
        with contextlib.suppress(KafkaError):  # the futures below say which records failed
            self._producer.flush(timeout=self.delivery_timeout_s)
        confirmed, failed, first_error = 0, 0, None
        for future in self._pending:
            if future.is_done and future.succeeded():
                confirmed += 1
            else:
                failed += 1
                first_error = first_error or (future.exception if future.is_done else "no answer in time")
        self._pending = []
        self.sent += confirmed
        if failed:
            self._renew()
            raise DeliveryError(
                f"Kafka at {self.bootstrap_servers} did not confirm {failed} records ({first_error}); "
                f"{self.sent} records were confirmed sent. Re-run the same input: event ids are stable, "
                "so records already sent are not applied twice."
            )
        return confirmed

    def _renew(self) -> None:
        # A producer whose batches outlived their timeout can stay stuck after the broker is back:
        # start afresh, so that sending the same records again works.
        with contextlib.suppress(KafkaError):
            self._producer.close(timeout=0)
        with contextlib.suppress(KafkaError):
            self._producer = KafkaProducer(**self._config)

    def close(self) -> None:
        """Flush what is queued and close the connection."""
        with contextlib.suppress(KafkaError):
            self._producer.close(timeout=self.delivery_timeout_s)

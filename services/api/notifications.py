"""Partner pushes over HTTPS: the raw payload through the connectors' own code, then onto Kafka.

The format is told from the content by the connectors (``connectors.formats``) and parsed by the
same parser ``cmehub ingest`` uses; events and quarantine records go out through the connectors'
producer (idempotent, acks=all). Event ids come from the partner's references and the payload's
digest, so pushing the same payload twice yields the same ids and the register applies it once.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from connectors.common.parsing import ParseContext
from connectors.common.producer import DeliveryError, EventProducer
from connectors.common.quarantine import ParseResult
from connectors.ingest import deliver, parse_file
from services.health import port_answers

log = structlog.get_logger("cmehub.api.notifications")

# The API's source names (one partner kind each) and the connector family that reads them.
FAMILY_OF_SOURCE = {"school": "schools", "health": "health", "police": "police", "border": "border"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class BrokerUnavailable(Exception):
    """Kafka cannot take the records now; nothing from this push counts as accepted."""


@dataclass(frozen=True)
class QuarantinedRecord:
    position: str
    reasons: list[str]
    quarantine_id: str


@dataclass
class PushOutcome:
    """What became of one pushed payload."""

    source: str
    format: str
    file_name: str
    records: int
    event_ids: list[str] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    out_of_scope: int = 0
    warnings: list[dict[str, str]] = field(default_factory=list)


def file_name_for(data: bytes, declared: str | None) -> str:
    """The name references are made from: the partner's own file name, else the payload's digest."""
    if declared:
        cleaned = _SAFE_NAME.sub("_", declared.strip())[:200]
        if cleaned.strip("._"):
            return cleaned
    return f"push-{hashlib.sha256(data).hexdigest()[:20]}"


class NotificationIntake:
    """Parses pushes and delivers them; one shared producer, one delivery at a time."""

    def __init__(self, bootstrap_servers: str, la_code: str, delivery_timeout_s: float = 10.0,
                 topic_prefix: str = "") -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.la_code = la_code
        self.delivery_timeout_s = delivery_timeout_s
        self._producer: EventProducer | None = None
        self._lock = threading.Lock()
        self._down_until = 0.0

    def parse(self, source: str, data: bytes, file_name: str) -> ParseResult:
        """The connectors' reading of the payload (never re-parsed here)."""
        return parse_file(data, file_name, FAMILY_OF_SOURCE[source], ParseContext(default_la=self.la_code))

    def _broker_answers(self) -> bool:
        return all(port_answers(h.rpartition(":")[0] or "127.0.0.1", int(h.rpartition(":")[2]), 1.0)
                   for h in self.bootstrap_servers.split(","))

    def _ensure_producer(self) -> EventProducer:
        if self._producer is None:
            if time.monotonic() < self._down_until or not self._broker_answers():
                self._down_until = time.monotonic() + 2.0
                raise BrokerUnavailable(f"Kafka at {self.bootstrap_servers} does not answer")
            try:
                self._producer = EventProducer(self.bootstrap_servers, connect_attempts=1,
                                               delivery_timeout_s=self.delivery_timeout_s, client_id="cmehub-api",
                                               topic_prefix=self.topic_prefix)
            except DeliveryError as exc:
                self._down_until = time.monotonic() + 2.0
                raise BrokerUnavailable(str(exc)) from exc
        return self._producer

    def deliver(self, result: ParseResult) -> None:
        """Send every event and quarantine record and wait for Kafka to confirm them all."""
        ctx = ParseContext(default_la=self.la_code)
        with self._lock:
            producer = self._ensure_producer()
            try:
                deliver(result, producer, ctx)
            except DeliveryError as exc:
                # Drop the producer: a fresh one reconnects cleanly once the broker is back.
                self._close_locked()
                raise BrokerUnavailable(str(exc)) from exc

    def resend(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Put original bytes back on ``topic`` (a dead letter's replay) and wait for Kafka to confirm."""
        with self._lock:
            producer = self._ensure_producer()
            try:
                producer.send_encoded(topic.removeprefix(self.topic_prefix), key, value)
                producer.flush()
            except DeliveryError as exc:
                self._close_locked()
                raise BrokerUnavailable(str(exc)) from exc

    def push(self, source: str, data: bytes, file_name: str) -> PushOutcome:
        """Parse and deliver one payload; raises :class:`BrokerUnavailable` if Kafka did not confirm it."""
        result = self.parse(source, data, file_name)
        self.deliver(result)
        ctx_time = ParseContext().received_at
        return PushOutcome(
            source=source, format=result.format, file_name=file_name, records=result.records,
            event_ids=[str(e["event_id"]) for e in result.events],
            quarantined=[QuarantinedRecord(q.position, q.reasons, str(q.to_record(ctx_time)["quarantine_id"]))
                         for q in result.quarantined],
            out_of_scope=result.out_of_scope,
            warnings=[{"event_id": event_id, "warning": p.text} for event_id, p in result.warnings],
        )

    def readiness(self) -> dict[str, Any]:
        # Pushes need the broker, enquiries and reads do not: report it, but do not fail readiness.
        return {"ready": True, "detail": "broker answers" if self._broker_answers()
                else "broker unreachable: pushes answer 503 until it is back"}

    def _close_locked(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close()
            except Exception:  # closing a producer to a dead broker may fail in many ways; it is gone anyway
                log.warning("producer close failed")
            self._producer = None

    async def stop(self) -> None:
        with self._lock:
            self._close_locked()

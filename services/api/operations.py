"""What operators see of the broker: topics, consumer lag, quarantined and dead-lettered messages.

Reads are bounded (the newest messages, a page at a time); replays put the original bytes back on
their way (quarantined inputs through the connectors again, dead letters to their original topic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.topic_admin import TopicAdminError, TopicState, describe_topics
from schemas.topics import DEADLETTER, QUARANTINE, catalogue
from services.api.notifications import BrokerUnavailable
from services.health import port_answers


@dataclass(frozen=True)
class StoredMessage:
    """One message as the broker holds it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


class BrokerOps:
    """Topic, lag and message reads for the operator endpoints."""

    def __init__(self, bootstrap_servers: str, topic_prefix: str = "", timeout_s: float = 10.0) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.timeout_ms = int(timeout_s * 1000)

    @property
    def quarantine_topic(self) -> str:
        return self.topic_prefix + QUARANTINE

    @property
    def deadletter_topic(self) -> str:
        return self.topic_prefix + DEADLETTER

    def _reachable(self) -> None:
        for address in self.bootstrap_servers.split(","):
            host, _, port = address.strip().rpartition(":")
            if not port_answers(host or "127.0.0.1", int(port), 1.0):
                raise BrokerUnavailable(f"Kafka at {self.bootstrap_servers} does not answer")

    def topics(self) -> list[TopicState]:
        self._reachable()
        try:
            return describe_topics(self.bootstrap_servers, [self.topic_prefix + s.name for s in catalogue()])
        except (TopicAdminError, KafkaError) as exc:
            raise BrokerUnavailable(str(exc)) from exc

    def lag(self) -> list[PartitionLag]:
        """Committed offsets against end offsets for every consumer group of the hub's topics."""
        self._reachable()
        hub_topics = {self.topic_prefix + s.name for s in catalogue()}
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="cmehub-api-ops",
                                     request_timeout_ms=self.timeout_ms)
            try:
                groups = [str(g["group_id"]) for g in admin.list_groups()]
                committed = admin.list_group_offsets(dict.fromkeys(groups)) if groups else {}
            finally:
                admin.close()
            partitions = {tp for offsets in committed.values() for tp in offsets if tp.topic in hub_topics}
            ends = self._end_offsets(partitions)
        except KafkaError as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        out = [PartitionLag(group, tp.topic, tp.partition, meta.offset, ends.get(tp, meta.offset))
               for group, offsets in committed.items() for tp, meta in offsets.items() if tp in partitions]
        return sorted(out, key=lambda p: (p.group, p.topic, p.partition))

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False, group_id=None,
                             client_id="cmehub-api-ops", request_timeout_ms=max(self.timeout_ms, 31000),
                             consumer_timeout_ms=self.timeout_ms)

    def _end_offsets(self, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
        if not partitions:
            return {}
        consumer = self._consumer()
        try:
            return dict(consumer.end_offsets(list(partitions)))
        finally:
            consumer.close()

    def newest(self, topic: str, limit: int) -> list[StoredMessage]:
        """The newest ``limit`` messages of ``topic`` across its partitions, newest first."""
        self._reachable()
        consumer = self._consumer()
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            if not tps:
                return []
            ends = consumer.end_offsets(tps)
            begins = consumer.beginning_offsets(tps)
            consumer.assign(tps)
            wanted = 0
            for tp in tps:
                start = max(begins[tp], ends[tp] - limit)
                wanted += ends[tp] - start
                consumer.seek(tp, start)
            got: list[StoredMessage] = []
            while len(got) < wanted:
                batch = consumer.poll(timeout_ms=self.timeout_ms)
                if not batch:
                    break
                for records in batch.values():
                    got += [_stored(r) for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)]]
        except KafkaError as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            consumer.close()
        got.sort(key=lambda m: (m.timestamp_ms, m.partition, m.offset), reverse=True)
        return got[:limit]

    def fetch(self, topic: str, partition: int, offset: int) -> StoredMessage | None:
        """One message by its position, or None when the broker no longer (or never) held it."""
        self._reachable()
        consumer = self._consumer()
        tp = TopicPartition(topic, partition)
        try:
            if partition not in (consumer.partitions_for_topic(topic) or set()):
                return None
            end = consumer.end_offsets([tp])[tp]
            begin = consumer.beginning_offsets([tp])[tp]
            if not begin <= offset < end:
                return None
            consumer.assign([tp])
            consumer.seek(tp, offset)
            for _ in range(5):
                batch = consumer.poll(timeout_ms=self.timeout_ms, max_records=1)
                for records in batch.values():
                    for r in records:
                        if r.offset == offset:
                            return _stored(r)
            return None
        except KafkaError as exc:
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            consumer.close()


def _stored(record: Any) -> StoredMessage:
    headers = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for k, v in (record.headers or [])}
    return StoredMessage(record.topic, record.partition, record.offset, int(record.timestamp or 0), record.key,
                         record.value or b"", headers)

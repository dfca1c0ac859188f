"""Make a Kafka cluster match the topic catalogue, and report what it holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import KafkaError

from schemas.topics import TopicSpec, catalogue

_TOPIC_EXISTS = 36
_UNKNOWN_TOPIC = 3


class TopicAdminError(RuntimeError):
    """The cluster refused a change or could not be reached; the message names the topic and cause."""


@dataclass(frozen=True)
class TopicChange:
    """What ``apply_topics`` did to one topic."""

    topic: str
    action: str  # created | updated | unchanged
    details: tuple[str, ...] = ()


@dataclass
class TopicState:
    """One topic as the cluster holds it."""

    name: str
    exists: bool
    partitions: int = 0
    end_offsets: dict[int, int] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> int:
        """Sum of the partitions' end offsets (messages ever written, before retention)."""
        return sum(self.end_offsets.values())


def _admin(bootstrap: str) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="cmehub-topics", request_timeout_ms=15000)
    except KafkaError as exc:
        raise TopicAdminError(f"cannot reach Kafka at {bootstrap}: {exc!r}") from exc


def _broker_count(admin: KafkaAdminClient) -> int:
    return max(1, len(admin.describe_cluster().get("brokers", [])))


def _partition_counts(admin: KafkaAdminClient, names: Sequence[str]) -> dict[str, int]:
    """Partition count of each existing topic among ``names``."""
    counts: dict[str, int] = {}
    for topic in admin.describe_topics(list(names)):
        if topic["error_code"] == 0:
            counts[topic["name"]] = len(topic["partitions"])
    return counts


def _current_configs(admin: KafkaAdminClient, name: str, keys: Iterable[str]) -> dict[str, str]:
    resource = ConfigResource(ConfigResourceType.TOPIC, name, configs=dict.fromkeys(keys))
    answer = admin.describe_configs([resource], config_filter="all")
    entries: dict[str, Any] = answer.get("topic", {}).get(name, {})
    return {key: str(value["value"]) for key, value in entries.items()}


def apply_topics(bootstrap: str, specs: Sequence[TopicSpec] | None = None) -> list[TopicChange]:
    """Create missing topics, raise partition counts and set configs; running it twice changes nothing."""
    specs = catalogue() if specs is None else specs
    admin = _admin(bootstrap)
    try:
        brokers = _broker_count(admin)
        existing = _partition_counts(admin, [s.name for s in specs])
        changes = []
        for spec in specs:
            if spec.name not in existing:
                changes.append(_create(admin, spec, brokers))
            else:
                changes.append(_update(admin, spec, brokers, existing[spec.name]))
        return changes
    finally:
        admin.close()


def _create(admin: KafkaAdminClient, spec: TopicSpec, brokers: int) -> TopicChange:
    new = NewTopic(spec.name, spec.partitions, spec.replication_for(brokers), topic_configs=spec.configs(brokers))
    answer = admin.create_topics([new], raise_errors=False)
    result = answer["topics"][0]
    if result["error_code"] == _TOPIC_EXISTS:  # another process created it meanwhile
        return _update(admin, spec, brokers, _partition_counts(admin, [spec.name]).get(spec.name, 0))
    if result["error_code"] != 0:
        raise TopicAdminError(f"cannot create topic {spec.name}: {result['error_message']}")
    return TopicChange(
        spec.name, "created", (f"{spec.partitions} partitions, replication {spec.replication_for(brokers)}",)
    )


def _update(admin: KafkaAdminClient, spec: TopicSpec, brokers: int, partitions: int) -> TopicChange:
    details = []
    if partitions < spec.partitions:
        answer = admin.create_partitions({spec.name: NewPartitions(spec.partitions)}, raise_errors=False)
        for result in answer.results:
            if result.error_code != 0:
                raise TopicAdminError(f"cannot add partitions to {spec.name}: {result.error_message}")
        details.append(f"partitions {partitions} -> {spec.partitions}")
    elif partitions > spec.partitions:
        # Kafka cannot remove partitions; say so rather than pretend.
        details.append(f"has {partitions} partitions, more than the {spec.partitions} wanted (Kafka cannot shrink)")
    wanted = spec.configs(brokers)
    current = _current_configs(admin, spec.name, wanted)
    differing = {key: value for key, value in wanted.items() if current.get(key) != value}
    if differing:
        resource = ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=differing)
        answer = admin.alter_configs([resource])
        outcome = answer.get("topic", {}).get(spec.name)
        if outcome != "OK":
            raise TopicAdminError(f"cannot set configs of {spec.name}: {outcome}")
        details.extend(f"{key} {current.get(key)} -> {value}" for key, value in sorted(differing.items()))
    changed = any("->" in d for d in details)
    return TopicChange(spec.name, "updated" if changed else "unchanged", tuple(details))


def describe_topics(bootstrap: str, names: Sequence[str] | None = None) -> list[TopicState]:
    """Partition counts, end offsets and hub-managed configs of ``names`` (default: the catalogue)."""
    names = [s.name for s in catalogue()] if names is None else list(names)
    admin = _admin(bootstrap)
    try:
        counts = _partition_counts(admin, names)
        keys = ("cleanup.policy", "retention.ms", "min.insync.replicas")
        configs = {name: _current_configs(admin, name, keys) for name in counts}
    finally:
        admin.close()
    offsets: dict[TopicPartition, int] = {}
    if counts:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="cmehub-topics")
        try:
            offsets = consumer.end_offsets(
                [TopicPartition(name, p) for name, count in counts.items() for p in range(count)]
            )
        finally:
            consumer.close()
    states = []
    for name in names:
        if name not in counts:
            states.append(TopicState(name, exists=False))
            continue
        ends = {tp.partition: off for tp, off in offsets.items() if tp.topic == name}
        states.append(TopicState(name, True, counts[name], dict(sorted(ends.items())), configs[name]))
    return states

"""The topic catalogue (read from ``topics.yaml``) and which topic each event goes to.

Every message is keyed by the responsible authority's 3-digit code (:func:`message_key`), so one
authority's facts stay in order on one partition. Retry and dead-letter messages keep the original
bytes as their value and say what happened in the headers named below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_FILE = Path(__file__).with_name("topics.yaml")
DAY_MS = 24 * 60 * 60 * 1000

NOTIFICATIONS_PREFIX = "cme.notifications."
MATCH_DECISIONS = "cme.match.decisions"
REGISTER_CHANGES = "cme.register.changes"
LA_OUTBOUND = "cme.la.outbound"
QUARANTINE = "cme.quarantine"
RETRY = "cme.notifications.retry"
DEADLETTER = "cme.deadletter"

# Headers of retry and dead-letter messages (values are UTF-8 text).
HEADER_ORIGINAL_TOPIC = "cme-original-topic"
HEADER_ORIGINAL_PARTITION = "cme-original-partition"
HEADER_ORIGINAL_OFFSET = "cme-original-offset"
HEADER_ATTEMPTS = "cme-attempts"
HEADER_ERROR = "cme-error"
HEADER_NOT_BEFORE = "cme-not-before"  # retry: ISO timestamp before which not to retry


class CatalogueError(ValueError):
    """topics.yaml is malformed; the message says which entry and why."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic as the hub wants it."""

    name: str
    purpose: str
    partitions: int
    retention_ms: int  # -1 keeps messages forever
    cleanup_policy: str
    replication_factor: int
    min_insync_replicas: int
    key: str
    event_types: tuple[str, ...] = ()
    records: tuple[str, ...] = ()

    def configs(self, brokers: int) -> dict[str, str]:
        """Topic-level configs to set, for a cluster of ``brokers`` brokers."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min(self.min_insync_replicas, self.replication_for(brokers))),
        }

    def replication_for(self, brokers: int) -> int:
        """Replication factor capped at the number of brokers."""
        return max(1, min(self.replication_factor, brokers))


def _spec(entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> TopicSpec:
    merged = {**defaults, **entry}
    name = merged.get("name")
    try:
        partitions = int(merged["partitions"])
        days = int(merged["retention_days"])
        spec = TopicSpec(
            name=str(name),
            purpose=str(merged.get("purpose", "")),
            partitions=partitions,
            retention_ms=-1 if days < 0 else days * DAY_MS,
            cleanup_policy=str(merged["cleanup_policy"]),
            replication_factor=int(merged["replication_factor"]),
            min_insync_replicas=int(merged["min_insync_replicas"]),
            key=str(merged["key"]),
            event_types=tuple(merged.get("event_types", ())),
            records=tuple(merged.get("records", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"{CATALOGUE_FILE.name}: topic {name!r}: missing or bad value ({exc})") from exc
    if partitions < 1:
        raise CatalogueError(f"{CATALOGUE_FILE.name}: topic {name!r}: partitions must be at least 1")
    if spec.cleanup_policy not in ("delete", "compact", "compact,delete"):
        raise CatalogueError(f"{CATALOGUE_FILE.name}: topic {name!r}: unknown cleanup_policy")
    return spec


def load_catalogue(path: Path = CATALOGUE_FILE) -> tuple[TopicSpec, ...]:
    """Read and check a catalogue file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    specs = tuple(_spec(entry, defaults) for entry in data["topics"])
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise CatalogueError(f"{path.name}: a topic is listed twice")
    return specs


@cache
def catalogue(prefix: str = "") -> tuple[TopicSpec, ...]:
    """The hub's topics, their names behind ``prefix`` (the setting ``CMEHUB_TOPIC_PREFIX``)."""
    specs = load_catalogue()
    return tuple(dataclasses.replace(s, name=prefix + s.name) for s in specs) if prefix else specs


def topic_spec(name: str) -> TopicSpec:
    """The spec of one topic of the catalogue."""
    for spec in catalogue():
        if spec.name == name:
            return spec
    raise KeyError(f"{name!r} is not a hub topic; see {CATALOGUE_FILE}")


def notification_topic(source_kind: str) -> str:
    """``cme.notifications.<source kind>`` (school, health, police, border, authority)."""
    name = NOTIFICATIONS_PREFIX + source_kind
    topic_spec(name)
    return name


def topic_for(event: Mapping[str, Any], local_la: str | None = None) -> str:
    """The topic an event is produced to.

    ``la.*`` events go to ``cme.la.outbound`` when this hub (``local_la``) sends them and to
    ``cme.notifications.authority`` when another authority did.
    """
    event_type = str(event.get("event_type"))
    if event_type.startswith("la."):
        return (
            LA_OUTBOUND
            if local_la is not None and event.get("from_la") == local_la
            else (NOTIFICATIONS_PREFIX + "authority")
        )
    for spec in catalogue():
        if event_type in spec.event_types:
            return spec.name
    raise KeyError(f"no topic carries event type {event_type!r}")


def message_key(record: Mapping[str, Any]) -> bytes | None:
    """The Kafka key of a record: its responsible authority's code (None when not known)."""
    la = record.get("responsible_la")
    return la.encode("ascii") if isinstance(la, str) and la else None


def failure_headers(
    topic: str, partition: int, offset: int, error: str, attempts: int, not_before: str | None = None
) -> list[tuple[str, bytes]]:
    """Kafka headers for a retry or dead-letter copy of a message (``error`` must hold no personal data)."""
    headers = [
        (HEADER_ORIGINAL_TOPIC, topic.encode()),
        (HEADER_ORIGINAL_PARTITION, str(partition).encode()),
        (HEADER_ORIGINAL_OFFSET, str(offset).encode()),
        (HEADER_ATTEMPTS, str(attempts).encode()),
        (HEADER_ERROR, error.encode("utf-8", "replace")[:2000]),
    ]
    if not_before is not None:
        headers.append((HEADER_NOT_BEFORE, not_before.encode()))
    return headers


def read_failure_headers(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """The hub's failure headers of a message as text, by name (others are ignored)."""
    ours = {
        HEADER_ORIGINAL_TOPIC,
        HEADER_ORIGINAL_PARTITION,
        HEADER_ORIGINAL_OFFSET,
        HEADER_ATTEMPTS,
        HEADER_ERROR,
        HEADER_NOT_BEFORE,
    }
    return {k: v.decode("utf-8", "replace") for k, v in headers or [] if k in ours}

"""The topic catalogue: read from topics.yaml, every event type routed, keys are the LA."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import topics as T
from schemas.events import EVENT_TYPES
from schemas.examples import example_event, example_quarantine


def test_catalogue_has_the_issue_topics() -> None:
    names = {s.name for s in T.catalogue()}
    assert {f"cme.notifications.{k}" for k in ("school", "health", "police", "border", "authority")} <= names
    assert {T.MATCH_DECISIONS, T.REGISTER_CHANGES, T.LA_OUTBOUND, T.QUARANTINE, T.RETRY, T.DEADLETTER} <= names
    for spec in T.catalogue():
        assert spec.partitions >= 1 and spec.key == "responsible_la"
        assert spec.cleanup_policy in ("delete", "compact", "compact,delete")


def test_catalogue_is_read_from_the_yaml_file(tmp_path: Path) -> None:
    text = T.CATALOGUE_FILE.read_text().replace("partitions: 6", "partitions: 9", 1)
    changed = tmp_path / "topics.yaml"
    changed.write_text(text)
    assert T.load_catalogue(changed)[0].partitions == 9
    assert T.catalogue()[0].partitions == 6


def test_bad_catalogue_entries_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "topics.yaml"
    bad.write_text(
        "defaults: {replication_factor: 1, min_insync_replicas: 1, key: responsible_la, "
        "cleanup_policy: delete}\ntopics:\n  - name: cme.x\n    retention_days: 1\n"
    )
    with pytest.raises(T.CatalogueError, match=r"topic 'cme\.x': missing or bad value"):
        T.load_catalogue(bad)


def test_configs_cap_replication_at_the_broker_count() -> None:
    spec = T.topic_spec("cme.notifications.school")
    assert spec.replication_for(1) == 1 and spec.replication_for(5) == 3
    assert spec.configs(1) == {
        "cleanup.policy": "delete",
        "retention.ms": str(30 * T.DAY_MS),
        "min.insync.replicas": "1",
    }
    assert spec.configs(3)["min.insync.replicas"] == "2"
    assert T.topic_spec(T.REGISTER_CHANGES).retention_ms == -1


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_has_a_topic(event_type: str) -> None:
    topic = T.topic_for(example_event(event_type), local_la="383")
    assert T.topic_spec(topic)


def test_routing() -> None:
    assert T.topic_for(example_event("school.deletion_return")) == "cme.notifications.school"
    assert T.topic_for(example_event("match.decision")) == T.MATCH_DECISIONS
    enquiry = example_event("la.enquiry")  # from 384 to 383
    assert T.topic_for(enquiry, local_la="383") == "cme.notifications.authority"
    assert T.topic_for(enquiry, local_la="384") == T.LA_OUTBOUND
    assert T.notification_topic("police") == "cme.notifications.police"
    with pytest.raises(KeyError):
        T.notification_topic("weather")
    with pytest.raises(KeyError):
        T.topic_for({"event_type": "weather.report"})


def test_message_key_is_the_responsible_la() -> None:
    assert T.message_key(example_event("police.found")) == b"383"
    assert T.message_key(example_quarantine()) == b"383"
    assert T.message_key({**example_quarantine(), "responsible_la": None}) is None


def test_failure_headers_round_trip() -> None:
    headers = T.failure_headers(
        "cme.notifications.school", 2, 41, "register unavailable", 3, not_before="2025-11-14T16:50:00+00:00"
    )
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in headers)
    assert T.read_failure_headers([*headers, ("other", b"x")]) == {
        "cme-original-topic": "cme.notifications.school",
        "cme-original-partition": "2",
        "cme-original-offset": "41",
        "cme-attempts": "3",
        "cme-error": "register unavailable",
        "cme-not-before": "2025-11-14T16:50:00+00:00",
    }
    assert T.read_failure_headers(None) == {}

"""`cmehub topics apply|list` against the real broker."""

from __future__ import annotations

import dataclasses

from kafka import KafkaProducer
from typer.testing import CliRunner

from schemas.topic_admin import apply_topics, describe_topics
from schemas.topics import DAY_MS, catalogue, topic_spec
from services.cli import app


def test_apply_creates_then_updates_then_leaves_alone(kafka_bootstrap: str, topic_name: str) -> None:
    spec = dataclasses.replace(
        topic_spec("cme.notifications.police"), name=topic_name, partitions=1, retention_ms=DAY_MS
    )
    [created] = apply_topics(kafka_bootstrap, [spec])
    assert (created.topic, created.action) == (topic_name, "created")

    grown = dataclasses.replace(spec, partitions=2, retention_ms=2 * DAY_MS)
    [updated] = apply_topics(kafka_bootstrap, [grown])
    assert updated.action == "updated"
    assert "partitions 1 -> 2" in updated.details
    assert f"retention.ms {DAY_MS} -> {2 * DAY_MS}" in updated.details

    [again] = apply_topics(kafka_bootstrap, [grown])
    assert (again.action, again.details) == ("unchanged", ())

    shrunk = dataclasses.replace(grown, partitions=1)
    [refused] = apply_topics(kafka_bootstrap, [shrunk])
    assert refused.action == "unchanged" and "Kafka cannot shrink" in refused.details[0]

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for _ in range(3):
        producer.send(topic_name, key=b"383", value=b"x", partition=1)
    producer.flush()
    producer.close()
    [state] = describe_topics(kafka_bootstrap, [topic_name])
    assert state.exists and state.partitions == 2
    assert state.end_offsets == {0: 0, 1: 3} and state.messages == 3
    assert state.configs["retention.ms"] == str(2 * DAY_MS)
    [absent] = describe_topics(kafka_bootstrap, [topic_name + ".absent"])
    assert not absent.exists


def test_cli_apply_is_idempotent_and_list_shows_every_topic(kafka_bootstrap: str) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["topics", "apply", "--bootstrap", kafka_bootstrap])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["topics", "apply", "--bootstrap", kafka_bootstrap])
    assert second.exit_code == 0, second.output
    assert f"{len(catalogue())} topics: 0 created, 0 updated, {len(catalogue())} unchanged" in second.output
    listing = runner.invoke(app, ["topics", "list", "--bootstrap", kafka_bootstrap], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    for spec in catalogue():
        assert spec.name in listing.output
    assert "missing" not in listing.output

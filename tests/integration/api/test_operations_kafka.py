"""Operator endpoints on the real broker: topics, lag, quarantine and dead letters with replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from schemas.codec import default_codec
from schemas.topics import HEADER_ERROR, HEADER_ORIGINAL_TOPIC
from tests.integration.api.conftest import headers_for
from tests.integration.api.test_notifications_kafka import _read

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

FIXTURES = Path(__file__).parents[2] / "fixtures"


def test_quarantined_push_is_listed_and_replayed(pg_app: FastAPI, pg_client: TestClient) -> None:
    partner = headers_for(pg_app, pg_client, "partner", sources=["police"])
    operator = headers_for(pg_app, pg_client, "operator")
    junk = (FIXTURES / "police" / "malformed" / "truncated.json").read_bytes()
    pushed = pg_client.post("/v1/notifications/police", content=junk, headers=partner).json()
    listed = pg_client.get("/v1/ops/quarantine", headers=operator)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    assert item["quarantine_id"] == pushed["quarantined"][0]["quarantine_id"]
    assert item["reasons"] == pushed["quarantined"][0]["reasons"] and item["original_bytes"] == len(junk)
    replay = pg_client.post(f"/v1/ops/quarantine/{item['partition']}/{item['offset']}/replay", headers=operator)
    assert replay.status_code == 200, replay.text
    assert replay.json()["accepted"] == 0 and replay.json()["quarantined"][0]["reasons"]  # still bad: kept
    assert pg_client.post("/v1/ops/quarantine/0/999999/replay", headers=operator).status_code == 404
    assert pg_client.get("/v1/ops/quarantine", headers=partner).status_code == 403


def test_dead_letter_is_listed_and_sent_back_to_its_topic(pg_app: FastAPI, pg_client: TestClient,
                                                          topic_prefix: str, kafka_bootstrap: str) -> None:
    operator = headers_for(pg_app, pg_client, "operator")
    data = (FIXTURES / "schools" / "deletion_return.csv").read_bytes()
    from connectors.common.parsing import ParseContext
    from connectors.ingest import parse_file

    event = parse_file(data, "d.csv", "schools", ParseContext()).events[0]
    value = default_codec().encode(event)
    original = f"{topic_prefix}cme.notifications.school"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(f"{topic_prefix}cme.deadletter", key=b"383", value=value,
                  headers=[(HEADER_ORIGINAL_TOPIC, original.encode()), (HEADER_ERROR, b"UnknownChild: test")])
    producer.flush()
    producer.close()
    [letter] = pg_client.get("/v1/ops/deadletters", headers=operator).json()
    assert letter["original_topic"] == original and letter["event_id"] == event["event_id"]
    assert letter["error"] == "UnknownChild: test"
    sent = pg_client.post(f"/v1/ops/deadletters/{letter['partition']}/{letter['offset']}/replay", headers=operator)
    assert sent.status_code == 200, sent.text
    [(key, back)] = _read(kafka_bootstrap, original, 1)
    assert key == b"383" and back["event_id"] == event["event_id"]


def test_topics_and_consumer_lag(pg_app: FastAPI, pg_client: TestClient, topic_prefix: str,
                                 kafka_bootstrap: str) -> None:
    operator = headers_for(pg_app, pg_client, "operator")
    partner = headers_for(pg_app, pg_client, "partner", sources=["school"])
    data = (FIXTURES / "schools" / "deletion_return.csv").read_bytes()
    assert pg_client.post("/v1/notifications/school", content=data, headers=partner).status_code == 202
    topic = f"{topic_prefix}cme.notifications.school"
    group = f"{topic_prefix}matching"
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    parts = consumer.partitions_for_topic(topic) or set()
    consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(0, "", -1) for p in parts})
    consumer.close()
    topics = {t["name"]: t for t in pg_client.get("/v1/ops/topics", headers=operator).json()}
    assert topics[topic]["exists"] and topics[topic]["messages"] == 2
    lag = [r for r in pg_client.get("/v1/ops/lag", headers=operator).json() if r["group"] == group]
    assert sum(r["lag"] for r in lag) == 2

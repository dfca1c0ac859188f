"""Pushes reach the real broker: events on their topic, quarantined records on cme.quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from schemas.codec import default_codec
from tests.integration.api.conftest import headers_for

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

FIXTURES = Path(__file__).parents[2] / "fixtures"


def _read(bootstrap: str, topic: str, expected: int, timeout_s: float = 20.0) -> list[tuple[bytes | None, dict]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=int(timeout_s * 1000))
    out = []
    try:
        for message in consumer:
            out.append((message.key, default_codec().decode(message.value, topic)))
            if len(out) >= expected:
                break
    finally:
        consumer.close()
    return out


def test_pushed_ctf_lands_on_the_school_topic(pg_app: FastAPI, pg_client: TestClient, topic_prefix: str,
                                              kafka_bootstrap: str) -> None:
    data = (FIXTURES / "schools" / "3832999_CTF_3844001_001.xml").read_bytes()
    headers = headers_for(pg_app, pg_client, "partner", sources=["school"])
    response = pg_client.post("/v1/notifications/school?file_name=3832999_CTF_3844001_001.xml", content=data,
                              headers=headers)
    assert response.status_code == 202, response.text
    ids = response.json()["event_ids"]
    got = _read(kafka_bootstrap, f"{topic_prefix}cme.notifications.school", len(ids))
    assert sorted(e["event_id"] for _, e in got) == sorted(ids)
    assert all(key is not None and len(key) == 3 for key, _ in got)  # keyed by the responsible authority


def test_unreadable_push_is_quarantined_on_the_broker(pg_app: FastAPI, pg_client: TestClient, topic_prefix: str,
                                                      kafka_bootstrap: str) -> None:
    headers = headers_for(pg_app, pg_client, "partner", sources=["police"])
    junk = (FIXTURES / "police" / "malformed" / "truncated.json").read_bytes()
    response = pg_client.post("/v1/notifications/police", content=junk, headers=headers)
    assert response.status_code == 422
    qid = response.json()["quarantined"][0]["quarantine_id"]
    got = _read(kafka_bootstrap, f"{topic_prefix}cme.quarantine", 1)
    assert got[0][1]["quarantine_id"] == qid
    assert got[0][1]["original"] == junk and got[0][1]["reasons"]

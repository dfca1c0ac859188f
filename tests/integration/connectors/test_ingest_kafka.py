"""Ingest a folder of every partner format into the real broker and read the events back with the codec."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from typer.testing import CliRunner

import connectors.ingest as ingest_module
from connectors.common.parsing import ParseContext
from connectors.common.producer import EventProducer
from connectors.formats import parse_input
from connectors.ingest import ingest
from schemas.codec import Codec
from schemas.topics import QUARANTINE, notification_topic
from services.commands.ingest import app
from tests.unit.connectors.conftest import FIXTURES
from tests.unit.connectors.pds_server import FhirServer

PATIENT = json.loads((FIXTURES / "health" / "ukcore_patient_child.json").read_bytes())


def _folder(tmp_path: Path) -> Path:
    """Every fixture of every family, good and malformed, in one folder."""
    folder = tmp_path / "inbox"
    for family in ("schools", "health", "police", "border"):
        for path in (FIXTURES / family).rglob("*"):
            if path.is_file():
                target = folder / family / path.relative_to(FIXTURES / family)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
    return folder


def _read_all(bootstrap: str, topics: list[str], expected: int, codec: Codec) -> list[tuple[str, bytes, dict]]:
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    got: list[tuple[str, bytes, dict]] = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for message in consumer:
                got.append((message.topic, message.key, codec.decode(message.value, message.topic)))
    finally:
        consumer.close()
    return got


def test_a_folder_of_all_formats_reaches_kafka_and_decodes(
    kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    prefix = f"{topic_name}."
    with FhirServer() as pds:
        pds.patients["9434765919"] = PATIENT
        result = CliRunner().invoke(
            app,
            ["auto", str(folder), "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix, "--pds-url", pds.base_url],
        )
    assert result.exit_code == 2, result.stderr  # the malformed fixtures are quarantined
    m = re.search(r"read (\d+) records; events (\d+); sent (\d+); warned \d+; quarantined (\d+)", result.stderr)
    assert m, result.stderr
    records, events, sent, quarantined = (int(g) for g in m.groups())
    assert records == events + quarantined == sent
    assert events >= 30 and quarantined >= 40

    codec = Codec()
    topics = [prefix + notification_topic(kind) for kind in ("school", "health", "police", "border")]
    topics.append(prefix + QUARANTINE)
    got = _read_all(kafka_bootstrap, topics, events + quarantined, codec)
    assert len(got) == events + quarantined
    by_topic: dict[str, list[dict]] = {}
    for topic, key, record in got:
        by_topic.setdefault(topic.removeprefix(prefix), []).append(record)
        assert key == record["responsible_la"].encode()
    assert len(by_topic[QUARANTINE]) == quarantined
    kinds = {t: {r["event_type"] for r in rs} for t, rs in by_topic.items() if t != QUARANTINE}
    assert kinds["cme.notifications.school"] == {
        "school.ctf_transfer",
        "school.deletion_return",
        "school.admission_return",
        "school.absence_referral",
    }
    assert kinds["cme.notifications.health"] == {"health.patient_update", "health.address_change"}
    assert kinds["cme.notifications.police"] == {
        "police.missing_episode",
        "police.found",
        "police.welfare_concern",
        "police.encompass",
    }
    assert kinds["cme.notifications.border"] == {"border.arrival", "border.departure"}
    mns = [r for r in by_topic["cme.notifications.health"] if r["source"]["partner_id"] == "nhs-mns"]
    assert len(mns) == 2 and all(r["child"]["nhs_number"] == "9434765919" for r in mns)
    lost = next(r for r in by_topic["cme.notifications.school"] if r.get("destination_kind") == "unknown")
    assert lost["child"]["upn"] == "B801200005001"
    bomb = next(r for r in by_topic[QUARANTINE] if r["file_name"].endswith("3832999_CTF_3844001_102.xml"))
    assert bomb["position"] == "whole file" and bomb["original"].startswith(b"<?xml")
    assert "XML refused for safety" in bomb["reasons"][0]


def test_rerunning_the_same_input_gives_the_same_event_ids(kafka_bootstrap: str, topic_name: str) -> None:
    prefix = f"{topic_name}."
    paths = [FIXTURES / "schools" / "deletion_return.csv", FIXTURES / "border" / "paxlst_minor_arrival.edi"]
    for _ in range(2):
        with EventProducer(kafka_bootstrap, topic_prefix=prefix) as producer:
            summary = ingest(paths[:1], "schools", producer, ParseContext())
            summary_border = ingest(paths[1:], "border", producer, ParseContext())
        assert summary.sent == 2 and summary_border.sent == 1
    codec = Codec()
    got = _read_all(
        kafka_bootstrap, [prefix + "cme.notifications.school", prefix + "cme.notifications.border"], 6, codec
    )
    ids = [record["event_id"] for _, _, record in got]
    assert len(ids) == 6 and len(set(ids)) == 3  # each event twice, with the same id: the register dedupes


def test_a_folder_sent_through_the_parse_worker_arrives_whole(
    kafka_bootstrap: str, topic_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "PIPELINE_MIN_BYTES", 0)  # the fixtures are small; use the worker anyway
    prefix = f"{topic_name}."
    files = sorted(p for p in (FIXTURES / "schools").rglob("*") if p.is_file())
    ctx = ParseContext()
    expected = []
    for path in files:
        result = parse_input(path.read_bytes(), str(path), "schools", ctx)
        expected += [e["event_id"] for e in result.events]
        expected += [q.to_record(ctx.received_at)["quarantine_id"] for q in result.quarantined]
    with EventProducer(kafka_bootstrap, topic_prefix=prefix) as producer:
        summary = ingest(files, "schools", producer, ctx)
    assert summary.delivery_error is None and summary.sent == len(expected)
    got = _read_all(kafka_bootstrap, [prefix + "cme.notifications.school", prefix + QUARANTINE], len(expected), Codec())
    assert sorted(r.get("event_id") or r["quarantine_id"] for _, _, r in got) == sorted(expected)

"""Messages produced by kcat (a C Kafka client) are decoded by the hub; random bytes are reported."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from typer.testing import CliRunner

from schemas.codec import Codec, UndecodableMessage
from schemas.examples import example_event
from services.cli import app


def _kcat() -> str:
    path = shutil.which("kcat")
    if path is None:
        pytest.fail("kcat is not installed: apt-get install kcat (listed in deploy/debian-packages.txt)", pytrace=False)
    return path


def _produce(bootstrap: str, topic: str, payload: Path) -> None:
    # A file given as an argument is sent as one message, whatever bytes it holds.
    subprocess.run(
        [_kcat(), "-b", bootstrap, "-P", "-t", topic, "-p", "0", "-k", "383", str(payload)],
        check=True,
        timeout=60,
        capture_output=True,
    )


@pytest.fixture
def kcat_topic(kafka_bootstrap: str, topic_name: str, tmp_path: Path) -> str:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic_name, 1, 1)])
    admin.close()
    event_file = tmp_path / "deletion_return.avro"
    event_file.write_bytes(Codec().encode(example_event("school.deletion_return")))
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(random.Random(436).randrange(256) for _ in range(97)))
    _produce(kafka_bootstrap, topic_name, event_file)
    _produce(kafka_bootstrap, topic_name, noise)
    return topic_name


def test_kcat_message_decodes_and_noise_is_reported(kafka_bootstrap: str, kcat_topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    tp = TopicPartition(kcat_topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    records = []
    for _ in range(20):
        records += consumer.poll(timeout_ms=500).get(tp, [])
        if len(records) >= 2:
            break
    consumer.close()
    assert [r.key for r in records] == [b"383", b"383"]
    codec = Codec()
    assert codec.decode(records[0].value, kcat_topic, 0, records[0].offset) == example_event("school.deletion_return")
    with pytest.raises(UndecodableMessage) as info:
        codec.decode(records[1].value, kcat_topic, 0, records[1].offset)
    assert (info.value.topic, info.value.partition, info.value.offset) == (kcat_topic, 0, 1)


def test_events_decode_masks_by_default_and_reports_noise(kafka_bootstrap: str, kcat_topic: str) -> None:
    result = CliRunner().invoke(app, ["events", "decode", kcat_topic, "--bootstrap", kafka_bootstrap])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    event, noise = lines
    assert (event["offset"], event["record"], event["key"]) == (0, "school.deletion_return", "383")
    assert event["event"]["child"]["surname"] == "«masked»"
    assert event["event"]["deletion_ground"] == "9(1)(i)"
    assert "SAMPLE" not in result.stdout and "B801200005001" not in result.stdout
    assert noise["offset"] == 1 and noise["undecodable"]
    assert "2 message(s), 1 undecodable" in result.stderr


def test_reveal_needs_a_reason_and_is_logged_without_the_data(kafka_bootstrap: str, kcat_topic: str) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["events", "decode", kcat_topic, "--bootstrap", kafka_bootstrap, "--reveal"])
    assert refused.exit_code != 0 and "--reason" in refused.output
    shown = runner.invoke(
        app,
        [
            "events",
            "decode",
            kcat_topic,
            "--bootstrap",
            kafka_bootstrap,
            "--reveal",
            "--reason",
            "CME case 42 tracing",
            "--limit",
            "1",
            "--partition",
            "0",
        ],
    )
    assert shown.exit_code == 0, shown.output
    [line] = [json.loads(x) for x in shown.stdout.splitlines()]
    assert line["offset"] == 1  # the last message only
    everything = runner.invoke(
        app,
        ["events", "decode", kcat_topic, "--bootstrap", kafka_bootstrap, "--reveal", "--reason", "CME case 42 tracing"],
    )
    assert "SAMPLE" in everything.stdout
    audit = [json.loads(x) for x in everything.stderr.splitlines() if x.startswith("{")]
    assert audit and audit[0]["event"] == "personal data revealed"
    assert audit[0]["reason"] == "CME case 42 tracing" and audit[0]["messages"] == 2
    assert "SAMPLE" not in everything.stderr and "Tomasz" not in everything.stderr


def test_events_decode_names_a_missing_topic(kafka_bootstrap: str, topic_name: str) -> None:
    result = CliRunner().invoke(app, ["events", "decode", topic_name + ".none", "--bootstrap", kafka_bootstrap])
    assert result.exit_code != 0 and "does not exist" in result.output

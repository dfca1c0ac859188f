"""Oversized messages on the way in and through the hub, against the real broker, worker and PostgreSQL.

Each test sends good notifications around the bad one and asserts from the ground truth (the ids it
sent) that every good notification is in the register exactly once, that the bad one is kept
exactly once where it belongs (quarantine or dead letters, with its reason and origin), and reports
the recovery time: from the bad message to the first good one sent after it committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from connectors.common.oversize import MAX_MESSAGE_BYTES
from connectors.common.parsing import ParseContext
from connectors.worker import parse_file
from schemas.codec import default_codec
from schemas.topics import (
    DEADLETTER,
    HEADER_ERROR,
    HEADER_ORIGINAL_OFFSET,
    HEADER_ORIGINAL_PARTITION,
    HEADER_ORIGINAL_TOPIC,
    QUARANTINE,
)
from tests.integration.faults.api import ApiProcess, returns
from tests.integration.faults.hub import RegisterWatch, side_topic
from tests.integration.matching.notifications import deletion_return
from tests.integration.matching.stream_harness import StreamHarness

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(120)]

Report = Callable[[str, float | int | str], None]
ROOT = Path(__file__).resolve().parents[3]


def _broker_message_max() -> int:
    """The brokers' message.max.bytes (deploy/kafka/server.properties.in): the largest record batch they take."""
    found = re.search(r"^message\.max\.bytes=(\d+)$", (ROOT / "deploy/kafka/server.properties.in").read_text(), re.M)
    assert found, "deploy/kafka/server.properties.in sets no message.max.bytes"
    return int(found.group(1))


BROKER_MESSAGE_MAX = _broker_message_max()
API_MAX_BODY = 5_000_000  # the API's default CMEHUB_API_MAX_BODY_BYTES
SCHOOL = "cme.notifications.school"


@pytest.fixture
def register(harness: StreamHarness) -> Iterator[RegisterWatch]:
    watch = RegisterWatch(harness)
    yield watch
    watch.close()


def _big_producer(bootstrap: str) -> KafkaProducer:
    # A client allowed to send up to the broker's own limit, so the broker is what decides.
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=BROKER_MESSAGE_MAX * 2)


def _largest_accepted_junk(bootstrap: str, topic: str) -> bytes:
    """Junk as large as the broker takes on ``topic``: the hub cannot add a byte to it and re-send it."""
    producer = _big_producer(bootstrap)
    try:
        size = BROKER_MESSAGE_MAX - 96  # the record batch's own header and the key take the rest
        while True:
            value = b"\x00\xff junk " + b"x" * (size - 8)
            try:
                producer.send(topic, key=b"383", value=value).get(timeout=30)
                return value
            except Exception as exc:  # the broker refused it: a little smaller
                if "MessageSizeTooLarge" not in type(exc).__name__ or size < BROKER_MESSAGE_MAX - 256:
                    raise
                size -= 8
    finally:
        producer.close()


def _dead_letter_headers(record: object) -> dict[str, str]:
    return {k: v.decode() for k, v in getattr(record, "headers")}  # noqa: B009


def test_junk_at_the_broker_limit_is_dead_lettered_once_and_the_stream_goes_on(
    harness: StreamHarness, register: RegisterWatch, kafka_bootstrap: str, recovery_report: Report,
) -> None:
    harness.start_worker()
    before = [deletion_return(n, batch="ov-b") for n in range(20)]
    after = [deletion_return(n, batch="ov-b") for n in range(20, 40)]
    harness.produce(before)
    register.wait_for([e["event_id"] for e in before], 60, "the notifications before the junk")

    topic = harness.prefix + SCHOOL
    junk = _largest_accepted_junk(kafka_bootstrap, topic)
    bad_at = time.time()  # the junk is in the log
    harness.produce(after)
    register.wait_for([e["event_id"] for e in after], 60, "the notifications after the junk")
    recovered_at = min(register.first_seen[e["event_id"]] for e in after)

    dead = side_topic(kafka_bootstrap, harness.prefix + DEADLETTER, expected=1, timeout_s=20)
    good = {e["event_id"] for e in before + after}
    processed = register.counts("processed_event")
    notifications = register.counts("notification")
    assert set(processed) == good and set(processed.values()) == {1}, "a good notification lost or twice"
    assert set(notifications) == good and set(notifications.values()) == {1}
    assert len(dead) == 1, f"{len(dead)} dead letters for one junk message"
    headers = _dead_letter_headers(dead[0])
    assert headers[HEADER_ORIGINAL_TOPIC] == topic
    assert int(headers[HEADER_ORIGINAL_PARTITION]) >= 0 and int(headers[HEADER_ORIGINAL_OFFSET]) >= 0
    assert "schema" in headers[HEADER_ERROR] or "decode" in headers[HEADER_ERROR].lower(), headers[HEADER_ERROR]
    # The junk fills a message: with headers added it no longer fits, so the dead letter keeps what fits
    # and names the whole by its size and digest (the whole stays at its origin offset).
    assert junk.startswith(dead[0].value) and len(dead[0].value) > len(junk) - 4096
    assert f"of {len(junk)} bytes (sha256 {hashlib.sha256(junk).hexdigest()})" in headers[HEADER_ERROR]
    recovery_report("junk bytes", len(junk))
    recovery_report("good notifications", len(good))
    recovery_report("recovery s (junk sent -> first later notification committed)", recovered_at - bad_at)


def test_a_valid_notification_near_the_limit_is_recorded_once_and_the_stream_goes_on(
    harness: StreamHarness, register: RegisterWatch, kafka_bootstrap: str, recovery_report: Report,
) -> None:
    harness.start_worker()
    before = [deletion_return(n, batch="ov-v") for n in range(20)]
    after = [deletion_return(n, batch="ov-v") for n in range(21, 41)]
    huge = deletion_return(20, batch="ov-v")
    base = len(default_codec().encode(huge))
    huge["child"]["addresses"][0]["lines"] = ["1 " + "x" * (BROKER_MESSAGE_MAX - base - 2048)]
    value = default_codec().encode(huge)
    assert BROKER_MESSAGE_MAX - 4096 < len(value) < BROKER_MESSAGE_MAX - 1024
    harness.produce(before)
    register.wait_for([e["event_id"] for e in before], 60, "the notifications before the big one")

    producer = _big_producer(kafka_bootstrap)
    producer.send(harness.prefix + SCHOOL, key=b"383", value=value).get(timeout=30)
    bad_at = time.time()  # the big one is in the log
    producer.close()
    harness.produce(after)
    register.wait_for([e["event_id"] for e in after], 60, "the notifications after the big one")
    recovered_at = min(register.first_seen[e["event_id"]] for e in after)
    dead = side_topic(kafka_bootstrap, harness.prefix + DEADLETTER, expected=0, timeout_s=0, settle_s=2)

    good = {e["event_id"] for e in before + after}
    processed = register.counts("processed_event")
    in_register = processed[huge["event_id"]]
    assert in_register + len(dead) == 1, f"the big notification: {in_register} in the register, {len(dead)} dead"
    assert {i for i in processed if i != huge["event_id"]} == good and set(processed.values()) == {1}
    recovery_report("big notification bytes", len(value))
    recovery_report("big notification", "recorded" if in_register else "dead-lettered")
    recovery_report("recovery s (big one sent -> first later notification committed)", recovered_at - bad_at)


def _ingest(folder: Path, bootstrap: str, prefix: str) -> subprocess.CompletedProcess[str]:
    cmehub = Path(sys.executable).with_name("cmehub")
    env = {**os.environ, "CMEHUB_KAFKA_BOOTSTRAP": bootstrap, "CMEHUB_LA_CODE": "383"}
    return subprocess.run([str(cmehub), "ingest", "schools", str(folder), "--topic-prefix", prefix], env=env,
                          capture_output=True, text=True, timeout=90, check=False)


def test_an_oversized_partner_file_is_quarantined_and_the_other_files_flow(
    harness: StreamHarness, register: RegisterWatch, kafka_bootstrap: str, tmp_path: Path,
    recovery_report: Report,
) -> None:
    """``cmehub ingest`` on three files (in name order): 11 MB of junk, ten returns of which one holds an
    11 MB address line, and fifteen good returns. Both bad records end in quarantine once, with their
    reasons and as much of their original bytes as one message holds; every good return reaches the
    register once."""
    folder = tmp_path / "drop"
    folder.mkdir()
    junk = b"laestab,upn,forename\n" + b"\x00\x01not a return " * 800_000
    (folder / "a_junk.csv").write_bytes(junk)
    mixed = returns(0, 10)
    mixed[4]["pupil"]["address"]["lines"] = ["1 " + "Long Road " * 1_100_000, "Leeds"]
    (folder / "b_mixed.json").write_text(json.dumps({"returns": mixed}))
    (folder / "c_last.json").write_text(json.dumps({"returns": returns(10, 15)}))
    assert MAX_MESSAGE_BYTES == BROKER_MESSAGE_MAX, "the connectors' message limit is the brokers' own"
    assert all(p.stat().st_size > MAX_MESSAGE_BYTES for p in (folder / "a_junk.csv", folder / "b_mixed.json"))

    # Ground truth: the events the connector makes of each file (the huge return makes none).
    ctx = ParseContext(default_la="383")
    parsed = {p.name: parse_file(p.read_bytes(), str(p), "schools", ctx) for p in sorted(folder.iterdir())}
    good = {str(e["event_id"]) for r in parsed.values() for e in r.events}
    assert len(good) == 9 + 15 and not parsed["a_junk.csv"].events

    harness.start_worker()
    warm = [deletion_return(n, batch="ov-a") for n in range(5)]  # the worker is up and committing
    harness.produce(warm)
    register.wait_for([e["event_id"] for e in warm], 60, "the first notifications")
    good |= {e["event_id"] for e in warm}
    run = _ingest(folder, kafka_bootstrap, harness.prefix)
    assert run.returncode == 2, f"exit {run.returncode} (2: some records quarantined)\n{run.stderr}"
    assert "NOT DELIVERED" not in run.stderr and "quarantined 2" in run.stderr, run.stderr
    register.wait_for(good, 60, "the good returns")

    codec = default_codec()
    quarantine = side_topic(kafka_bootstrap, harness.prefix + QUARANTINE, expected=2)
    records = [codec.decode(m.value) for m in quarantine]
    assert len(records) == 2 and len({r["quarantine_id"] for r in records}) == 2, "each bad record once"
    by_file = {Path(str(r["file_name"])).name: r for r in records}
    junk_record, huge_record = by_file["a_junk.csv"], by_file["b_mixed.json"]
    assert junk_record["position"] == "whole file" and junk.startswith(junk_record["original"])
    assert any(f"sha256 {hashlib.sha256(junk).hexdigest()}" in reason for reason in junk_record["reasons"])
    assert any("makes an event of" in reason for reason in huge_record["reasons"]), huge_record["reasons"]
    assert (folder / "b_mixed.json").read_bytes().startswith(huge_record["original"])
    assert all(len(m.value) <= MAX_MESSAGE_BYTES for m in quarantine)

    log = side_topic(kafka_bootstrap, harness.prefix + SCHOOL, expected=len(good))
    logged = [str(codec.decode(m.value)["event_id"]) for m in log]
    assert sorted(logged) == sorted(good), "the notification topic holds each good event once and nothing else"
    log = [m for m in log if str(codec.decode(m.value)["event_id"]) not in {e["event_id"] for e in warm}]
    processed, notifications = register.counts("processed_event"), register.counts("notification")
    assert set(processed) == good and set(processed.values()) == {1}, "a good return lost or applied twice"
    assert set(notifications) == good and set(notifications.values()) == {1}

    # Recovery: from each bad record's quarantine message (its Kafka timestamp, when the connector sent it)
    # to the first good event the connector sent after it, and to that event's register commit.
    sent_at = {str(codec.decode(m.value)["event_id"]): m.timestamp / 1000 for m in log}
    for name, record in (("junk file", junk_record), ("huge return", huge_record)):
        [bad] = [m for m in quarantine if codec.decode(m.value)["quarantine_id"] == record["quarantine_id"]]
        bad_at = bad.timestamp / 1000
        later = {i: t for i, t in sent_at.items() if t >= bad_at}
        assert later, f"no good event was sent after the {name}: the run did not carry on"
        next_sent = min(later.values())
        recovery_report(f"recovery s ({name} quarantined -> next good return sent)", next_sent - bad_at)
        recovery_report(f"recovery s ({name} quarantined -> next good return committed)",
                        min(register.first_seen[i] for i in later) - bad_at)
    recovery_report("good notifications", len(good))
    recovery_report("quarantined", len(records))


def test_an_oversized_push_gets_413_and_nothing_of_it_is_produced(
    harness: StreamHarness, register: RegisterWatch, kafka_bootstrap: str, tmp_path: Path,
    recovery_report: Report,
) -> None:
    """A real ``cmehub api``: a body over its limit is refused with 413 whether its length is declared
    or chunked, and nothing of it reaches Kafka; a 3 MB unreadable body (within the limit, three times
    kafka-python's default message limit) is quarantined whole with 422; good pushes around them
    reach the register once each."""
    harness.start_worker()
    api = ApiProcess(harness.database_url, kafka_bootstrap, harness.prefix, tmp_path)
    try:
        api.wait_ready()
        headers = api.partner("oversize test school", ["school"])
        url = f"{api.url}/v1/notifications/school"

        def push(body: bytes, name: str) -> httpx.Response:
            return httpx.post(url, params={"file_name": name}, content=body, headers=headers, timeout=60)

        def accepted(response: httpx.Response) -> list[str]:
            assert response.status_code == 202, response.text
            return [str(i) for i in response.json()["event_ids"]]

        good = accepted(push(json.dumps({"returns": returns(0, 5)}).encode(), "first.json"))
        register.wait_for(good, 60, "the first push")

        # Five real returns padded past the limit: were the limit not enforced they would be accepted.
        big = json.dumps({"returns": returns(5, 5), "padding": "x" * API_MAX_BODY}).encode()
        refused_ids = {str(e["event_id"]) for e in parse_file(big, "big.json", "schools",
                                                              ParseContext(default_la="383")).events}
        assert len(refused_ids) == 5
        declared = push(big, "big.json")
        chunked = httpx.post(url, params={"file_name": "big.json"}, headers=headers, timeout=60,
                             content=(big[i:i + 65536] for i in range(0, len(big), 65536)))
        refused_at = time.time()
        for response in (declared, chunked):
            assert response.status_code == 413, response.text
            assert f"larger than {API_MAX_BODY} bytes" in response.json()["detail"]
        after_413 = accepted(push(json.dumps({"returns": returns(10, 5)}).encode(), "after-413.json"))

        junk = b"\x00\x01 not a partner file " * (3_000_000 // 24)
        quarantined = push(junk, "junk.bin")
        assert quarantined.status_code == 422, quarantined.text
        quarantined_at = time.time()
        [junk_id] = [q["quarantine_id"] for q in quarantined.json()["quarantined"]]
        after_junk = accepted(push(json.dumps({"returns": returns(15, 5)}).encode(), "after-junk.json"))
        good += after_413 + after_junk
        register.wait_for(good, 60, "the pushes after the refused ones")
    finally:
        api.stop()

    codec = default_codec()
    log = [str(codec.decode(m.value)["event_id"])
           for m in side_topic(kafka_bootstrap, harness.prefix + SCHOOL, expected=len(good))]
    assert sorted(log) == sorted(good), "the notification topic holds each accepted event once and nothing else"
    assert not refused_ids & set(log)
    quarantine = [codec.decode(m.value) for m in side_topic(kafka_bootstrap, harness.prefix + QUARANTINE, 1)]
    assert [q["quarantine_id"] for q in quarantine] == [junk_id] and quarantine[0]["original"] == junk
    processed, notifications = register.counts("processed_event"), register.counts("notification")
    assert set(processed) == set(good) and set(processed.values()) == {1}, "an accepted push lost or applied twice"
    assert set(notifications) == set(good) and set(notifications.values()) == {1}

    recovery_report("accepted notifications", len(good))
    recovery_report("recovery s (413 answered -> next push committed)",
                    min(register.first_seen[i] for i in after_413) - refused_at)
    recovery_report("recovery s (3 MB junk quarantined -> next push committed)",
                    min(register.first_seen[i] for i in after_junk) - quarantined_at)

"""Poison messages among good notifications, through the real broker, matching worker and PostgreSQL.

``tests/integration/matching/test_stream.py`` shows a poison message dead-lettered and the stream
going on, counting rows. This test checks it from the ground truth: good notifications interleaved
with four kinds of poison (bytes that are no event, an empty value, an event with impossible content,
and an event that decodes and validates but that PostgreSQL refuses, a NUL in a name, which fails a
whole batch's transaction); every good id must be in the register exactly once, every poison message
in the dead letters exactly once with its origin, and the recovery time is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from schemas.codec import default_codec
from schemas.topics import DEADLETTER, HEADER_ERROR, HEADER_ORIGINAL_OFFSET, HEADER_ORIGINAL_TOPIC, message_key
from tests.integration.faults.hub import RegisterWatch, side_topic
from tests.integration.matching.notifications import deletion_return
from tests.integration.matching.stream_harness import StreamHarness

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(120)]

Report = Callable[[str, float | int | str], None]
GOOD = 160
SCHOOL = "cme.notifications.school"


def _poison(kind: str, n: int) -> bytes | None:
    codec = default_codec()
    if kind == "junk":
        return b"\xc3\x01 bytes that are no event " + str(n).encode()
    if kind == "empty":
        return None
    event = deletion_return(n, batch="poison")
    if kind == "impossible":
        event["deletion_ground"] = "9(1)(z)"
    else:  # "nul": decodes, but PostgreSQL text cannot hold it: refused as impossible content, by name
        event["child"]["given_name"] = "Ab\x00cd"
    return codec.encode(event)


def test_poison_messages_are_dead_lettered_once_and_every_good_notification_recorded_once(
    harness: StreamHarness, kafka_bootstrap: str, recovery_report: Report,
) -> None:
    harness.start_worker()
    register = RegisterWatch(harness)
    codec = default_codec()
    topic = harness.prefix + SCHOOL
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    try:
        warm = [deletion_return(n, batch="good") for n in range(10)]
        harness.produce(warm)
        register.wait_for([e["event_id"] for e in warm], 60, "the first notifications")

        # Good notifications with a poison message every 20, all on one authority's partition (one
        # key), so each poison message sits in a batch between good ones and must not hold them up.
        good = [deletion_return(n, batch="good") for n in range(10, 10 + GOOD)]
        kinds = ["junk", "empty", "impossible", "nul"]
        poison: dict[int, str] = {}  # offset -> kind
        values: dict[int, bytes] = {}  # offset -> the bytes sent
        neighbours: list[tuple[str, str]] = []  # the good notifications just before and after each poison
        pending: list[tuple[str, bytes, FutureRecordMetadata]] = []
        sent_at = time.time()
        for i, event in enumerate(good):
            if i % 20 == 10:
                kind = kinds[len(pending) % len(kinds)]
                value = _poison(kind, i)
                pending.append((kind, value or b"", producer.send(topic, key=b"383", value=value)))
                neighbours.append((good[i - 1]["event_id"], event["event_id"]))
            producer.send(topic, key=message_key(event), value=codec.encode(event))
        producer.flush()
        for kind, value, future in pending:
            offset = future.get(timeout=30).offset
            poison[offset], values[offset] = kind, value
        ids = [e["event_id"] for e in warm + good]
        register.wait_for(ids, 90, "the good notifications")
        dead = side_topic(kafka_bootstrap, harness.prefix + DEADLETTER, expected=len(poison))
    finally:
        producer.close()
        register.close()

    processed, notifications = register.counts("processed_event"), register.counts("notification")
    held = register.counts("review_item")
    assert not held, f"{len(held)} good notifications held for review: the children should all be distinct"
    assert set(processed) == set(ids) and set(processed.values()) == {1}, "a good notification lost or twice"
    assert set(notifications) == set(ids) and set(notifications.values()) == {1}

    origins = [(dict(d.headers)[HEADER_ORIGINAL_TOPIC].decode(), int(dict(d.headers)[HEADER_ORIGINAL_OFFSET]))
               for d in dead]
    assert sorted(origins) == sorted((topic, offset) for offset in poison), "each poison message dead once"
    by_offset = {int(dict(d.headers)[HEADER_ORIGINAL_OFFSET]): d for d in dead}
    for offset, kind in poison.items():
        record = by_offset[offset]
        assert (record.value or b"") == values[offset], f"{kind}: the dead letter is not the original bytes"
        assert record.key == b"383" and dict(record.headers)[HEADER_ERROR], f"{kind}: no key or reason"
    reasons = {kind: dict(by_offset[o].headers)[HEADER_ERROR].decode() for o, kind in poison.items()}
    assert "9(1)(z)" in reasons["impossible"]
    assert "child.given_name: contains a NUL character" in reasons["nul"], reasons["nul"]

    # Recovery: the stream is produced at once, so the worker meets each poison message in a backlog;
    # the stall it caused is the time between the commits of the good notifications either side of it.
    stalls = sorted(register.first_seen[after] - register.first_seen[before] for before, after in neighbours)
    waits = sorted(register.first_seen[after] - sent_at for _, after in neighbours)
    recovery_report("good notifications", len(ids))
    recovery_report("poison messages (dead-lettered once each)", len(poison))
    for kind in kinds:
        recovery_report(f"reason ({kind})", reasons[kind].split(":")[0])
    recovery_report("stall s, median (commit before a poison message -> commit after it)", stalls[len(stalls) // 2])
    recovery_report("stall s, max", stalls[-1])
    recovery_report("recovery s, max (stream sent -> first good notification after a poison committed)",
                    waits[-1])
    recovery_report("stream drained s (sent -> every good notification committed)",
                    max(register.first_seen[e["event_id"]] for e in good) - sent_at)

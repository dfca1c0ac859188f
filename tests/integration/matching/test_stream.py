"""The matching worker on the real broker and PostgreSQL: once and only once, whatever is redelivered."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer

from schemas.codec import default_codec
from tests.integration.matching.notifications import admission_return, deletion_return
from tests.integration.matching.stream_harness import StreamHarness

N = 1000


@pytest.mark.timeout(420)
def test_duplicates_and_a_killed_worker_leave_each_notification_recorded_once(harness: StreamHarness) -> None:
    harness.start_worker()
    harness.produce(deletion_return(n) for n in range(N))
    harness.wait_until(lambda: harness.count("select count(*) from processed_event") == N, 240, "the first batch")
    assert harness.count("select count(*) from review_item") == 0  # distinct children, none a close call

    harness.produce(deletion_return(n) for n in range(N))  # the same notifications again
    harness.wait_until(lambda: harness.lag() == 0, 120, "the duplicates to be consumed")
    assert harness.count("select count(*) from notification") == N

    first = harness.workers[0]
    harness.produce(admission_return(n) for n in range(N // 2))
    harness.wait_until(lambda: harness.count("select count(*) from notification") > N + 50, 180, "the third batch")
    harness.kill(first)  # SIGKILL in the middle of the third batch
    harness.start_worker()
    harness.produce(admission_return(n) for n in range(N // 2, N))
    harness.wait_until(lambda: harness.count("select count(*) from notification") == 2 * N, 240, "the third batch")
    harness.wait_until(lambda: harness.lag() == 0, 120, "the stream to be consumed")

    assert harness.count("select count(*) from child") == N
    assert harness.count("select count(*) from notification") == 2 * N
    assert harness.count("select count(*) from processed_event") == 2 * N
    assert harness.count(
        "select count(*) from (select child_id from notification group by child_id having count(*) <> 2) odd") == 0
    assert harness.count("select count(*) from match_decision where decision = 'match'") == N


@pytest.mark.timeout(240)
def test_a_poison_message_is_dead_lettered_and_the_stream_goes_on(harness: StreamHarness,
                                                                  kafka_bootstrap: str) -> None:
    harness.start_worker()
    poison = deletion_return(1)
    poison["deletion_ground"] = "9(1)(z)"
    harness.produce([deletion_return(0), poison, deletion_return(2)])
    harness.produce_raw(b"\xc3\x01 random bytes that are no event")
    harness.produce([deletion_return(3)])
    harness.wait_until(lambda: harness.count("select count(*) from notification") == 3, 120, "the good messages")
    consumer = KafkaConsumer(harness.prefix + "cme.deadletter", bootstrap_servers=kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=15_000)
    dead = []
    for record in consumer:
        dead.append(record)
        if len(dead) == 2:
            break
    consumer.close()
    reasons = [dict(r.headers)["cme-error"].decode() for r in dead]
    assert "9(1)(z)" in reasons[0]
    assert "no known schema has fingerprint" in reasons[1]
    assert dead[0].value == default_codec().encode(poison)

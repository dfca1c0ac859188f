"""Two matching workers in one consumer group, one SIGKILLed: its partitions move, nothing is lost."""

from __future__ import annotations

import time

import pytest

from tests.integration.matching.notifications import deletion_return
from tests.integration.matching.stream_harness import StreamHarness

AUTHORITIES = ["380", "381", "382", "383", "384", "370"]  # six keys over the topic's six partitions
N = 600


@pytest.mark.timeout(420)
def test_a_killed_worker_hands_its_partitions_to_the_other(harness: StreamHarness) -> None:
    survivor = harness.start_worker()
    doomed = harness.start_worker()
    events = [deletion_return(n, la=AUTHORITIES[n % len(AUTHORITIES)], batch="group") for n in range(N)]
    harness.produce(events[: N // 2])
    harness.wait_until(lambda: harness.count("select count(*) from processed_event") >= N // 6, 240,
                       "both workers to start processing")
    harness.kill(doomed)
    killed_at = time.monotonic()
    harness.produce(events[N // 2:])
    before = harness.count("select count(*) from processed_event")
    harness.wait_until(lambda: harness.count("select count(*) from processed_event") > before, 120,
                       "processing to resume after the kill")
    recovery = time.monotonic() - killed_at
    # Every notification is recorded, or held for a person to review (a close call between namesakes).
    done = "select (select count(*) from processed_event) + (select count(*) from review_item)"
    harness.wait_until(lambda: harness.count(done) == N, 300, "every notification")
    harness.wait_until(lambda: harness.lag() == 0, 120, "the stream to be consumed")
    assert survivor.poll() is None
    held = harness.count("select count(*) from review_item")
    assert held <= N // 100
    assert harness.count("select count(*) from notification") == N - held
    assert harness.count("select count(*) from child") == N - held
    assert harness.count("select count(distinct responsible_la) from notification") == len(AUTHORITIES)
    print(f"\nfault recovery: matching worker SIGKILLed, processing resumed after {recovery:.1f} s")

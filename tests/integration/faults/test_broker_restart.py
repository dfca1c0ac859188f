"""The single-node broker SIGKILLed in the middle of a stream and restarted.

A private broker (``deploy/kafka/start.sh`` on its own port and folder), never the shared one.
Ground truth: the ids the idempotent, acks=all producer had confirmed. SIGKILL loses no
acknowledged write on one node: the broker has handed it to the operating system (page cache),
which outlives the process. Every confirmed id must be in the log and applied once after dedup.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable

import pytest

from schemas.topic_admin import apply_topics
from schemas.topics import topic_spec
from tests.integration.faults.cluster import LocalBroker
from tests.integration.faults.stream import ConsumerRun, ProducerRun, make_events, read_log

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

EVENTS = 3000
KILL_AFTER_BATCHES = 10
DOWN_S = 2.0  # how long the broker stays dead before it is started again


def test_broker_killed_and_restarted_mid_stream_loses_and_duplicates_nothing(
    local_broker: LocalBroker, recovery_report: Callable[[str, float | int | str], None]
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"faults.broker.{run}"
    spec = dataclasses.replace(topic_spec("cme.notifications.school"), name=topic)
    [created] = apply_topics(local_broker.bootstrap, [spec])
    assert created.action == "created"

    events = make_events(EVENTS, run)
    consumer = ConsumerRun(local_broker.bootstrap, topic, group=f"faults-{run}")
    consumer.start()
    producer = ProducerRun(local_broker.bootstrap, topic, events, delivery_timeout_s=30.0)
    try:
        producer.start()
        while producer.confirmed_batches() < KILL_AFTER_BATCHES and not producer.batches_done.is_set():
            time.sleep(0.01)
        local_broker.kill()
        killed_at = time.monotonic()  # the process is gone: recovery is measured from here
        sent_before_kill = len(producer.acked)
        assert 0 < sent_before_kill < len(events), f"the kill must land mid-stream ({sent_before_kill} confirmed)"
        time.sleep(DOWN_S)
        restart_started = time.monotonic()
        local_broker.start()
        restarted_s = time.monotonic() - restart_started

        producer.join(timeout_s=150)
        consumer.wait_for(set(producer.acked), timeout_s=60)
    finally:
        consumer.stop()
    first_ack = producer.first_ack_after(killed_at + 0.001)
    after_kill = {e.event_id for e in events[sent_before_kill + producer.batch:]}
    first_applied = min((t for i, t in consumer.applied.items() if i in after_kill), default=None)

    acked = set(producer.acked)
    sent = {e.event_id for e in events}
    log = read_log(local_broker.bootstrap, topic, expected=len(sent))

    assert acked == sent, f"{len(sent - acked)} events never confirmed"
    lost = acked - consumer.applied.keys()
    assert not lost, f"{len(lost)} confirmed events were never consumed"
    assert consumer.applied.keys() <= sent, "the consumer applied events nobody sent"
    missing_from_log = acked - log.keys()
    assert not missing_from_log, f"{len(missing_from_log)} confirmed events are not in the log after the restart"
    duplicated = {i for i, n in log.items() if n > 1}
    assert duplicated <= producer.resent_ids, f"{len(duplicated)} ids written twice without a resend"
    assert log.keys() <= sent

    assert first_ack is not None and first_applied is not None
    recovery_report("events confirmed", len(acked))
    recovery_report("lost", len(lost))
    recovery_report("consumer polls refused while the broker was down (polled again)", consumer.poll_failures)
    recovery_report("redelivered to the consumer (deduped)", consumer.redelivered)
    recovery_report("batches resent by the producer", producer.failed_batches)
    recovery_report("duplicates in the log", sum(n - 1 for n in log.values()))
    recovery_report("broker down s (kill -> restart begun)", restart_started - killed_at)
    recovery_report("broker restart s", restarted_s)
    recovery_report("produce recovery s (kill -> next confirmed batch)", first_ack - killed_at)
    recovery_report("consume recovery s (kill -> first post-kill event applied)", first_applied - killed_at)

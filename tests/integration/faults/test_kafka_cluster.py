"""Three-node KRaft cluster (RF 3, min ISR 2): one broker SIGKILLed while producing and consuming.

The broker killed is the consumer group's coordinator, which also leads partitions of the topic, so
the producer's leaders and the consumer's coordinator both move.

Ground truth: the ids the idempotent, acks=all producer had confirmed. Every one must be consumed,
applied once after dedup by event id, and be in the log exactly once; nothing foreign may appear.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from schemas.topic_admin import apply_topics
from schemas.topics import topic_spec
from tests.integration.faults.cluster import KafkaCluster, ProcessScriptError
from tests.integration.faults.stream import ConsumerRun, ProducerRun, make_events, read_log

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

EVENTS = 4000
KILL_AFTER_BATCHES = 12


def _leaders(bootstrap: str, topic: str) -> tuple[dict[int, int], dict[int, list[int]]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=10000)
    try:
        [described] = admin.describe_topics([topic])
    finally:
        admin.close()
    leaders = {p["partition_index"]: p["leader_id"] for p in described["partitions"]}
    isr = {p["partition_index"]: sorted(p["isr_nodes"]) for p in described["partitions"]}
    return leaders, isr


def _replicated(bootstrap: str, topic: str, partitions: int,
                timeout_s: float = 30) -> tuple[dict[int, int], dict[int, list[int]]]:
    """Leaders and in-sync replicas of a new topic once every node knows all its partitions (a node
    asked straight after the creation may not have the metadata yet: it then describes none)."""
    deadline = time.monotonic() + timeout_s
    while True:
        leaders, isr = _leaders(bootstrap, topic)
        settled = len(leaders) == partitions and all(len(nodes) == 3 for nodes in isr.values())
        if settled or time.monotonic() > deadline:
            return leaders, isr
        time.sleep(0.5)


def _group_coordinator(bootstrap: str, group: str) -> int:
    """The node coordinating ``group``: the leader of its ``__consumer_offsets`` partition.

    Kafka places a group on partition abs(Java ``String.hashCode`` of the group id) modulo the
    partition count of ``__consumer_offsets``.
    """
    code = 0
    for char in group:
        code = (31 * code + ord(char)) & 0xFFFFFFFF
    if code >= 2**31:
        code -= 2**32
    leaders, _ = _leaders(bootstrap, "__consumer_offsets")
    return leaders[(0 if code == -(2**31) else abs(code)) % len(leaders)]  # Kafka's Utils.abs


def _wait_fully_replicated(bootstrap: str, topic: str, timeout_s: float) -> float:
    """Seconds until every partition of ``topic`` has all three replicas in sync again."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        _, isr = _leaders(bootstrap, topic)
        if all(nodes == [1, 2, 3] for nodes in isr.values()):
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{topic} not back to three in-sync replicas within {timeout_s:.0f} s: {isr}")


def test_cluster_script_is_idempotent_and_reports_each_node(kafka_cluster: KafkaCluster) -> None:
    pids = {n: (kafka_cluster.folder / f"node-{n}" / "broker.pid").read_text() for n in (1, 2, 3)}
    kafka_cluster.start()  # again: nothing new is started
    assert pids == {n: (kafka_cluster.folder / f"node-{n}" / "broker.pid").read_text() for n in (1, 2, 3)}
    status = kafka_cluster.status()
    for node in (1, 2, 3):
        assert f"node {node}: running on 127.0.0.1:{kafka_cluster.port(node)}" in status
    with pytest.raises(ProcessScriptError, match="name a node: 1, 2 or 3"):
        kafka_cluster.kill(4)
    admin = KafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap.split(","))
    try:
        cluster = admin.describe_cluster()
        wanted = ["default.replication.factor", "min.insync.replicas", "offsets.topic.replication.factor"]
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1", wanted)],
                                         config_filter="all")
    finally:
        admin.close()
    assert sorted(b["broker_id"] for b in cluster["brokers"]) == [1, 2, 3]
    assert not any(b["is_fenced"] for b in cluster["brokers"])
    broker = {name: entry["value"] for name, entry in configs["broker"]["1"].items()}
    assert broker == {"default.replication.factor": "3", "min.insync.replicas": "2",
                      "offsets.topic.replication.factor": "3"}


def test_coordinator_and_leader_killed_mid_stream_loses_and_duplicates_nothing(
    kafka_cluster: KafkaCluster, recovery_report: Callable[[str, float | int | str], None]
) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"faults.cluster.{run}"
    spec = dataclasses.replace(topic_spec("cme.notifications.school"), name=topic)
    [created] = apply_topics(kafka_cluster.bootstrap, [spec])
    assert created.action == "created"
    leaders, isr = _replicated(kafka_cluster.bootstrap, topic, spec.partitions)
    assert len(leaders) == spec.partitions and all(nodes == [1, 2, 3] for nodes in isr.values()), isr

    events = make_events(EVENTS, run)
    consumer = ConsumerRun(kafka_cluster.bootstrap, topic, group=f"faults-{run}")
    consumer.start()
    producer = ProducerRun(kafka_cluster.bootstrap, topic, events)
    try:
        producer.start()
        while producer.confirmed_batches() < KILL_AFTER_BATCHES and not producer.batches_done.is_set():
            time.sleep(0.01)
        # The group's coordinator, which also leads partitions of the topic: both the consumer's
        # coordinator and the leaders of its partitions move.
        victim = _group_coordinator(kafka_cluster.bootstrap, consumer.group)
        assert victim in leaders.values()
        kafka_cluster.kill(victim)
        killed_at = time.monotonic()  # the process is gone: recovery is measured from here
        sent_before_kill = len(producer.acked)
        assert 0 < sent_before_kill < len(events), f"the kill must land mid-stream ({sent_before_kill} confirmed)"

        producer.join(timeout_s=120)
        consumer.wait_for(set(producer.acked), timeout_s=60)
        first_ack = producer.first_ack_after(killed_at + 0.001)
        after_kill = {e.event_id for e in events[sent_before_kill + producer.batch:]}
        first_applied = min((t for i, t in consumer.applied.items() if i in after_kill), default=None)

        restart_started = time.monotonic()
        kafka_cluster.restart(victim)
        restarted_s = time.monotonic() - restart_started
        resync_s = _wait_fully_replicated(kafka_cluster.bootstrap, topic, timeout_s=60)
    finally:
        consumer.stop()

    acked = set(producer.acked)
    sent = {e.event_id for e in events}
    log = read_log(kafka_cluster.bootstrap, topic, expected=len(sent))

    assert acked == sent, f"{len(sent - acked)} events never confirmed"
    lost = acked - consumer.applied.keys()
    assert not lost, f"{len(lost)} confirmed events were never consumed"
    assert consumer.applied.keys() <= sent, "the consumer applied events nobody sent"
    missing_from_log = acked - log.keys()
    assert not missing_from_log, f"{len(missing_from_log)} confirmed events are not in the log after the kill"
    # The idempotent producer writes each id once; only a batch it had to send again may repeat.
    duplicated = {i for i, n in log.items() if n > 1}
    assert duplicated <= producer.resent_ids, f"{len(duplicated)} ids written twice without a resend"
    assert log.keys() <= sent

    assert first_ack is not None and first_applied is not None
    recovery_report("killed node", victim)
    recovery_report("events confirmed", len(acked))
    recovery_report("lost", len(lost))
    recovery_report("redelivered to the consumer (deduped)", consumer.redelivered)
    recovery_report("batches resent by the producer", producer.failed_batches)
    recovery_report("duplicates in the log", sum(n - 1 for n in log.values()))
    recovery_report("produce recovery s (kill -> next confirmed batch)", first_ack - killed_at)
    recovery_report("consume recovery s (kill -> first post-kill event applied)", first_applied - killed_at)
    recovery_report("node restart s", restarted_s)
    recovery_report("back to 3 in-sync replicas s (after restart)", resync_s)

"""The raw broker's own rate: a bare kafka-python producer and consumer on one topic and payload.

    .venv/bin/python bench/bench_broker.py [--bootstrap HOST:PORT | --cluster] [--messages 50000]
        [--partitions 6] [--rate 500] [--latency-seconds 10] [--write-docs]

The limit the end-to-end benchmark is compared with. Payload: one typical ``school.deletion_return``
encoded by ``schemas.codec`` (508 bytes), keyed by authority code over a dozen authorities, so every
partition carries traffic. Measured on a fresh topic, deleted afterwards:

- produce: ``--messages`` sends then ``flush``, with the hub's producer settings (idempotent,
  acks=all, linger 5 ms) - confirmed messages per second;
- consume: the same messages read back by a new consumer group, bytes only, then again with
  ``Codec.decode`` on each (what any consumer of the hub must at least do), then bytes only with
  aiokafka, the client the faust matching workers use (and aiokafka's producer, same settings);
- produce with librdkafka (``confluent-kafka``), the client of the hub's own producers;
- latency: ``--rate`` messages per second offered for ``--latency-seconds``; a consumer in another
  process records receive time minus the send time carried in a header; p50/p99.

Default bootstrap: ``CMEHUB_KAFKA_BOOTSTRAP`` or the local broker at 127.0.0.1:19092. ``--cluster``
starts a private three-node cluster (``deploy/kafka/cluster.sh``, replication 3, min ISR 2) in a
temporary folder for the run and removes it afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.codec import Codec  # noqa: E402
from schemas.examples import example_event  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Broker baseline"
AUTHORITIES = [b"383", b"384", b"380", b"381", b"382", b"370", b"371", b"372", b"373", b"330", b"331", b"332"]


@contextlib.contextmanager
def private_cluster(base_port: int = 39700) -> Iterator[str]:
    """A three-node cluster of ``deploy/kafka/cluster.sh`` for the run; yields its bootstrap servers."""
    folder = tempfile.mkdtemp(prefix="cmehub-bench-cluster-")
    env = {**os.environ, "CMEHUB_KAFKA_CLUSTER_PORT": str(base_port), "CMEHUB_KAFKA_CLUSTER_DIR": folder}
    script = ["bash", str(ROOT / "deploy" / "kafka" / "cluster.sh")]
    try:
        subprocess.run([*script, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
        yield subprocess.run([*script, "bootstrap"], env=env, check=True, capture_output=True,
                             text=True).stdout.strip()
    finally:
        subprocess.run([*script, "stop"], env=env, check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def payload() -> bytes:
    """One typical encoded event: a deletion return with child, address, parent and new address."""
    return Codec().encode(example_event("school.deletion_return"))


def _producer(bootstrap: str) -> KafkaProducer:
    # The settings of connectors/common/producer.py: the hub's producer, without its bookkeeping.
    return KafkaProducer(bootstrap_servers=bootstrap.split(","), enable_idempotence=True, acks="all",
                         linger_ms=5, client_id="cmehub-bench-broker")


def _consumer(bootstrap: str, topic: str, **extra: Any) -> KafkaConsumer:
    return KafkaConsumer(topic, bootstrap_servers=bootstrap.split(","), group_id=f"bench-{uuid.uuid4().hex[:8]}",
                         auto_offset_reset="earliest", enable_auto_commit=False, client_id="cmehub-bench-broker",
                         **extra)


def produce(bootstrap: str, topic: str, value: bytes, count: int) -> float:
    """Confirmed messages per second for ``count`` sends and one flush."""
    producer = _producer(bootstrap)
    producer.send(topic, key=AUTHORITIES[0], value=value).get(timeout=30)  # connect and warm up first
    started = time.perf_counter()
    futures = [producer.send(topic, key=AUTHORITIES[i % len(AUTHORITIES)], value=value) for i in range(count)]
    producer.flush(timeout=120)
    elapsed = time.perf_counter() - started
    failed = sum(1 for f in futures if not f.succeeded())
    producer.close()
    if failed:
        raise SystemExit(f"error: the broker did not confirm {failed} of {count} messages")
    return count / elapsed


def produce_librdkafka(bootstrap: str, topic: str, value: bytes, count: int) -> float:
    """Confirmed messages per second with librdkafka, set up as the hub's producers (``producer_config``)."""
    from confluent_kafka import Producer

    from connectors.common.producer import Deliveries, producer_config
    from connectors.common.producer import produce as produce_one

    producer, deliveries = Producer(producer_config(bootstrap, "cmehub-bench-broker")), Deliveries()
    produce_one(producer, deliveries, topic, value, AUTHORITIES[0])
    producer.flush(30)  # connect and warm up first
    deliveries.take()
    started = time.perf_counter()
    for i in range(count):
        produce_one(producer, deliveries, topic, value, AUTHORITIES[i % len(AUTHORITIES)])
    producer.flush(120)
    elapsed = time.perf_counter() - started
    _, failed, reason = deliveries.take()
    if failed:
        raise SystemExit(f"error: the broker did not confirm {failed} of {count} messages ({reason})")
    return count / elapsed


def consume(bootstrap: str, topic: str, count: int, decode: bool) -> float:
    """Messages per second reading ``count`` messages from the start (optionally decoding each)."""
    codec = Codec()
    consumer = _consumer(bootstrap, topic)
    seen, started = 0, 0.0
    deadline = time.monotonic() + 120
    while seen < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            if not started:
                started = time.perf_counter()  # from the first fetched batch: joining the group is not reading
            for message in records:
                if decode:
                    codec.decode(message.value)
                seen += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    if seen < count:
        raise SystemExit(f"error: read only {seen} of {count} messages within 120 s")
    return count / elapsed


def produce_aiokafka(bootstrap: str, topic: str, value: bytes, count: int) -> float:
    """Confirmed messages per second with aiokafka's producer (idempotent, acks=all, linger 5 ms)."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    async def write() -> float:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=AUTHORITIES[0])
            started = time.perf_counter()
            futures = [await producer.send(topic, value, key=AUTHORITIES[i % len(AUTHORITIES)]) for i in range(count)]
            await asyncio.gather(*futures)
            return count / (time.perf_counter() - started)
        finally:
            await producer.stop()

    return asyncio.run(write())


def consume_aiokafka(bootstrap: str, topic: str, count: int) -> float:
    """Messages per second reading ``count`` messages with aiokafka (the client faust's workers use)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    async def read() -> float:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:8]}",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        seen, started = 0, 0.0
        deadline = time.monotonic() + 120
        try:
            while seen < count and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                if batches and not started:
                    started = time.perf_counter()
                seen += sum(len(records) for records in batches.values())
        finally:
            await consumer.stop()
        if seen < count:
            raise SystemExit(f"error: aiokafka read only {seen} of {count} messages within 120 s")
        return count / (time.perf_counter() - started)

    return asyncio.run(read())


def _latency_consumer(bootstrap: str, topic: str, expected: int, ready: Any, out: Any) -> None:
    consumer = _consumer(bootstrap, topic, fetch_max_wait_ms=10)
    while not consumer.assignment():
        consumer.poll(timeout_ms=100)
    ready.set()
    latencies: list[float] = []
    deadline = time.monotonic() + 300
    while len(latencies) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=100).values():
            now = time.time()
            for message in records:
                sent = struct.unpack(">d", dict(message.headers)["sent"])[0]
                latencies.append(now - sent)
    consumer.close()
    out.put(latencies)


def latency(bootstrap: str, topic: str, value: bytes, rate: float, seconds: float) -> dict[str, float]:
    """Produce-to-consume latency at a fixed offered rate (consumer in its own process)."""
    count = int(rate * seconds)
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_latency_consumer, args=(bootstrap, topic, count, ready, out), daemon=True)
    child.start()
    if not ready.wait(60):
        raise SystemExit("error: the latency consumer got no partitions within 60 s")
    producer = _producer(bootstrap)
    started = time.perf_counter()
    for i in range(count):
        due = started + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        producer.send(topic, key=AUTHORITIES[i % len(AUTHORITIES)], value=value,
                      headers=[("sent", struct.pack(">d", time.time()))])
    producer.flush(timeout=60)
    achieved = count / (time.perf_counter() - started)
    producer.close()
    values = sorted(out.get(timeout=120))
    child.join(10)
    if len(values) < count:
        raise SystemExit(f"error: the latency consumer saw {len(values)} of {count} messages")
    quantiles = statistics.quantiles(values, n=100)
    return {"offered": rate, "achieved": achieved, "p50_ms": quantiles[49] * 1000, "p99_ms": quantiles[98] * 1000,
            "max_ms": values[-1] * 1000, "count": count}


def run(bootstrap: str, messages: int, partitions: int, rate: float, seconds: float) -> dict[str, Any]:
    """Every measurement on fresh topics (deleted afterwards); returns the figures."""
    value = payload()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="cmehub-bench-broker")
    brokers = len(admin.describe_cluster()["brokers"])
    replication = min(3, brokers)
    run_id = uuid.uuid4().hex[:8]
    throughput_topic, latency_topic = f"bench.broker.{run_id}", f"bench.broker.latency.{run_id}"
    configs = {"min.insync.replicas": str(min(2, replication))}
    admin.create_topics([NewTopic(t, partitions, replication, topic_configs=configs)
                         for t in (throughput_topic, latency_topic)])
    time.sleep(1)  # leaders elected
    try:
        produced = produce(bootstrap, throughput_topic, value, messages)
        consumed = consume(bootstrap, throughput_topic, messages + 1, decode=False)
        decoded = consume(bootstrap, throughput_topic, messages + 1, decode=True)
        aio = consume_aiokafka(bootstrap, throughput_topic, messages + 1)
        aio_produced = produce_aiokafka(bootstrap, throughput_topic, value, messages)
        rd_produced = produce_librdkafka(bootstrap, throughput_topic, value, messages)
        lat = latency(bootstrap, latency_topic, value, rate, seconds)
    finally:
        admin.delete_topics([throughput_topic, latency_topic])
        admin.close()
    return {
        "bootstrap": bootstrap, "brokers": brokers, "replication": replication, "partitions": partitions,
        "messages": messages, "size": len(value), "produce": produced, "consume": consumed,
        "consume_decode": decoded, "consume_aiokafka": aio,
        "produce_aiokafka": aio_produced, "produce_librdkafka": rd_produced, "latency": lat,
        "python": platform.python_version(),
        "kafka_python": __import__("kafka").__version__, "cpus": os.cpu_count(),
        "load": os.getloadavg()[0],
    }


def docs_section(f: dict[str, Any], command: str) -> str:
    """The "## Broker baseline" section of docs/benchmarks.md."""
    lat = f["latency"]
    mib = f["size"] / 1048576
    return (
        f"{SECTION}\n\n"
        f"Command: `{command}`\n\n"
        "The limit for the end-to-end figures: bare producers and consumers (kafka-python, aiokafka, librdkafka), no\n"
        f"connector, no matching, on a fresh topic of {f['partitions']} partitions (replication {f['replication']}, "
        f"{f['brokers']} broker{'s' if f['brokers'] > 1 else ''}), payload one\n"
        f"`school.deletion_return` encoded by `schemas.codec` ({f['size']} bytes), keyed by authority code over "
        "12 authorities.\nProducer settings as the hub's `EventProducer` (idempotent, acks=all, linger 5 ms).\n\n"
        "| measure | rate |\n|---|---|\n"
        f"| produce, confirmed ({f['messages']:,} messages) | {f['produce']:,.0f} msg/s "
        f"({f['produce'] * mib:.1f} MiB/s) |\n"
        f"| consume, bytes only | {f['consume']:,.0f} msg/s ({f['consume'] * mib:.1f} MiB/s) |\n"
        f"| consume + `Codec.decode` | {f['consume_decode']:,.0f} msg/s |\n"
        f"| produce, confirmed, aiokafka (same settings) | {f['produce_aiokafka']:,.0f} msg/s |\n"
        f"| consume, bytes only, aiokafka (faust's client) | {f['consume_aiokafka']:,.0f} msg/s |\n"
        f"| produce, confirmed, librdkafka (`confluent-kafka`, the hub's producers) | "
        f"{f['produce_librdkafka']:,.0f} msg/s |\n\n"
        f"Produce-to-consume latency at {lat['offered']:,.0f} msg/s offered ({lat['achieved']:,.0f} achieved, "
        f"{lat['count']:,} messages,\nconsumer in its own process): "
        f"**p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms** (max {lat['max_ms']:.0f} ms).\n\n"
        f"Python {f['python']}, kafka-python {f['kafka_python']}, Kafka 4.1 (KRaft, 512 MiB heap), "
        f"{f['cpus']} cores shared by the broker, this\nscript and other work (1-minute load "
        f"{f['load']:.1f} at the end).\n\n"
        "Reading: the client library, not the broker, sets the limit. kafka-python 3.0 (pure Python) confirms\n"
        f"about {f['produce']:,.0f} msg/s and reads about {f['consume']:,.0f} msg/s per process; "
        "aiokafka (C record parsing; the faust\nworkers consume with it) does "
        f"{f['produce_aiokafka'] / f['produce']:.0f}x "
        f"that producing and {f['consume_aiokafka'] / f['consume']:.0f}x consuming, and librdkafka (C; the\n"
        f"connectors' `EventProducer` and the worker's publisher) {f['produce_librdkafka'] / f['produce']:.0f}x "
        "producing, on the same broker in the same run.\n"
    )


def write_docs(section: str) -> None:
    """Replace (or append) only the "## Broker baseline" section of docs/benchmarks.md."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    """Run, print, optionally record in docs."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--bootstrap", default=os.environ.get("CMEHUB_KAFKA_BOOTSTRAP") or "127.0.0.1:19092")
    where.add_argument("--cluster", action="store_true", help="run on a private three-node cluster (RF 3)")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--rate", type=float, default=500.0, help="offered rate for the latency run (msg/s)")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--write-docs", action="store_true", help="update the Broker baseline section of docs")
    args = parser.parse_args()
    if args.cluster and args.write_docs:
        parser.error("the Broker baseline section records the single broker the end-to-end benchmark uses; "
                     "run --cluster without --write-docs")
    if args.cluster:
        with private_cluster() as bootstrap:
            f = run(bootstrap, args.messages, args.partitions, args.rate, args.latency_seconds)
    else:
        f = run(args.bootstrap, args.messages, args.partitions, args.rate, args.latency_seconds)
    lat = f["latency"]
    print(f"payload            : {f['size']} bytes, {f['partitions']} partitions, replication {f['replication']}")
    print(f"produce (confirmed): {f['produce']:>10,.0f} msg/s")
    print(f"consume (bytes)    : {f['consume']:>10,.0f} msg/s")
    print(f"consume + decode   : {f['consume_decode']:>10,.0f} msg/s")
    print(f"produce (aiokafka) : {f['produce_aiokafka']:>10,.0f} msg/s")
    print(f"consume (aiokafka) : {f['consume_aiokafka']:>10,.0f} msg/s")
    print(f"produce (librdkafka): {f['produce_librdkafka']:>9,.0f} msg/s")
    print(f"latency at {lat['offered']:,.0f}/s   : p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
          f"max {lat['max_ms']:.0f} ms ({lat['achieved']:,.0f}/s achieved)")
    if args.write_docs:
        flags = [a for a in sys.argv[1:] if a != "--write-docs"]
        command = " ".join([".venv/bin/python bench/bench_broker.py", *flags, "--write-docs"])
        write_docs(docs_section(f, command))
        print(f"wrote the {SECTION[3:]} section of {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

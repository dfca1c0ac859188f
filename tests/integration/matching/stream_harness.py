"""Runs the real matching worker (faust, in its own process) against the real broker and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from kafka import KafkaAdminClient, KafkaProducer

from schemas.codec import default_codec
from schemas.topic_admin import apply_topics
from schemas.topics import catalogue, message_key

ROOT = Path(__file__).resolve().parents[3]


class StreamHarness:
    """A private set of topics (behind a prefix), and matching workers reading them."""

    def __init__(self, bootstrap: str, database_url: str, state_dir: Path) -> None:
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.state_dir = state_dir
        self.prefix = f"t{uuid.uuid4().hex[:8]}."
        self.workers: list[subprocess.Popen[bytes]] = []
        self.killed: set[int] = set()
        apply_topics(bootstrap, catalogue(self.prefix))
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)

    @property
    def group(self) -> str:
        return f"{self.prefix}cmehub-matching"

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "CMEHUB_KAFKA_BOOTSTRAP": self.bootstrap, "CMEHUB_DATABASE_URL": self.database_url,
               "CMEHUB_TOPIC_PREFIX": self.prefix, "CMEHUB_STATE_DIR": str(self.state_dir / f"w{len(self.workers)}")}
        log = (self.state_dir / f"worker{len(self.workers)}.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "services.matching.stream", "worker", "--without-web",
             "--loglevel", "warn"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen[bytes]) -> None:
        self.killed.add(worker.pid)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill(worker)
        self.producer.close()

    def produce(self, events: Iterable[Mapping[str, Any]], topic: str = "cme.notifications.school") -> int:
        codec, n = default_codec(), 0
        for event in events:
            self.producer.send(self.prefix + topic, key=message_key(event), value=codec.encode(event))
            n += 1
        self.producer.flush()
        return n

    def produce_raw(self, value: bytes, topic: str = "cme.notifications.school", key: bytes = b"383") -> None:
        self.producer.send(self.prefix + topic, key=key, value=value)
        self.producer.flush()

    def lag(self) -> int:
        """Messages on the notification topics the worker group has not committed yet."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            committed = admin.list_group_offsets({self.group: None}).get(self.group, {})
        finally:
            admin.close()
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            topic = self.prefix + "cme.notifications.school"
            parts = [tp for tp in (consumer.partitions_for_topic(topic) or ())]
            from kafka import TopicPartition

            tps = [TopicPartition(topic, p) for p in parts]
            ends = consumer.end_offsets(tps)
        finally:
            consumer.close()
        return sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())

    def count(self, sql: str) -> int:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text(sql)).scalar_one())
        except sa.exc.ProgrammingError:  # tables not created yet
            return 0
        finally:
            engine.dispose()

    def wait_until(self, condition: Callable[[], bool], timeout_s: float, what: str) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if condition():
                return time.monotonic() - started
            for worker in self.workers:
                if worker.pid not in self.killed:
                    assert worker.poll() is None, f"a worker died: see {self.state_dir}/worker*.log"
            time.sleep(0.5)
        logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in self.state_dir.glob("worker*.log"))
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{logs}")

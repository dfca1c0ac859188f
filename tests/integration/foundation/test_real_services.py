"""The foundation runs on real parts: the Kafka broker and PostgreSQL started by deploy/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


def test_kafka_python_round_trip(kafka_bootstrap: str, topic_name: str) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    sent = [f"message {i}".encode() for i in range(20)]
    for value in sent:
        producer.send(topic_name, key=b"383", value=value)
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(topic_name, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000, group_id=None)
    received = [record.value for record in consumer]
    consumer.close()
    assert received == sent


def test_faust_agent_consumes_from_the_broker(kafka_bootstrap: str, topic_name: str, tmp_path: Path) -> None:
    out = tmp_path / "consumed.txt"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(topic_name, key=b"383", value=b"before the worker")  # creates the topic
    producer.flush()
    env = {**os.environ, "PROBE_TOPIC": topic_name, "PROBE_OUT": str(out), "PROBE_BOOTSTRAP": kafka_bootstrap}
    worker = subprocess.Popen(
        [sys.executable, "-m", "faust", "-A", "tests.integration.foundation.faust_probe", "worker",
         "--loglevel", "warn", "--without-web"],
        env=env, cwd=Path(__file__).parents[3], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        producer.send(topic_name, key=b"383", value=b"while it runs")
        producer.flush()
        deadline = time.monotonic() + 90
        lines: list[bytes] = []
        while time.monotonic() < deadline:
            lines = out.read_bytes().splitlines() if out.exists() else []
            if len(lines) >= 2 or worker.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
        producer.close()
    assert sorted(lines) == [b"before the worker", b"while it runs"], output[-3000:]


class _Base(DeclarativeBase):
    pass


class _Probe(_Base):
    __tablename__ = "probe"
    id: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str]


def test_sqlalchemy_session_on_postgres(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    assert engine.dialect.name == "postgresql"
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([_Probe(note="a"), _Probe(note="b")])
        session.commit()
    with Session(engine) as session:
        notes = session.scalars(sa.select(_Probe.note).order_by(_Probe.note)).all()
        version = session.execute(sa.text("show server_version")).scalar_one()
    engine.dispose()
    assert notes == ["a", "b"]
    assert version.startswith(("15", "16", "17"))

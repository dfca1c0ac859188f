"""Streaming a written scenario through the connectors: into a counting sink, and into the real broker."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from connectors.common.producer import EventProducer
from services.simulation.stream import read_manifest, schedule, stream


class CountingSink:
    """Counts what a stream sends, as Kafka would confirm it."""

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.quarantined: list[Mapping[str, Any]] = []
        self.queued = 0

    def send_event(self, event: Mapping[str, Any]) -> None:
        self.events.append(event)
        self.queued += 1

    def send_quarantine(self, record: Mapping[str, Any]) -> None:
        self.quarantined.append(record)
        self.queued += 1

    def flush(self) -> int:
        done, self.queued = self.queued, 0
        return done


def _manifest_totals(folder: Path) -> tuple[int, int]:
    with (folder / "manifest.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return sum(int(r["expected_events"]) for r in rows), sum(int(r["expected_quarantined"]) for r in rows)


def test_schedule_squeezes_the_term_into_minutes(small_folder: Path) -> None:
    deliveries = read_manifest(small_folder)
    offsets = schedule(deliveries, minutes=2, rate=None)
    assert offsets[0] == 0 and abs(offsets[-1] - 120) < 1e-6
    assert offsets == sorted(offsets)
    assert schedule(deliveries, minutes=2, rate=100)[-1] == (len(deliveries) - 1) / 100


def test_stream_sends_what_the_truth_expects(small_folder: Path) -> None:
    sink, slept, now = CountingSink(), [], [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    summary = stream(small_folder, sink, minutes=0.05, sleep=sleep, clock=lambda: now[0])
    events, quarantined = _manifest_totals(small_folder)
    assert (summary.events, summary.quarantined) == (events, quarantined)
    assert (len(sink.events), len(sink.quarantined)) == (events, quarantined)
    assert summary.confirmed == events + quarantined
    assert summary.mismatched == []
    assert slept and 2.9 <= sum(slept) <= 3.0  # paced by the accelerated clock: 0.05 minutes
    # received_at is the simulated delivery time: statutory clocks run on the term's calendar
    assert min(e["received_at"] for e in sink.events).year == 2025


def test_stream_into_the_real_broker(small_folder: Path, kafka_bootstrap: str, topic_name: str) -> None:
    prefix = f"{topic_name}."
    with EventProducer(kafka_bootstrap, topic_prefix=prefix) as producer:
        summary = stream(small_folder, producer, rate=1e9)
    events, quarantined = _manifest_totals(small_folder)
    assert summary.confirmed == events + quarantined
    police = sum(1 for r in _rows_of(small_folder) if r["partner"] == "police" and r["expected"] == "event")
    assert police > 0
    assert count_messages(kafka_bootstrap, f"{prefix}cme.notifications.police", police) == police


def count_messages(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> int:
    """Messages on ``topic``: read until ``expected`` arrived (or the deadline), then a moment more for extras."""
    import time

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    received, deadline = 0, time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            received += sum(len(messages) for messages in batch.values())
            if received >= expected:
                received += sum(len(m) for m in consumer.poll(timeout_ms=1000).values())
                break
    finally:
        consumer.close()
    return received


def _rows_of(folder: Path) -> list[dict[str, str]]:
    with (folder / "truth" / "notifications.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))

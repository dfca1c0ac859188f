"""Feed a written scenario through the connectors into the hub, in accelerated time or at a fixed rate."""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from connectors.common.parsing import ParseContext
from connectors.ingest import parse_file
from services.simulation.pds import PdsStore
from services.simulation.scenario import MANIFEST

FAMILY = {"school": "schools", "health": "health", "police": "police", "border": "border"}


class Sink(Protocol):
    """Where events and quarantine records go (the Kafka producer, or a counter in tests)."""

    def send_event(self, event: Mapping[str, Any]) -> None: ...
    def send_quarantine(self, record: Mapping[str, Any]) -> None: ...
    def flush(self) -> int: ...


class ScenarioNotFound(FileNotFoundError):
    """The folder holds no scenario written by ``cmehub simulate``."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One partner file of the manifest, with what the connector should make of it."""

    delivered_at: datetime
    path: Path
    partner: str
    format: str
    la: str
    expected_events: int
    expected_quarantined: int


@dataclass(slots=True)
class StreamSummary:
    """What a stream sent, per partner, and the files whose result differed from the ground truth."""

    files: int = 0
    events: int = 0
    quarantined: int = 0
    out_of_scope: int = 0
    confirmed: int = 0
    by_partner: Counter[str] = field(default_factory=Counter)
    mismatched: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


def read_manifest(folder: Path) -> list[Delivery]:
    """The scenario's deliveries in the order partners sent them."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ScenarioNotFound(f"{folder}: no {MANIFEST}; write a scenario first with `cmehub simulate --out {folder}`")
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Delivery(
            delivered_at=datetime.strptime(r["delivered_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            path=folder / r["path"],
            partner=r["partner"],
            format=r["format"],
            la=r["la"],
            expected_events=int(r["expected_events"]),
            expected_quarantined=int(r["expected_quarantined"]),
        )
        for r in rows
    ]


def schedule(deliveries: list[Delivery], minutes: float, rate: float | None) -> list[float]:
    """Seconds after the start at which each file goes: the period squeezed into ``minutes``, or ``rate`` a second."""
    if not deliveries:
        return []
    if rate:
        return [n / rate for n in range(len(deliveries))]
    first, last = deliveries[0].delivered_at, deliveries[-1].delivered_at
    span = max((last - first).total_seconds(), 1.0)
    return [(d.delivered_at - first).total_seconds() / span * minutes * 60 for d in deliveries]


def stream(
    folder: Path,
    sink: Sink,
    *,
    minutes: float = 3.0,
    rate: float | None = None,
    wall_clock: bool = False,
    on_file: Callable[[Delivery, StreamSummary], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    flush_every: int = 50,
) -> StreamSummary:
    """Parse each file with its connector and send the output, paced by the scenario's delivery times.

    ``received_at`` is the simulated delivery time (so statutory clocks run on the term's calendar)
    unless ``wall_clock`` is set.
    """
    deliveries = read_manifest(folder)
    offsets = schedule(deliveries, minutes, rate)
    pds = PdsStore.from_folder(folder)
    summary = StreamSummary()
    started = clock()
    pending = 0
    for delivery, offset in zip(deliveries, offsets, strict=True):
        wait = offset - (clock() - started)
        if wait > 0:
            if pending:
                summary.confirmed += sink.flush()
                pending = 0
            sleep(wait)
        received = datetime.now(UTC).replace(microsecond=0) if wall_clock else delivery.delivered_at
        ctx = ParseContext(default_la=delivery.la, received_at=received)
        data = delivery.path.read_bytes()
        result = parse_file(data, delivery.path.name, FAMILY[delivery.partner], ctx, pds.fetcher(received))
        for event in result.events:
            sink.send_event(event)
        for q in result.quarantined:
            sink.send_quarantine(q.to_record(ctx.received_at))
        pending += 1
        if pending >= flush_every:
            summary.confirmed += sink.flush()
            pending = 0
        summary.files += 1
        summary.events += len(result.events)
        summary.quarantined += len(result.quarantined)
        summary.out_of_scope += result.out_of_scope
        summary.by_partner[delivery.partner] += 1
        if (len(result.events), len(result.quarantined)) != (delivery.expected_events, delivery.expected_quarantined):
            summary.mismatched.append(str(delivery.path.relative_to(folder)))
        if on_file is not None:
            on_file(delivery, summary)
    summary.confirmed += sink.flush()
    summary.elapsed_s = clock() - started
    return summary

"""Run partner inputs through their connectors and hand the output to a sink (Kafka, or stdout for a dry run)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import cast

from connectors.common.parsing import ParseContext
from connectors.common.quarantine import ParseResult
from connectors.health.mns import PatientFetcher
from connectors.sinks import EncodedSink, Sink
from connectors.summary import IngestSummary
from connectors.worker import InputUnreadable, encoded_as_ready, parse_file, quarantine_records, workers_running

# Standard logging (stderr when configured): stdout belongs to --dry-run's events. Ids and counts only.
log = logging.getLogger("cmehub.ingest")

__all__ = ["deliver", "ingest", "iter_files", "parse_file", "send_result", "watch"]

# Below these, starting the workers (each imports the hub: about a second) costs more than they save;
# measured break-even for a one-shot run: about 4 MB of CTF. Workers already running are always used.
PIPELINE_MIN_FILES = 4
PIPELINE_MIN_BYTES = 4_000_000


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported when it is read


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and the files inside the folders named (sorted, hidden files skipped)."""
    for path in paths:
        if path.is_dir():
            yield from (
                p for p in sorted(path.rglob("*")) if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
        else:
            yield path


def send_result(result: ParseResult, sink: Sink, ctx: ParseContext) -> int:
    """Queue one result's events and quarantine records on the sink; returns how many were queued."""
    for event in result.events:
        sink.send_event(event)
    records = quarantine_records(result, ctx)
    for record in records:
        sink.send_quarantine(record)
    return len(result.events) + len(records)


def deliver(result: ParseResult, sink: Sink, ctx: ParseContext) -> int:
    """Send one result's events and quarantine records, and wait for the sink to confirm them."""
    send_result(result, sink, ctx)
    return sink.flush()


FLUSH_EVERY = 5000  # messages: waiting for Kafka's acks after every small file would cost a round trip each


class _Delivery:
    """Confirms sent messages in batches and remembers which files the unconfirmed batch holds."""

    def __init__(self, sink: Sink, summary: IngestSummary) -> None:
        self.sink, self.summary = sink, summary
        self.queued = 0
        self.batch_files: list[str] = []

    def file_queued(self, name: str, messages: int) -> None:
        self.queued += messages
        self.batch_files.append(name)
        if self.queued >= FLUSH_EVERY:
            self.confirm()

    def confirm(self) -> None:
        """Wait for the sink to confirm the batch; raises DeliveryStopped with what was and was not sent."""
        try:
            self.summary.sent += self.sink.flush()
        except Exception as exc:  # the producer's DeliveryError says how many records were confirmed
            names = self.batch_files
            span = (
                names[0] if len(names) == 1 else f"{len(names)} files: {', '.join(names[:3])}{' …' * (len(names) > 3)}"
            )
            self.summary.delivery_error = f"{exc} (not all confirmed: {span}; every file sent before was confirmed)"
            raise DeliveryStopped from exc
        self.queued, self.batch_files = 0, []


class DeliveryStopped(Exception):
    """Delivery stopped; the summary says what was sent."""


def _ingest_pipelined(files: list[Path], family: str, sink: EncodedSink, ctx: ParseContext) -> IngestSummary:
    """Parse and encode in a worker process while this one sends: the two cores work at once."""
    summary = IngestSummary()
    delivery = _Delivery(sink, summary)
    try:
        for path, (counts, messages) in encoded_as_ready(files, family, ctx):
            summary.add_counts(counts)
            try:
                for topic, key, value in messages:
                    sink.send_encoded(topic, key, value)
            except Exception as exc:  # refused before sending: nothing after the last confirmed batch is sure
                delivery.batch_files.append(path.name)
                summary.delivery_error = f"{exc} (stopped at {path.name})"
                delivery.confirm()
                return summary
            delivery.file_queued(path.name, len(messages))
        delivery.confirm()
    except InputUnreadable as exc:
        summary.delivery_error = str(exc)
    except DeliveryStopped:
        pass
    return summary


def ingest(
    paths: Iterable[Path],
    family: str,
    sink: Sink,
    ctx: ParseContext,
    *,
    fetch: PatientFetcher | None = None,
) -> IngestSummary:
    """Parse every input and deliver it; stops at the first delivery failure, saying what was sent.

    Kafka's acknowledgements are awaited in batches (FLUSH_EVERY messages, and at the end). With a
    Kafka sink, no PDS fetches and an input big enough (or the workers already started), worker
    processes parse and encode files while this process sends (:mod:`connectors.worker`).
    """
    files = list(iter_files(paths))
    big = len(files) >= PIPELINE_MIN_FILES and (
        workers_running() or sum(_size(p) for p in files) >= PIPELINE_MIN_BYTES
    )
    if fetch is None and big and hasattr(sink, "send_encoded"):
        return _ingest_pipelined(files, family, cast(EncodedSink, sink), ctx)
    summary = IngestSummary()
    delivery = _Delivery(sink, summary)
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            summary.delivery_error = f"{path} cannot be read ({exc.strerror})"
            break
        result = parse_file(data, str(path), family, ctx, fetch)
        summary.add(result)
        try:
            delivery.file_queued(path.name, send_result(result, sink, ctx))
        except DeliveryStopped:
            return summary
        except Exception as exc:  # refused before sending
            summary.delivery_error = f"{exc} (stopped at {path.name})"
            break
        log.info(
            "ingested family=%s format=%s records=%d events=%d quarantined=%d",
            family,
            result.format,
            result.records,
            len(result.events),
            len(result.quarantined),
        )
    with contextlib.suppress(DeliveryStopped):
        delivery.confirm()
    return summary


def watch(
    folder: Path,
    family: str,
    sink: Sink,
    ctx_factory: Callable[[], ParseContext],
    *,
    fetch: PatientFetcher | None = None,
    interval_s: float = 2.0,
    should_stop: Callable[[], bool] = lambda: False,
    on_summary: Callable[[IngestSummary], None] | None = None,
) -> None:
    """Ingest files as they appear in ``folder`` (each file once, when its size has settled)."""
    seen: dict[Path, tuple[int, float]] = {}
    done: set[Path] = set()
    while not should_stop():
        ready = []
        for path in iter_files([folder]):
            if path in done:
                continue
            stat = path.stat()
            sig = (stat.st_size, stat.st_mtime)
            if seen.get(path) == sig:  # unchanged since the last poll: the writer has finished
                ready.append(path)
            seen[path] = sig
        if ready:
            summary = ingest(ready, family, sink, ctx_factory(), fetch=fetch)
            done.update(ready)
            if on_summary:
                on_summary(summary)
            if summary.delivery_error:
                return
        time.sleep(interval_s)

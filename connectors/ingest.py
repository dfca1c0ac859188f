"""Run partner inputs through their connectors and hand the output to a sink (Kafka, or stdout for a dry run)."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO, cast

from connectors.common.parsing import ParseContext, whole_file
from connectors.common.problems import Problem
from connectors.common.quarantine import ParseResult
from connectors.formats import _KIND, parse_input
from connectors.health.mns import PatientFetcher
from schemas.codec import default_codec
from schemas.topics import QUARANTINE, message_key, topic_for

# Standard logging (stderr when configured): stdout belongs to --dry-run's events. Ids and counts only.
log = logging.getLogger("cmehub.ingest")

EXIT_OK, EXIT_WARNED, EXIT_QUARANTINED, EXIT_UNDELIVERED = 0, 1, 2, 3


class Sink(Protocol):
    """Where connector output goes."""

    def send_event(self, event: Mapping[str, Any]) -> None: ...
    def send_quarantine(self, record: Mapping[str, Any]) -> None: ...
    def flush(self) -> int: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def to_json(record: Mapping[str, Any]) -> str:
    """A record as one line of JSON (dates ISO-8601, bytes base64)."""
    return json.dumps(record, default=_json_default, ensure_ascii=False, separators=(",", ":"))


@dataclass
class PrintSink:
    """The dry-run sink: one event per line on ``out``; quarantine records only counted."""

    out: TextIO
    queued: int = 0

    def send_event(self, event: Mapping[str, Any]) -> None:
        self.out.write(to_json(event) + "\n")
        self.queued += 1

    def send_quarantine(self, record: Mapping[str, Any]) -> None:
        self.queued += 1

    def flush(self) -> int:
        self.out.flush()
        done, self.queued = self.queued, 0
        return done


@dataclass(frozen=True, slots=True)
class FileCounts:
    """What one input produced, as counts and reason codes only (cheap to pass between processes)."""

    format: str
    records: int
    events: int
    warned: int
    out_of_scope: int
    quarantine_codes: list[set[str]]
    warning_codes: list[str]

    @classmethod
    def of(cls, result: ParseResult) -> FileCounts:
        """The counts of a parse result."""
        return cls(
            format=result.format,
            records=result.records,
            events=len(result.events),
            warned=result.warned_events,
            out_of_scope=result.out_of_scope,
            quarantine_codes=[{p.code for p in q.problems} for q in result.quarantined],
            warning_codes=[p.code for _, p in result.warnings],
        )


@dataclass
class IngestSummary:
    """What an ingest run did, counted per file and per reason (no personal data)."""

    files: int = 0
    records: int = 0
    events: int = 0
    sent: int = 0
    warned: int = 0
    out_of_scope: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    quarantined_records: int = 0  # a record with several reasons counts once
    delivery_error: str | None = None

    def add(self, result: ParseResult) -> None:
        """Count one input's result."""
        self.add_counts(FileCounts.of(result))

    def add_counts(self, counts: FileCounts) -> None:
        """Count one input from its counts."""
        self.files += 1
        self.records += counts.records
        self.events += counts.events
        self.warned += counts.warned
        self.out_of_scope += counts.out_of_scope
        self.formats[counts.format] += 1
        self.quarantined_records += len(counts.quarantine_codes)
        for codes in counts.quarantine_codes:
            self.quarantined.update(codes)
        self.warnings.update(counts.warning_codes)

    @property
    def exit_code(self) -> int:
        """0 all clean, 1 warnings only, 2 something quarantined, 3 not everything delivered."""
        if self.delivery_error:
            return EXIT_UNDELIVERED
        if self.quarantined_records:
            return EXIT_QUARANTINED
        return EXIT_WARNED if self.warned else EXIT_OK

    def lines(self) -> list[str]:
        """The summary as plain lines for stderr."""
        out = [
            f"files {self.files} ({', '.join(f'{k} {v}' for k, v in sorted(self.formats.items()))})",
            f"read {self.records} records; events {self.events}; sent {self.sent}; warned {self.warned}; "
            f"quarantined {self.quarantined_records}; out of scope {self.out_of_scope}",
        ]
        out += [f"  quarantined for {code}: {n}" for code, n in sorted(self.quarantined.items())]
        out += [f"  warning {code}: {n}" for code, n in sorted(self.warnings.items())]
        if self.delivery_error:
            out.append(f"NOT DELIVERED: {self.delivery_error}")
        return out


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and the files inside the folders named (sorted, hidden files skipped)."""
    for path in paths:
        if path.is_dir():
            yield from (
                p for p in sorted(path.rglob("*")) if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
        else:
            yield path


def parse_file(
    data: bytes, file_name: str, family: str, ctx: ParseContext, fetch: PatientFetcher | None = None
) -> ParseResult:
    """Parse one input; a connector fault quarantines the input instead of stopping the run."""
    try:
        return parse_input(data, file_name, family, ctx, fetch)
    except Exception as exc:
        log.error("connector fault family=%s error=%s", family, type(exc).__name__)
        problem = Problem("connector_fault", f"{file_name}: the connector failed on this input ({type(exc).__name__})")
        return whole_file("unknown", file_name, data, f"{family}-unknown", _KIND[family], problem, ctx.default_la)


def quarantine_records(result: ParseResult, ctx: ParseContext) -> list[dict[str, Any]]:
    """The result's ``QuarantineRecord`` dicts, each keyed to an authority."""
    records = []
    for q in result.quarantined:
        record = q.to_record(ctx.received_at)
        # The hub that received an input it cannot attribute is the one that must deal with it.
        record["responsible_la"] = record["responsible_la"] or ctx.default_la
        records.append(record)
    return records


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
            first, last = self.batch_files[0], self.batch_files[-1]
            span = first if first == last else f"{first} … {last}"
            self.summary.delivery_error = f"{exc} (not all confirmed: {span}; files before {first} were delivered)"
            raise DeliveryStopped from exc
        self.queued, self.batch_files = 0, []


class DeliveryStopped(Exception):
    """Delivery stopped; the summary says what was sent."""


Message = tuple[str, bytes | None, bytes]  # topic, key, value


def parse_and_encode(path: str, family: str, ctx: ParseContext) -> tuple[FileCounts, list[Message]]:
    """Read, parse and Avro-encode one input (runs in a worker process; returns only counts and bytes)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputUnreadable(f"{path} cannot be read ({exc.strerror})") from exc
    result = parse_file(data, path, family, ctx)
    codec = default_codec()
    messages: list[Message] = [(topic_for(e), message_key(e), codec.encode(e)) for e in result.events]
    messages += [
        (QUARANTINE, message_key(r), codec.encode(r, "QuarantineRecord")) for r in quarantine_records(result, ctx)
    ]
    return FileCounts.of(result), messages


class InputUnreadable(Exception):
    """A named input file cannot be read from disk."""


class EncodedSink(Sink, Protocol):
    """A sink that also takes messages already encoded (the Kafka producer)."""

    def send_encoded(self, topic: str, key: bytes | None, value: bytes) -> None: ...


PIPELINE_MIN_FILES = 4  # below this a worker process costs more than it saves
PIPELINE_DEPTH = 4  # files parsed ahead of the one being sent


_pool: ProcessPoolExecutor | None = None


def _worker_pool() -> ProcessPoolExecutor:
    """One parse worker per process, started on first use and kept (a watched folder reuses it)."""
    global _pool
    if _pool is None:
        # spawn, not fork: this process runs the producer's network thread, which a fork would copy mid-lock.
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


def _encoded_in_order(
    files: list[Path], family: str, ctx: ParseContext
) -> Iterator[tuple[Path, tuple[FileCounts, list[Message]]]]:
    """Each file parsed and encoded, in order, up to PIPELINE_DEPTH files ahead in the worker.

    If the worker cannot run (it died, or the interpreter cannot spawn it), the files left are
    parsed here instead: a slower run, never a lost file.
    """
    global _pool
    pending: deque[tuple[Path, Future[tuple[FileCounts, list[Message]]] | None]] = deque()
    queue = iter(files)
    worker_ok = True

    def submit(path: Path) -> None:
        nonlocal worker_ok
        future = None
        if worker_ok:
            try:
                future = _worker_pool().submit(parse_and_encode, str(path), family, ctx)
            except Exception:
                worker_ok = False
        pending.append((path, future))

    for path in itertools.islice(queue, PIPELINE_DEPTH):
        submit(path)
    while pending:
        path, future = pending.popleft()
        for nxt in itertools.islice(queue, 1):
            submit(nxt)
        if future is not None:
            try:
                yield path, future.result()
                continue
            except InputUnreadable:
                raise
            except Exception as exc:
                log.warning("parse worker failed (%s); parsing in this process", type(exc).__name__)
                worker_ok = False
                _pool = None
        yield path, parse_and_encode(str(path), family, ctx)


def _ingest_pipelined(files: list[Path], family: str, sink: EncodedSink, ctx: ParseContext) -> IngestSummary:
    """Parse and encode in a worker process while this one sends: the two cores work at once."""
    summary = IngestSummary()
    delivery = _Delivery(sink, summary)
    try:
        for path, (counts, messages) in _encoded_in_order(files, family, ctx):
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
    on_result: Callable[[Path, ParseResult], None] | None = None,
) -> IngestSummary:
    """Parse every input and deliver it file by file; stops at the first delivery failure.

    With a Kafka sink, several files and no PDS fetches, parsing and encoding run one file ahead in
    a worker process while this process sends.
    """
    files = list(iter_files(paths))
    if fetch is None and on_result is None and len(files) >= PIPELINE_MIN_FILES and hasattr(sink, "send_encoded"):
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
        if on_result:
            on_result(path, result)
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

"""Run partner inputs through their connectors and hand the output to a sink (Kafka, or stdout for a dry run)."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from connectors.common.parsing import ParseContext, whole_file
from connectors.common.problems import Problem
from connectors.common.quarantine import ParseResult
from connectors.formats import _KIND, parse_input
from connectors.health.mns import PatientFetcher

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
        self.files += 1
        self.records += result.records
        self.events += len(result.events)
        self.warned += result.warned_events
        self.out_of_scope += result.out_of_scope
        self.formats[result.format] += 1
        self.quarantined_records += len(result.quarantined)
        for q in result.quarantined:
            self.quarantined.update({p.code for p in q.problems})
        self.warnings.update(p.code for _, p in result.warnings)

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


def deliver(result: ParseResult, sink: Sink, ctx: ParseContext) -> int:
    """Send one result's events and quarantine records, and wait for the sink to confirm them."""
    for event in result.events:
        sink.send_event(event)
    for q in result.quarantined:
        record = q.to_record(ctx.received_at)
        # The hub that received an input it cannot attribute is the one that must deal with it.
        record["responsible_la"] = record["responsible_la"] or ctx.default_la
        sink.send_quarantine(record)
    return sink.flush()


def ingest(
    paths: Iterable[Path],
    family: str,
    sink: Sink,
    ctx: ParseContext,
    *,
    fetch: PatientFetcher | None = None,
    on_result: Callable[[Path, ParseResult], None] | None = None,
) -> IngestSummary:
    """Parse every input and deliver it file by file; stops at the first delivery failure."""
    summary = IngestSummary()
    for path in iter_files(paths):
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
            summary.sent += deliver(result, sink, ctx)
        except Exception as exc:  # the producer's DeliveryError says what was and was not sent
            summary.delivery_error = f"{exc} (stopped at {path.name}; files before it were delivered)"
            break
        log.info(
            "ingested family=%s format=%s records=%d events=%d quarantined=%d",
            family,
            result.format,
            result.records,
            len(result.events),
            len(result.quarantined),
        )
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

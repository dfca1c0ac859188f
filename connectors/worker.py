"""Parse and encode inputs in a worker process, ahead of the process that sends them to Kafka.

Parsing is pure Python and so is kafka-python's producer; under one interpreter lock they take
turns. A spawned worker parses and Avro-encodes the next files while the main process sends the
current one, so two cores work at once. Only counts, reason codes and encoded bytes cross back.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from connectors.common.oversize import fit_result
from connectors.common.parsing import ParseContext, whole_file
from connectors.common.problems import Problem
from connectors.common.quarantine import ParseResult
from connectors.formats import SOURCE_KIND, parse_input
from connectors.health.mns import PatientFetcher
from connectors.summary import FileCounts
from schemas.codec import default_codec
from schemas.topics import QUARANTINE, message_key, topic_for

log = logging.getLogger("cmehub.ingest")


def parse_file(
    data: bytes, file_name: str, family: str, ctx: ParseContext, fetch: PatientFetcher | None = None
) -> ParseResult:
    """Parse one input; a connector fault quarantines the input instead of stopping the run.

    Every message the result makes fits in one Kafka message (:mod:`connectors.common.oversize`).
    """
    try:
        result = parse_input(data, file_name, family, ctx, fetch)
    except Exception as exc:
        log.error("connector fault family=%s error=%s", family, type(exc).__name__)
        problem = Problem("connector_fault", f"{file_name}: the connector failed on this input ({type(exc).__name__})")
        result = whole_file("unknown", file_name, data, f"{family}-unknown", SOURCE_KIND[family], problem,
                            ctx.default_la)
    return fit_result(result, data)


def quarantine_records(result: ParseResult, ctx: ParseContext) -> list[dict[str, Any]]:
    """The result's ``QuarantineRecord`` dicts, each keyed to an authority."""
    records = []
    for q in result.quarantined:
        record = q.to_record(ctx.received_at)
        # The hub that received an input it cannot attribute is the one that must deal with it.
        record["responsible_la"] = record["responsible_la"] or ctx.default_la
        records.append(record)
    return records


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


PIPELINE_DEPTH = 4  # files parsed ahead of the one being sent


_pool: ProcessPoolExecutor | None = None


def worker_pool() -> ProcessPoolExecutor:
    """One parse worker per process, started on first use and kept (a watched folder reuses it)."""
    global _pool
    if _pool is None:
        # spawn, not fork: this process runs the producer's network thread, which a fork would copy mid-lock.
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


def encoded_as_ready(
    files: list[Path], family: str, ctx: ParseContext
) -> Iterator[tuple[Path, tuple[FileCounts, list[Message]]]]:
    """Each file parsed and encoded, yielded as soon as it is ready (not necessarily in order).

    The worker takes files from the front of the queue, up to PIPELINE_DEPTH at a time. Whenever
    the oldest of them is not ready yet, this process parses the next file itself rather than wait,
    so both processes parse when sending is not the bottleneck. If the worker cannot run (it died,
    or the interpreter cannot spawn it), the files left are parsed here: slower, never lost.
    """
    global _pool
    todo = deque(files)
    running: deque[tuple[Path, Future[tuple[FileCounts, list[Message]]]]] = deque()
    worker_ok = True
    while todo or running:
        while worker_ok and todo and len(running) < PIPELINE_DEPTH:
            try:
                running.append((todo[0], worker_pool().submit(parse_and_encode, str(todo[0]), family, ctx)))
            except Exception:
                worker_ok = False
                break
            todo.popleft()
        if running and not todo and not running[0][1].done():
            # Nothing left to parse here: take back what the worker has not started (it may still be starting).
            for item in list(running)[::-1]:
                if item[1].cancel():
                    running.remove(item)
                    todo.appendleft(item[0])
        if running and (running[0][1].done() or not todo):
            path, future = running.popleft()
            try:
                done = future.result()
            except InputUnreadable:
                raise
            except Exception as exc:
                log.warning("parse worker failed (%s); parsing in this process", type(exc).__name__)
                worker_ok, _pool = False, None
                todo.extendleft(p for p, _ in reversed(running))  # re-parse what the dead worker held
                running.clear()
                done = parse_and_encode(str(path), family, ctx)
            yield path, done
        else:  # the worker is still busy: parse the next file here instead of waiting
            path = todo.popleft()
            yield path, parse_and_encode(str(path), family, ctx)

"""Parse and encode inputs in a worker process, ahead of the process that sends them to Kafka.

Parsing is pure Python and holds the interpreter lock. Spawned workers parse and Avro-encode the
next files while the main process hands the ready ones to its producer (librdkafka, whose C threads
batch and send), so every core works at once. Only counts, reason codes and encoded bytes cross back.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
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


# Parsing and encoding a record costs about ten times the CPU of sending it (bench/bench_connectors.py),
# so the sender needs little of a core: one worker per core, up to four (beyond that the sender's
# receiving and unpickling would be the limit).
WORKERS = max(1, min(4, os.cpu_count() or 1))
PIPELINE_DEPTH = 2 * WORKERS  # files handed to the workers ahead of the one being sent


def _worker_started() -> None:
    """Runs once in each new worker: build the codec, then stop the collector rescanning what import made.

    Parsing builds thousands of short-lived elements per file; every collection the allocator
    triggers would otherwise walk all the modules, schemas and codec tables loaded at start-up
    (a quarter of a worker's time, measured). The parsers make no reference cycles of their own.
    """
    default_codec()
    gc.collect()
    gc.freeze()


def _parse_in_worker(path: str, family: str, ctx: ParseContext) -> tuple[FileCounts, list[Message]]:
    """parse_and_encode with the collector paused: a file's elements and events hold no cycles to find.

    The collector runs again between files, so the little cyclic garbage a file leaves (caught
    exceptions) is freed then.
    """
    gc.disable()
    try:
        return parse_and_encode(path, family, ctx)
    finally:
        gc.enable()


_pool: ProcessPoolExecutor | None = None


def worker_pool() -> ProcessPoolExecutor:
    """The parse workers of this process, started on first use and kept (a watched folder reuses them)."""
    global _pool
    if _pool is None:
        # spawn, not fork: this process runs the producer's threads, which a fork would copy mid-lock.
        _pool = ProcessPoolExecutor(
            max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_started
        )
    return _pool


def workers_running() -> bool:
    """True when this process has started its parse workers (a watched folder or an earlier big input)."""
    return _pool is not None


def _drop_pool() -> None:
    """Forget a pool that failed (its processes are gone or cannot start); the files left are parsed here."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = None


def encoded_as_ready(
    files: list[Path], family: str, ctx: ParseContext
) -> Iterator[tuple[Path, tuple[FileCounts, list[Message]]]]:
    """Each file parsed and encoded by the workers, yielded as soon as it is ready (not necessarily in order).

    Up to PIPELINE_DEPTH files are in the workers at a time, so they parse the next files while
    this process sends the ones ready. This process parses nothing itself: it runs the producer
    and its network thread, and parsing here would slow both. If the workers cannot run (one died,
    or the interpreter cannot spawn them), the files left are parsed here: slower, never lost.
    """
    todo = deque(files)
    running: dict[Future[tuple[FileCounts, list[Message]]], Path] = {}  # in the order handed out
    workers_ok = True
    while todo or running:
        while workers_ok and todo and len(running) < PIPELINE_DEPTH:
            try:
                running[worker_pool().submit(_parse_in_worker, str(todo[0]), family, ctx)] = todo[0]
            except Exception as exc:
                log.warning("parse workers cannot start (%s); parsing in this process", type(exc).__name__)
                workers_ok = False
                _drop_pool()
                break
            todo.popleft()
        if not running:
            path = todo.popleft()
            yield path, parse_and_encode(str(path), family, ctx)
            continue
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in [f for f in running if f in finished]:
            path = running.pop(future)
            try:
                done = future.result()
            except InputUnreadable:
                raise
            except Exception as exc:
                log.warning("parse worker failed (%s); parsing in this process", type(exc).__name__)
                workers_ok = False
                _drop_pool()
                todo.extendleft(reversed([path, *running.values()]))  # re-parse what the workers held
                running.clear()
                break
            yield path, done

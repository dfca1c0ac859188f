"""`ingest` parses and encodes ahead in a worker process; its output equals the in-process path."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

import connectors.ingest as ingest_module
import connectors.worker as worker_module
from connectors.common.parsing import ParseContext
from connectors.common.producer import DeliveryError
from connectors.ingest import ingest
from schemas.codec import Codec
from schemas.topics import message_key, topic_for
from tests.unit.connectors.conftest import FIXTURES


class CollectingSink:
    """Keeps what a Kafka producer would send, as (topic, key, value), and confirms it all."""

    def __init__(self) -> None:
        self.codec = Codec()
        self.messages: list[tuple[str, bytes | None, bytes]] = []
        self.queued = 0
        self.flushes = 0

    def send_event(self, event: Mapping[str, Any]) -> None:
        self.send_encoded(topic_for(event), message_key(event), self.codec.encode(event))

    def send_quarantine(self, record: Mapping[str, Any]) -> None:
        self.send_encoded("cme.quarantine", message_key(record), self.codec.encode(record, "QuarantineRecord"))

    def send_encoded(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.messages.append((topic, key, value))
        self.queued += 1

    def flush(self) -> int:
        self.flushes += 1
        done, self.queued = self.queued, 0
        return done


LOCAL_CALLS: list[str] = []
_ORIGINAL = worker_module.parse_and_encode


def counting_parse(path: str, family: str, ctx: ParseContext) -> Any:
    """parse_and_encode, noting the calls made in this process (the worker has its own list)."""
    LOCAL_CALLS.append(path)
    return _ORIGINAL(path, family, ctx)


def _files() -> list[Path]:
    return sorted(p for p in (FIXTURES / "schools").rglob("*") if p.is_file())


def _decoded(sink: CollectingSink) -> list[tuple[str, bytes | None, str]]:
    out = []
    for topic, key, value in sink.messages:
        record = sink.codec.decode(value)
        out.append((topic, key, record.get("event_id") or record["quarantine_id"]))
    return out


def test_worker_output_equals_the_in_process_output(monkeypatch: pytest.MonkeyPatch, ctx: ParseContext) -> None:
    files = _files()
    assert len(files) >= ingest_module.PIPELINE_MIN_FILES
    monkeypatch.setattr(ingest_module, "PIPELINE_MIN_BYTES", 0)
    worker_module.worker_pool().submit(int, 0).result()  # the worker is up before the run starts
    monkeypatch.setattr(worker_module, "parse_and_encode", counting_parse)
    LOCAL_CALLS.clear()
    piped = CollectingSink()
    summary_piped = ingest(files, "schools", piped, ctx)
    assert LOCAL_CALLS == []  # the workers parsed them all; this process only sends
    monkeypatch.setattr(ingest_module, "PIPELINE_MIN_FILES", 10**9)
    direct = CollectingSink()
    summary_direct = ingest(files, "schools", direct, ctx)
    assert sorted(_decoded(piped)) == sorted(_decoded(direct))  # the worker path delivers files as they are ready
    assert summary_piped.lines() == summary_direct.lines()
    assert summary_piped.sent == len(piped.messages) == summary_piped.events + summary_piped.quarantined_records


def test_a_broken_worker_falls_back_to_parsing_here(monkeypatch: pytest.MonkeyPatch, ctx: ParseContext) -> None:
    def no_pool() -> None:
        raise OSError("cannot start a process")

    monkeypatch.setattr(ingest_module, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(worker_module, "worker_pool", no_pool)
    sink = CollectingSink()
    summary = ingest(_files(), "schools", sink, ctx)
    assert summary.delivery_error is None
    assert summary.sent == summary.events + summary.quarantined_records > 0


class DeadPool:
    """A worker pool whose processes died: every file handed to it fails as a broken pool does."""

    def __init__(self) -> None:
        self.shut = False

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(BrokenProcessPool("a worker process died"))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.shut = True


def test_files_a_dead_worker_held_are_parsed_here(monkeypatch: pytest.MonkeyPatch, ctx: ParseContext) -> None:
    dead = DeadPool()
    monkeypatch.setattr(ingest_module, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(worker_module, "_pool", dead)
    monkeypatch.setattr(worker_module, "parse_and_encode", counting_parse)
    LOCAL_CALLS.clear()
    sink = CollectingSink()
    files = _files()
    summary = ingest(files, "schools", sink, ctx)
    assert sorted(LOCAL_CALLS) == sorted(str(p) for p in files)  # each file once, none lost or doubled
    assert summary.delivery_error is None
    assert summary.sent == len(sink.messages) == summary.events + summary.quarantined_records > 0
    assert dead.shut and worker_module._pool is None  # the next run starts fresh workers


def test_confirmation_is_batched_not_per_file(ctx: ParseContext) -> None:
    sink = CollectingSink()
    ingest(_files(), "schools", sink, ctx)
    assert sink.flushes == 1  # a handful of small files: one wait for Kafka's acks at the end


class FailingSink(CollectingSink):
    """Kafka stops confirming after the first batch."""

    def flush(self) -> int:
        if self.flushes:
            raise DeliveryError("Kafka at 127.0.0.1:19092 did not confirm 3 records; 5 records were confirmed sent.")
        self.confirmed = super().flush()
        return self.confirmed


def test_a_delivery_failure_says_what_was_and_was_not_sent(monkeypatch: pytest.MonkeyPatch, ctx: ParseContext) -> None:
    monkeypatch.setattr(ingest_module, "FLUSH_EVERY", 1)  # confirm after every file
    monkeypatch.setattr(ingest_module, "PIPELINE_MIN_FILES", 10**9)
    files = _files()
    sink = FailingSink()
    summary = ingest(files, "schools", sink, ctx)
    assert summary.exit_code == 3
    assert summary.sent == sink.confirmed > 0  # the first file's records, confirmed before the failure
    assert summary.delivery_error is not None
    assert "did not confirm 3 records" in summary.delivery_error
    assert f"not all confirmed: {files[1].name}; every file sent before was confirmed" in summary.delivery_error
    assert summary.files == 2  # it stopped at the failing file


def test_a_file_that_cannot_be_read_stops_the_run_with_its_name(tmp_path: Path, ctx: ParseContext) -> None:
    sink = CollectingSink()
    missing = tmp_path / "gone.xml"
    summary = ingest([FIXTURES / "schools" / "deletion_return.csv", missing], "schools", sink, ctx)
    assert summary.exit_code == 3
    assert summary.delivery_error is not None and "gone.xml cannot be read" in summary.delivery_error
    assert summary.sent == 2  # the readable file before it was delivered


def test_small_inputs_start_no_workers_but_use_running_ones(monkeypatch: pytest.MonkeyPatch, ctx: ParseContext) -> None:
    files = _files()
    assert len(files) >= ingest_module.PIPELINE_MIN_FILES
    assert sum(p.stat().st_size for p in files) < ingest_module.PIPELINE_MIN_BYTES
    monkeypatch.setattr(worker_module, "_pool", None)
    small = ingest(files, "schools", CollectingSink(), ctx)
    assert not worker_module.workers_running()  # starting them would cost more than parsing here
    monkeypatch.undo()
    worker_module.worker_pool().submit(int, 0).result()
    here: list[str] = []

    def parse_here(data: bytes, name: str, *args: Any) -> Any:
        here.append(name)
        return worker_module.parse_file(data, name, *args)

    monkeypatch.setattr(ingest_module, "parse_file", parse_here)
    monkeypatch.setattr(worker_module, "parse_and_encode", counting_parse)
    LOCAL_CALLS.clear()
    sink = CollectingSink()
    summary = ingest(files, "schools", sink, ctx)
    assert here == [] and LOCAL_CALLS == []  # parsed by the running workers, not here
    assert summary.sent == len(sink.messages) == summary.events + summary.quarantined_records > 0
    assert summary.lines() == small.lines()

"""The matching worker within its publisher's message limit, and a batch a notification breaks split in halves."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

import sqlalchemy.exc as sa_exc

from schemas.codec import default_codec
from schemas.examples import example_event
from schemas.topics import HEADER_ERROR, HEADER_ORIGINAL_OFFSET
from services.matching.pipeline import Applied, NotificationPipeline
from services.matching.worker import MatchingWorker, Message, Publisher

LIMIT = 20_000


class Limited(Publisher):
    """Keeps what is published and refuses, as Kafka's client does, a message over its limit."""

    max_message_bytes = LIMIT

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, dict[str, bytes]]] = []

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        size = len(value) + len(key or b"") + sum(len(k) + len(v) for k, v in headers or [])
        assert size + 100 <= LIMIT, f"a {size}-byte message over the {LIMIT}-byte limit"
        self.messages.append((topic, value, dict(headers or [])))

    def flush(self) -> None:
        pass


class Pipeline:
    """Applies every event but those named bad, whose presence fails the whole batch (like a NUL in text)."""

    def __init__(self, bad: set[str] | None = None, transient: bool = False) -> None:
        self.bad, self.transient = bad or set(), transient
        self.batches: list[list[str]] = []

    def process_batch(self, events: Sequence[Mapping[str, Any]]) -> list[Applied | Exception]:
        ids = [str(e["event_id"]) for e in events]
        self.batches.append(ids)
        if self.transient:
            raise sa_exc.OperationalError("select 1", {}, ConnectionError("database restarting"))
        if self.bad & set(ids):
            raise sa_exc.DataError("insert", {}, ValueError("text cannot hold NUL"))
        return [Applied(i) for i in ids]


def _event(n: int) -> dict[str, Any]:
    event = example_event("school.deletion_return")
    event["event_id"] = f"00000000-0000-4000-8000-{n:012d}"
    return event


def _worker(pipeline: Pipeline, publisher: Publisher) -> MatchingWorker:
    return MatchingWorker(cast(NotificationPipeline, pipeline), default_codec(), publisher, topic_prefix="p.")


def test_junk_too_large_to_dead_letter_whole_keeps_what_fits_and_says_so() -> None:
    sent = Limited()
    junk = b"\x00junk" * (LIMIT // 5)
    _worker(Pipeline(), sent).handle_batch([Message("p.cme.notifications.school", 0, 7, b"383", junk)])
    [(topic, value, headers)] = sent.messages
    assert topic == "p.cme.deadletter" and junk.startswith(value) and headers[HEADER_ORIGINAL_OFFSET] == b"7"
    assert f"of {len(junk)} bytes (sha256 {hashlib.sha256(junk).hexdigest()})" in headers[HEADER_ERROR].decode()


def test_a_message_too_large_to_retry_is_dead_lettered_not_lost() -> None:
    sent = Limited()
    event = _event(1)
    event["child"]["addresses"][0]["lines"] = ["x" * (LIMIT - 1000)]
    value = default_codec().encode(event)
    assert LIMIT - 600 < len(value) < LIMIT - 100  # fits as it came; not with a retry's headers beside it
    worker = _worker(Pipeline(transient=True), sent)
    worker.policy.in_place_attempts, worker.policy.in_place_seconds = 1, 0.1
    worker.handle_batch([Message("p.cme.notifications.school", 0, 3, b"383", value)])
    [(topic, kept, headers)] = sent.messages
    assert topic == "p.cme.deadletter" and value.startswith(kept)
    assert headers[HEADER_ERROR].decode().startswith("too large to retry with its headers")


def test_a_batch_a_notification_breaks_is_split_in_halves_in_order() -> None:
    sent = Limited()
    events = [_event(n) for n in range(16)]
    bad = str(events[11]["event_id"])
    pipeline = Pipeline(bad={bad})
    codec = default_codec()
    _worker(pipeline, sent).handle_batch(
        [Message("p.cme.notifications.school", 0, n, b"383", codec.encode(e)) for n, e in enumerate(events)])
    committed = [i for batch in pipeline.batches if bad not in batch for i in batch]
    assert committed == [str(e["event_id"]) for e in events if e["event_id"] != bad]  # each once, in order
    assert len(pipeline.batches) <= 2 * 4 + 1  # halving 16 messages: far fewer than 16 transactions
    assert [h[HEADER_ORIGINAL_OFFSET] for _, _, h in sent.messages] == [b"11"]

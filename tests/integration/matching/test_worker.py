"""The worker's handling of what fails: nothing is dropped, and the stream keeps going."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc as sa_exc

from schemas.codec import default_codec
from schemas.topics import read_failure_headers
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import Applied, NotificationPipeline
from services.matching.worker import MatchingWorker, Message, Publisher, RetryPolicy
from services.register.database import migrate as migrate_register
from services.register.unit_of_work import unit_of_work_factory
from tests.integration.matching.notifications import deletion_return


class Sent(Publisher):
    """Keeps what the worker publishes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bytes | None, dict[str, str]]] = []
        self.flushes = 0

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        self.messages.append((topic, value, key, read_failure_headers(headers)))

    def flush(self) -> None:
        self.flushes += 1

    def topics(self) -> list[str]:
        return [m[0] for m in self.messages]


@pytest.fixture(params=["postgresql", "sqlite"])
def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NotificationPipeline]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path}/register.sqlite3"
    migrate_register(url)
    migrate_matching(url)
    uows = unit_of_work_factory(url)
    yield NotificationPipeline(uows)
    uows.dispose()


def _message(value: bytes, offset: int) -> Message:
    return Message("p.cme.notifications.school", 2, offset, b"383", value)


def test_poison_and_junk_go_to_the_dead_letters_and_the_rest_is_processed(pipeline: NotificationPipeline) -> None:
    sent = Sent()
    worker = MatchingWorker(pipeline, default_codec(), sent, topic_prefix="p.")
    impossible = deletion_return(1)
    impossible["deletion_ground"] = "9(1)(z)"  # valid Avro (a string), but no such ground in law
    worker.handle_batch([
        _message(b"\x00\x01 not avro", 10),
        _message(default_codec().encode(impossible), 11),
        _message(default_codec().encode(deletion_return(2)), 12),
    ])
    dead = [m for m in sent.messages if m[0] == "p.cme.deadletter"]
    assert [d[3]["cme-original-offset"] for d in dead] == ["10", "11"]
    assert all(d[3]["cme-original-topic"] == "p.cme.notifications.school" for d in dead)
    assert "9(1)(z)" in dead[1][3]["cme-error"]
    assert dead[1][1] == default_codec().encode(impossible)  # the original bytes, unchanged
    assert "p.cme.match.decisions" in sent.topics() and "p.cme.register.changes" in sent.topics()
    assert worker.counters.processed == 1 and worker.counters.dead_lettered == 2
    assert sent.flushes == 1


class FlakyPipeline(NotificationPipeline):
    """A register that is down for the first ``failures`` attempts."""

    def __init__(self, inner: NotificationPipeline, failures: int) -> None:
        self.__dict__.update(inner.__dict__)
        self.failures = failures

    def process_batch(self, events: Sequence[Any]) -> list[Applied | Exception]:
        if self.failures > 0:
            self.failures -= 1
            raise sa_exc.OperationalError("insert", {}, ConnectionRefusedError("the database is restarting"))
        return super().process_batch(events)


def test_a_passing_database_failure_is_retried_in_place(pipeline: NotificationPipeline) -> None:
    sent = Sent()
    policy = RetryPolicy(in_place_attempts=3, in_place_seconds=10)
    worker = MatchingWorker(FlakyPipeline(pipeline, failures=2), default_codec(), sent, policy)
    worker.handle(_message(default_codec().encode(deletion_return(3)), 20))
    assert worker.counters.processed == 1
    assert "cme.notifications.retry" not in sent.topics() and "cme.match.decisions" in sent.topics()


def test_a_long_database_failure_goes_to_the_retry_topic_then_the_dead_letters(
        pipeline: NotificationPipeline) -> None:
    sent = Sent()
    policy = RetryPolicy(in_place_attempts=2, in_place_seconds=5, topic_attempts=2, topic_delay_s=0.01)
    flaky = FlakyPipeline(pipeline, failures=100)
    worker = MatchingWorker(flaky, default_codec(), sent, policy)
    worker.handle(_message(default_codec().encode(deletion_return(4)), 30))
    assert sent.topics() == ["cme.notifications.retry"]
    topic, value, key, headers = sent.messages[0]
    assert headers["cme-attempts"] == "1" and headers["cme-error"] == "OperationalError"
    retried = Message(topic, 0, 0, key, value, tuple((k, v.encode()) for k, v in headers.items()))
    worker.handle_retry(retried)
    assert sent.topics() == ["cme.notifications.retry", "cme.deadletter"]
    assert sent.messages[1][3]["cme-original-offset"] == "30"
    assert sent.messages[1][3]["cme-error"].startswith("gave up after 2 attempts")
    # Once the database is back, the same message from the retry topic is recorded.
    flaky.failures = 0
    worker.handle_retry(retried)
    assert worker.counters.processed == 1


def test_a_redelivered_batch_records_nothing_twice(pipeline: NotificationPipeline) -> None:
    sent = Sent()
    worker = MatchingWorker(pipeline, default_codec(), sent)
    batch = [_message(default_codec().encode(deletion_return(n)), n) for n in range(5)]
    worker.handle_batch(batch)
    worker.handle_batch(copy.deepcopy(batch))
    assert worker.counters.processed == 5 and worker.counters.duplicates == 5


def test_a_batch_with_a_failing_notification_keeps_the_others(pipeline: NotificationPipeline) -> None:
    sent = Sent()
    worker = MatchingWorker(pipeline, default_codec(), sent)
    unknown_child = deletion_return(7)
    batch = [_message(default_codec().encode(deletion_return(n)), n) for n in (5, 6)]

    def fail_on_second(events: Sequence[Any], inner: Any = pipeline.process_batch) -> list[Applied | Exception]:
        results = inner(events)
        return [LookupError("no child c-1 in the register") if e["event_id"] == unknown_child["event_id"] else r
                for e, r in zip(events, results, strict=True)]

    pipeline.process_batch = fail_on_second  # type: ignore[method-assign]
    batch.insert(1, _message(default_codec().encode(unknown_child), 9))
    worker.handle_batch(batch)
    dead = [m for m in sent.messages if m[0] == "cme.deadletter"]
    assert [d[3]["cme-original-offset"] for d in dead] == ["9"]
    assert worker.counters.processed == 2
    assert sum(t == "cme.match.decisions" for t in sent.topics()) == 2

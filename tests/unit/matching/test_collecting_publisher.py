"""What a batch process publishes goes back to the worker's process, in order, and is sent there."""

from __future__ import annotations

import pytest

from services.matching.worker import CollectingPublisher, KafkaPublisher, Publisher, send_all


class _Recording(Publisher):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        self.calls.append(("send", (topic, value, key, headers)))

    def flush(self) -> None:
        self.calls.append(("flush", None))


def test_what_was_sent_is_taken_once_in_order_and_published_before_the_flush() -> None:
    kept = CollectingPublisher()
    kept.send("cme.match.decisions", b"1", key=b"383")
    kept.send("cme.deadletter", b"2", headers=[("cmehub-error", b"bad")])
    kept.flush()  # nothing to wait for in the batch process
    kept.send("cme.register.changes", b"3", key=b"384")
    outgoing = kept.take()
    assert [value for _, value, _, _ in outgoing] == [b"1", b"2", b"3"]
    assert kept.take() == []

    sink = _Recording()
    send_all(sink, outgoing)
    assert sink.calls == [
        ("send", ("cme.match.decisions", b"1", b"383", None)),
        ("send", ("cme.deadletter", b"2", None, [("cmehub-error", b"bad")])),
        ("send", ("cme.register.changes", b"3", b"384", None)),
        ("flush", None),
    ]


def test_the_batch_process_sizes_messages_for_the_producer_that_will_send_them() -> None:
    assert CollectingPublisher.max_message_bytes == KafkaPublisher.max_message_bytes


def test_a_failed_step_leaves_nothing_for_the_next_to_publish() -> None:
    from services.matching import batch_process

    def fails() -> None:
        batch_process._outgoing.send("cme.deadletter", b"kept before the failure")
        raise RuntimeError("the register could not commit")

    with pytest.raises(RuntimeError):
        batch_process._publishing(fails)
    assert batch_process._publishing(lambda: None) == []

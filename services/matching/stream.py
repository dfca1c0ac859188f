"""The matching worker: a faust app whose agents consume every partner notification topic.

Run it with ``python -m faust -A services.matching.stream worker`` (``cmehub up`` does). Agents hold
no business logic: a batch goes to ``MatchingWorker`` in a process of its own (``batch_process``),
and its events are acked, so their offsets committed, only after the database has committed its
effects. While one batch is recorded there, the agent gathers the next.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import cache
from typing import Any

import faust
import structlog

from schemas.topics import NOTIFICATIONS_PREFIX, RETRY, catalogue
from services.logs import configure_logging
from services.matching import batch_process
from services.matching.transport import App
from services.matching.worker import KafkaPublisher, Message, Outgoing, send_all
from services.settings import get_settings

log = structlog.get_logger("cmehub.matching")
settings = get_settings()
configure_logging(settings.log_level)

PREFIX = settings.topic_prefix
settings.state_dir.mkdir(parents=True, exist_ok=True)  # faust creates its data folder, not the parents
app = App(
    f"{PREFIX}cmehub-matching",
    broker=f"kafka://{settings.bootstrap_servers}",
    store="memory://",
    topic_replication_factor=settings.kafka_replication_factor,
    topic_disable_leader=True,
    datadir=str(settings.state_dir / "matching"),
    web_enabled=True,
    web_host="127.0.0.1",
    consumer_auto_offset_reset="earliest",
    broker_commit_every=500,
    broker_commit_interval=1.0,
    # A worker that dies is noticed within seconds, so its partitions move on quickly.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=3.0,
)
NOTIFICATION_TOPICS = [PREFIX + t.name for t in catalogue()
                       if t.name.startswith(NOTIFICATIONS_PREFIX) and t.name != RETRY]
notifications = app.topic(*NOTIFICATION_TOPICS, key_type=bytes, value_type=bytes, key_serializer="raw",
                          value_serializer="raw")
retries = app.topic(PREFIX + RETRY, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

EXIT_FOR_RESTART = 75  # EX_TEMPFAIL: try again

# One process for all database work, one call at a time, keeps each authority's notifications in order.
# Spawned, not forked: this process has threads running.
_executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                initializer=batch_process.start, initargs=(os.getpid(),))
IN_FLIGHT = 2  # batches handed over and not yet committed: one being recorded, the next waiting its turn
# Publishing waits for the broker, so it runs in a thread of its own, one batch at a time, in order.
_sending = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publishing")


@cache
def _publisher() -> KafkaPublisher:
    return KafkaPublisher(settings.bootstrap_servers)


def _publish(outgoing: list[Outgoing]) -> None:
    send_all(_publisher(), outgoing)  # in the publishing thread, where the producer is made on first use


def _message(event: Any) -> Message:
    m = event.message
    raw = m.headers.items() if isinstance(m.headers, dict) else (m.headers or ())
    headers = tuple((str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in raw)
    return Message(m.topic, m.partition, m.offset, m.key, m.value, headers)


def _submit(fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
    """Hand ``fn`` to the batch process (the worker is built there on first use, migrations and all)."""
    return asyncio.get_running_loop().run_in_executor(_executor, fn, *args)


async def _finished(step: asyncio.Future[Any]) -> None:
    """Wait for a step of the batch process, then publish what it returns (a step publishes nothing
    itself), and wait for the broker to have it all."""
    try:
        outgoing: list[Outgoing] | None = await step
        if outgoing:
            await asyncio.get_running_loop().run_in_executor(_sending, _publish, outgoing)
    except Exception as exc:  # any failure here ends the process, on purpose
        _stop_for_restart(exc)


async def _ack_when_committed(stream: Any, step: asyncio.Future[Any], events: Sequence[Any]) -> None:
    """Ack a batch's events once it is committed and published (batches finish in order)."""
    await _finished(step)
    for event in events:
        await stream.ack(event)


def _stop_for_restart(exc: BaseException) -> None:
    """End the process when a batch could not be finished (the database or broker failing past retries).

    Its offsets are not committed, so the batch comes again to this worker once restarted (``cmehub
    up`` or Kubernetes restarts it) or to another in the group, and recording it is idempotent. A
    crashed faust agent would otherwise leave a process that looks alive and consumes nothing.
    """
    log.error("matching stopped: a batch could not be finished; exiting to be restarted",
              error=type(exc).__name__)  # not the message: a database error can quote a value
    logging.shutdown()
    os._exit(EXIT_FOR_RESTART)


@app.agent(notifications)
async def match_notifications(stream: Any) -> None:
    """Link and record each notification, a batch at a time, gathering the next batch meanwhile."""
    committing: deque[asyncio.Task[None]] = deque()
    async for events in stream.noack_take(settings.matching_batch_size, within=settings.matching_batch_wait_s):
        step = _submit(batch_process.handle_batch, [_message(e) for e in events])
        committing.append(asyncio.ensure_future(_ack_when_committed(stream, step, events)))
        while committing and (committing[0].done() or len(committing) >= IN_FLIGHT):
            await committing.popleft()


@app.agent(retries)
async def retry_notifications(stream: faust.StreamT[bytes]) -> None:
    """Process again, when due, what failed for a passing reason."""
    async for event in stream.events():
        await _finished(_submit(batch_process.handle_retry, _message(event)))


@app.on_partitions_assigned.connect  # type: ignore[arg-type]  # faust types a sync receiver
async def _reload_indexes(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
    # Another worker may have written to the register while it held these partitions.
    await _finished(_submit(batch_process.forget_indexes))

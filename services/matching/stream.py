"""The matching worker: a faust app whose agents consume every partner notification topic.

Run it with ``python -m faust -A services.matching.stream worker`` (``cmehub up`` does). Agents hold
no business logic: a batch goes to ``MatchingWorker`` in its own thread, and faust acks the batch,
so its offsets are committed, only after the database has committed its effects.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import faust
import structlog

from schemas.codec import default_codec
from schemas.topics import NOTIFICATIONS_PREFIX, RETRY, catalogue
from services.logs import configure_logging
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import NotificationPipeline
from services.matching.worker import KafkaPublisher, MatchingWorker, Message
from services.register.database import migrate as migrate_register
from services.register.unit_of_work import unit_of_work_factory
from services.settings import get_settings

log = structlog.get_logger("cmehub.matching")
settings = get_settings()
configure_logging(settings.log_level)

PREFIX = settings.topic_prefix
settings.state_dir.mkdir(parents=True, exist_ok=True)  # faust creates its data folder, not the parents
app = faust.App(
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

# One thread for all database work keeps each authority's notifications in order.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching")


@cache
def matching_worker() -> MatchingWorker:
    """The process's worker, built on first use (after faust has started)."""
    migrate_register(settings.register_url)
    migrate_matching(settings.register_url)
    pipeline = NotificationPipeline(unit_of_work_factory(settings.register_url))
    # A register index is hundreds of thousands of long-lived objects: left in the collector's sight,
    # every full collection walks them all and stalls the stream (seconds over 100,000 children).
    pipeline.after_index_load = gc.freeze
    return MatchingWorker(pipeline, default_codec(), KafkaPublisher(settings.bootstrap_servers), topic_prefix=PREFIX)


def _message(event: Any) -> Message:
    m = event.message
    raw = m.headers.items() if isinstance(m.headers, dict) else (m.headers or ())
    headers = tuple((str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in raw)
    return Message(m.topic, m.partition, m.offset, m.key, m.value, headers)


async def _in_thread(fn: Any, *args: Any) -> None:
    """Run ``fn`` in the database thread (the worker is built there on first use, migrations and all)."""
    try:
        await asyncio.get_running_loop().run_in_executor(_executor, fn, *args)
    except Exception as exc:  # any failure here ends the process, on purpose
        _stop_for_restart(exc)


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
    """Link and record each notification, a batch at a time."""
    async for events in stream.take_events(settings.matching_batch_size, within=settings.matching_batch_wait_s):
        await _in_thread(lambda batch: matching_worker().handle_batch(batch), [_message(e) for e in events])


@app.agent(retries)
async def retry_notifications(stream: faust.StreamT[bytes]) -> None:
    """Process again, when due, what failed for a passing reason."""
    async for event in stream.events():
        await _in_thread(lambda message: matching_worker().handle_retry(message), _message(event))


@app.on_partitions_assigned.connect  # type: ignore[arg-type]  # faust types a sync receiver
async def _reload_indexes(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
    # Another worker may have written to the register while it held these partitions.
    await _in_thread(lambda: matching_worker().pipeline.forget_indexes())

"""The process beside faust's where a matching worker links and records its batches.

faust's event loop, its consumer thread and the producer's sender share one interpreter lock with
whatever runs beside them. Linking and recording held that lock for most of each batch, so the
loop's own work per message waited behind it, and the batch waited behind the loop's: one worker
used about 0.7 of a core and fell behind at 500 notifications a second. In a process of its own
the batch step has a core to itself, and the stream's next batch is gathered while this one is
recorded. What a batch publishes (decisions, register changes, retries, dead letters) goes back to
the worker's own process, which sends it, waits for the broker and only then acks the batch.

Everything here runs in that one process, one call at a time, in the order faust submitted them,
which keeps each authority's notifications in order. The process dies with its parent (Linux) and
leaves Ctrl-C and SIGTERM to it: the parent decides when to stop.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
from collections.abc import Callable
from functools import cache

from schemas.codec import default_codec
from services.logs import configure_logging
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import NotificationPipeline
from services.matching.worker import CollectingPublisher, MatchingWorker, Message, Outgoing
from services.register.database import migrate as migrate_register
from services.register.unit_of_work import unit_of_work_factory
from services.settings import get_settings

_PR_SET_PDEATHSIG = 1


def start(parent: int) -> None:
    """The process's first step: stop with ``parent`` and leave its signals to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    configure_logging(get_settings().log_level)
    # No collection in the middle of a step: _settle_heap collects after each one, which is all the
    # collector needs to do here (a step leaves at most a batch's worth of cycles).
    gc.disable()


_outgoing = CollectingPublisher()  # published by the worker's own process, which acks only once it has


@cache
def matching_worker() -> MatchingWorker:
    """The process's worker, built on first use: migrations and the register."""
    settings = get_settings()
    migrate_register(settings.register_url)
    migrate_matching(settings.register_url)
    pipeline = NotificationPipeline(unit_of_work_factory(settings.register_url))
    # A register index is hundreds of thousands of long-lived objects: frozen as soon as it is loaded,
    # the collection that ends the loading step (_settle_heap) does not walk them all once more
    # (seconds over 100,000 children).
    pipeline.after_index_load = gc.freeze
    return MatchingWorker(pipeline, default_codec(), _outgoing, topic_prefix=settings.topic_prefix)


def handle_batch(batch: list[Message]) -> list[Outgoing]:
    """Link and record a batch; returns, once the register has committed, what to publish about it."""
    return _publishing(lambda: matching_worker().handle_batch(batch))


def handle_retry(message: Message) -> list[Outgoing]:
    """A message from the retry topic, once due; returns what to publish about it."""
    return _publishing(lambda: matching_worker().handle_retry(message))


def _publishing(step: Callable[[], None]) -> list[Outgoing]:
    """What ``step`` sent; a step that raises leaves nothing behind for the next one to publish."""
    try:
        step()
    finally:
        outgoing = _outgoing.take()
    _settle_heap()
    return outgoing


def _settle_heap() -> None:
    """After each step: collect the cycles it left, then freeze what survived.

    What survives a batch is mostly the index's entries for the children it added. Left in the
    collector's sight, the register's growing index was walked again by every full collection: in
    the batch step over 6,000 new children, eleven of them took 1.2 to 2.1 s in all, up to 0.6 s
    each, a fifth of the step's CPU and a stall of the stream each time. Frozen, it is not walked
    again; this collection walks only what the step made. With the collector otherwise off (see
    :func:`start`), the step's young collections go too: 0.28 s to 0.08 s over those 6,000. Frozen
    objects are still freed when no longer referenced; only a cycle among them waits for
    :func:`forget_indexes`.
    """
    gc.collect()
    gc.freeze()


def forget_indexes() -> None:
    """After a rebalance: another worker may have written to the register meanwhile."""
    matching_worker().pipeline.forget_indexes()
    gc.unfreeze()  # the old indexes, and any cycle frozen with them, can go; the reloaded ones are frozen
    gc.collect()

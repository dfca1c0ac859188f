"""faust's aiokafka transport, with the worker's consumer fetching in fewer, fuller requests.

faust builds its aiokafka consumer with ``fetch_min_bytes=1``: the broker answers a fetch as soon
as one message is there, so at a steady few hundred notifications a second the worker sends a fetch
request for each few messages. Each of them is encoded and decoded in Python for every partition the
worker holds, and that cost more CPU than the notifications themselves (measured in the latency
phase of ``bench/bench_end_to_end.py``). Asking the broker to wait for ``fetch_min_bytes``, or at most
``fetch_max_wait_ms``, makes fetches full under load, and adds at most that wait when little comes.
faust offers neither setting, so this transport sets them on the consumer it builds.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from services.settings import get_settings


def tune_fetching(consumer: Any, fetch_min_bytes: int, fetch_max_wait_ms: int) -> Any:
    """Set a not yet started ``AIOKafkaConsumer``'s fetch sizing (read when it starts its fetcher)."""
    if not hasattr(consumer, "_fetch_min_bytes") or not hasattr(consumer, "_fetch_max_wait_ms"):
        raise RuntimeError("this aiokafka's consumer keeps its fetch settings elsewhere; update tune_fetching")
    consumer._fetch_min_bytes = fetch_min_bytes
    consumer._fetch_max_wait_ms = fetch_max_wait_ms
    return consumer


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        settings = get_settings()
        return tune_fetching(super()._create_worker_consumer(transport),
                             settings.matching_fetch_min_bytes, settings.matching_fetch_max_wait_ms)


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """faust's ``kafka://`` transport, whose consumer fetches as the settings say."""

    Consumer = _Consumer


class App(faust.App):
    """A faust app on :class:`Transport`."""

    def _new_transport(self) -> Any:
        return Transport(self.conf.broker_consumer, self)

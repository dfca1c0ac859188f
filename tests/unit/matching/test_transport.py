"""The matching worker's consumer fetches as the settings say, not one message at a time as faust's does."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from services.matching.transport import App, tune_fetching
from services.settings import get_settings


def _worker_consumer(app: App) -> AIOKafkaConsumer:
    async def build() -> AIOKafkaConsumer:  # aiokafka takes the running loop when a consumer is made
        consumer = app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        assert isinstance(consumer, AIOKafkaConsumer)
        return consumer

    return asyncio.run(build())


def test_the_worker_consumer_waits_for_fuller_fetches(tmp_path: Path) -> None:
    app = App("cmehub-test-transport", broker="kafka://127.0.0.1:9", datadir=str(tmp_path))
    consumer = _worker_consumer(app)
    settings = get_settings()
    assert consumer._fetch_min_bytes == settings.matching_fetch_min_bytes > 1
    assert consumer._fetch_max_wait_ms == settings.matching_fetch_max_wait_ms < 1500  # faust's own wait


def test_the_consumer_hands_the_settings_to_its_fetcher_when_it_starts() -> None:
    # tune_fetching sets attributes the consumer reads only in start(); an aiokafka that stopped
    # reading them there would silently undo the tuning.
    started = inspect.getsource(AIOKafkaConsumer.start)
    assert "fetch_min_bytes=self._fetch_min_bytes" in started
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in started


def test_a_consumer_without_those_settings_is_refused() -> None:
    with pytest.raises(RuntimeError, match="update tune_fetching"):
        tune_fetching(object(), 1024, 10)

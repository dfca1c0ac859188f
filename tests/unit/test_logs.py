"""Logging set-up: the Kafka clients never log a message's contents."""

from __future__ import annotations

import logging

from connectors.common.producer import RDKAFKA_LOG, producer_config
from services.logs import configure_logging


def test_kafka_client_debug_lines_are_off_even_when_the_root_logger_allows_them() -> None:
    root = logging.getLogger()
    before = root.level
    try:
        root.setLevel(logging.DEBUG)  # as a framework's --loglevel debug would
        configure_logging("DEBUG")
        for name in ("kafka.producer.kafka", "kafka.consumer.fetcher", "aiokafka.producer"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
            assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    finally:
        root.setLevel(before)


def test_librdkafka_retries_stay_quiet_and_its_errors_show() -> None:
    assert producer_config("127.0.0.1:1", "test")["logger"] is RDKAFKA_LOG
    root = logging.getLogger()
    before = root.level
    try:
        root.setLevel(logging.DEBUG)
        configure_logging("DEBUG")
        assert not RDKAFKA_LOG.isEnabledFor(logging.WARNING)  # "Failed to acquire idempotence PID …: retrying"
        assert RDKAFKA_LOG.isEnabledFor(logging.ERROR)
    finally:
        root.setLevel(before)

"""Logging set-up: the Kafka clients never log a message's contents."""

from __future__ import annotations

import logging

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

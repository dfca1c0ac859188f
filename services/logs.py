"""Structured logs for every process of the hub: key=value lines, filtered by ``CMEHUB_LOG_LEVEL``.

Log lines carry ids, counts and reasons, never a child's details (names, birth dates, addresses,
identifiers): callers pass only such fields.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO") -> None:
    """Send structlog's lines to stderr, dropping those below ``level``."""
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(numeric if isinstance(numeric, int) else logging.INFO),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    quiet_kafka_clients()


def quiet_kafka_clients() -> None:
    """Keep the Kafka clients' own loggers at WARNING, whatever the root logger allows.

    Their debug lines quote every message's key and value (a child's details, in Avro) and cost a log
    record per message sent even when no handler prints them (faust sets the root logger's level).
    """
    for name in ("kafka", "aiokafka"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))

"""Fixtures shared by every layer of tests.

Integration tests use the real Kafka broker and the real PostgreSQL server that ``make test``
starts (``deploy/kafka/start.sh``, ``deploy/postgres/start.sh``). When either is absent the test
fails loudly with the command to start it; it never skips.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

FIXTURES = Path(__file__).parent / "fixtures"

KAFKA_BOOTSTRAP = os.environ.get("CMEHUB_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
POSTGRES_URL = os.environ.get(
    "CMEHUB_TEST_DATABASE_URL", "postgresql+psycopg://cmehub@127.0.0.1:15432/cmehub"
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The bootstrap address of the real broker; fails the test when it is not running.

    Every topic the session creates is deleted when it ends (``CMEHUB_TEST_KEEP_TOPICS=1`` keeps
    them for a post-mortem), so a long-lived broker does not pile up thousands of partitions that
    it must load at its next start.
    """
    host, _, port = KAFKA_BOOTSTRAP.rpartition(":")
    if not _reachable(host, int(port)):
        pytest.fail(
            f"Kafka is not reachable at {KAFKA_BOOTSTRAP}: start it with deploy/kafka/start.sh "
            "(or run the whole suite with `make test`)",
            pytrace=False,
        )
    before = _topics(KAFKA_BOOTSTRAP)
    yield KAFKA_BOOTSTRAP
    if os.environ.get("CMEHUB_TEST_KEEP_TOPICS") != "1" and _reachable(host, int(port)):
        _delete_topics(KAFKA_BOOTSTRAP, _topics(KAFKA_BOOTSTRAP) - before)


def _topics(bootstrap: str) -> set[str]:
    from kafka import KafkaAdminClient  # imported late: unit-only runs never need it

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="cmehub-tests")
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def _delete_topics(bootstrap: str, topics: set[str]) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="cmehub-tests")
    try:
        names = sorted(topics)
        for start in range(0, len(names), 200):
            # A test may have deleted one of its own topics already: errors are not raised.
            admin.delete_topics(names[start:start + 200], timeout_ms=60_000, raise_errors=False)
    finally:
        admin.close()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The URL of the real PostgreSQL server's maintenance database; fails when it is down."""
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {engine.url.render_as_string(hide_password=True)}: "
            f"start it with deploy/postgres/start.sh (or run `make test`): {exc.orig}",
            pytrace=False,
        )
    finally:
        engine.dispose()
    return POSTGRES_URL


@contextlib.contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """The URL of a new, empty database ``name`` on the server, dropped on leaving."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    with scratch_database(postgres_server_url, f"t_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def topic_name() -> str:
    """A topic name no other test uses."""
    return f"test.{uuid.uuid4().hex[:12]}"

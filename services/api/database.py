"""The API's database: engines and sessions on the register's URL, and the API's own migrations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.engine import Engine

from services.register.database import make_engine, upgrade_schema

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_api"


PING_AFTER_IDLE_S = 5.0


def api_engine(url: str, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """The API's engine: on PostgreSQL a pooled connection is pinged only after sitting idle.

    A ping on every checkout (``pool_pre_ping``) costs a round trip per enquiry under load, when
    connections are seconds old at most; one idle for longer than ``PING_AFTER_IDLE_S`` is still
    checked, so a database restart between bursts is noticed before a request uses the connection.
    A restart in the middle of a burst fails the requests in flight with 503, and the pool is
    then renewed.
    """
    if sa.make_url(url).get_backend_name() == "sqlite":
        return make_engine(url)
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=max_overflow)

    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) > PING_AFTER_IDLE_S:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:  # the pool drops this connection and checks out another
                raise sa.exc.DisconnectionError(f"stale pooled connection: {type(exc).__name__}") from exc

    return engine


class ApiDatabaseError(RuntimeError):
    """The API's tables cannot be reached or migrated."""


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(url_or_engine: str | Engine, revision: str = "head") -> str:
    """Bring the API's tables to ``revision``; returns the revision reached."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        upgrade_schema(engine, MIGRATIONS, revision, what="the API tables", error=ApiDatabaseError)
        return current_revision(engine) or ""
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The API schema's revision in the database (None when never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def head_revision() -> str:
    """The latest API migration shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head() or ""

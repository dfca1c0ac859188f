"""Engines, sessions and migrations of the register, from one SQLAlchemy URL.

PostgreSQL in production and tests (``postgresql+psycopg://…``), SQLite for the zero-setup demo;
the same Alembic migrations run on both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class RegisterDatabaseError(RuntimeError):
    """The register's database cannot be reached or is not at the expected schema version."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys enforce the cascades the domain relies on; WAL lets the API read while the
    # matcher writes; a busy timeout rides out the short write locks of the other process.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and the pragmas above."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # No autoflush: the repository writes domain objects back on commit (or an explicit flush).
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def _alembic_config(migrations: Path = MIGRATIONS) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    return cfg


def upgrade_schema(url_or_engine: str | Engine, migrations: Path, revision: str = "head", *,
                   what: str = "the register", error: type[Exception] = RegisterDatabaseError) -> None:
    """Run one Alembic history (the register's, or a part's own beside it) up to ``revision``.

    Each history's ``env.py`` reads the connection from ``config.attributes["connection"]``.
    """
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    cfg = _alembic_config(migrations)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Workers starting together would race to create the same tables: one at a time, the
                # others then find the schema at its head. The lock ends with this transaction.
                conn.execute(sa.text("select pg_advisory_xact_lock(hashtext('cmehub-migrations'))"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except sa.exc.OperationalError as exc:
        raise error(f"cannot migrate {what} at {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from exc
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def migrate(url_or_engine: str | Engine, revision: str = "head") -> str:
    """Bring the register's schema to ``revision`` (default: the latest); returns the revision reached."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        upgrade_schema(engine, MIGRATIONS, revision)
        return current_revision(engine) or ""
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def head_revision() -> str:
    """The latest migration shipped with this code."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    return head or ""


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()

"""The API's database: engines and sessions on the register's URL, and the API's own migrations."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from services.register.database import make_engine, upgrade_schema

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_api"


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

"""The console's table (``console_user``) under its own Alembic history (``alembic_version_console``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from services.register.database import upgrade_schema

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_console"


class ConsoleDatabaseError(RuntimeError):
    """The console's table cannot be reached or migrated."""


def migrate(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the console's table to ``revision`` (default: the latest)."""
    upgrade_schema(url_or_engine, MIGRATIONS, revision, what="the console's table", error=ConsoleDatabaseError)

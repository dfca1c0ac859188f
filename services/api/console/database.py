"""The console's table (``console_user``) under its own Alembic history (``alembic_version_console``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from services.register.database import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_console"


class ConsoleDatabaseError(RuntimeError):
    """The console's table cannot be reached or migrated."""


def migrate(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the console's table to ``revision`` (default: the latest)."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except sa.exc.OperationalError as exc:
        raise ConsoleDatabaseError(
            f"cannot migrate the console's table at {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
        ) from exc
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()

"""Migrations of the matcher's tables (their own Alembic history beside the register's)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from services.register.database import RegisterDatabaseError, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the matcher's tables to ``revision`` (default: the latest)."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except sa.exc.OperationalError as exc:
        raise RegisterDatabaseError(
            f"cannot migrate the matcher's tables at {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
        ) from exc
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()

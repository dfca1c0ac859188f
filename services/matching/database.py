"""Migrations of the matcher's tables (their own Alembic history beside the register's)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from services.register.database import upgrade_schema

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the matcher's tables to ``revision`` (default: the latest)."""
    upgrade_schema(url_or_engine, MIGRATIONS, revision, what="the matcher's tables")

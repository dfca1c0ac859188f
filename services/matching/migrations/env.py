"""Alembic environment of the matcher's tables: run through ``services.matching.database.migrate``."""

from __future__ import annotations

from alembic import context

from services.matching.store import MatchingBase

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise SystemExit("the matcher's migrations run online, through services.matching.database.migrate")
context.configure(
    connection=connection,
    target_metadata=MatchingBase.metadata,
    render_as_batch=True,
    version_table="alembic_version_matching",
)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment of the console's table: run through ``services.api.console.database.migrate``."""

from __future__ import annotations

from alembic import context

from services.api.console.database import VERSION_TABLE
from services.api.console.users import ConsoleBase

config = context.config
target_metadata = ConsoleBase.metadata


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Other parts' tables share the database; autogenerate must only look at ours.
    return not (type_ == "table" and name is not None and not name.startswith("console_"))


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise SystemExit("the console's migrations run through services.api.console.database.migrate")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      version_table=VERSION_TABLE, include_object=_include)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the console's migrations run online only (services.api.console.database.migrate)")
run_migrations_online()

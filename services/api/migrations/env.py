"""Alembic environment of the API's tables: run through ``services.api.database.migrate``."""

from __future__ import annotations

from alembic import context

from services.api.database import VERSION_TABLE
from services.api.store import ApiBase

config = context.config
target_metadata = ApiBase.metadata


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # The register's tables share the database; autogenerate must only look at ours.
    return not (type_ == "table" and name is not None and not name.startswith("api_"))


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise SystemExit("the API's migrations run through services.api.database.migrate")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      version_table=VERSION_TABLE, include_object=_include)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the API's migrations run online only (services.api.database.migrate)")
run_migrations_online()

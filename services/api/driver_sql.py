"""Hot statements run on psycopg's own connection, compiled once from their SQLAlchemy form.

An enquiry reads two or three rows and commits two inserts; through SQLAlchemy's execution layer each
statement cost about 0.15 ms of CPU on top of the driver's own, a fifth of an enquiry's CPU in all.
These helpers keep the statements written as SQLAlchemy constructs (one definition, checked by the
same tests) and hand the compiled SQL straight to the driver. PostgreSQL only: on SQLite (the demo)
callers keep the SQLAlchemy path.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Json
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = postgresql.psycopg.dialect()


@contextlib.contextmanager
def driver(conn: sa.Connection) -> Iterator[Any]:
    """The psycopg connection under a SQLAlchemy one (same transaction, same isolation level).

    psycopg's errors come out as SQLAlchemy's, as they would from ``conn.execute`` (the API answers
    those 503 or 422), without the statement's parameters; a connection the error broke is invalidated,
    so the pool does not hand it out again.
    """
    raw: Any = conn.connection.driver_connection
    try:
        yield raw
    except psycopg.Error as exc:
        broken = bool(raw.broken or raw.closed)
        if broken:
            conn.invalidate()
        raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error, hide_parameters=True,
                                         connection_invalidated=broken) from exc


class DriverStatement:
    """A SQLAlchemy statement compiled for psycopg once, run with the caller's parameters."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        # Expanding parameters (IN lists) are rendered into the SQL; the caller's own parameters, given a
        # stand-in value to compile with, stay placeholders.
        compiled = cast(SQLCompiler, cast(sa.ClauseElement, statement).compile(dialect=_DIALECT))
        asked = [name for name, bind in compiled.binds.items() if bind.required]
        expanded = compiled.construct_expanded_state({name: "" for name in asked})
        self.sql = expanded.statement
        self.fixed = {k: v for k, v in expanded.parameters.items() if k not in asked}

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters to send with :attr:`sql`: the statement's own and the caller's."""
        return {**self.fixed, **given}

    def first(self, conn: sa.Connection | Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, as a tuple (None when there is none); through SQLAlchemy when not on PostgreSQL."""
        if not (isinstance(conn, sa.Connection) and conn.dialect.name == "postgresql"):  # a session, SQLite
            found = conn.execute(self.statement, params).first()
            return tuple(found) if found is not None else None
        with driver(conn) as raw:
            row: tuple[Any, ...] | None = raw.execute(self.sql, self.params(params)).fetchone()
        return row


# Column types the driver adapts exactly as SQLAlchemy would (JSON is wrapped, the rest pass as they are).
_PLAIN = (sa.String, sa.Integer, sa.Float, sa.Boolean, sa.Date, sa.DateTime)


@functools.lru_cache(maxsize=32)
def inserter(table: sa.Table, keys: tuple[str, ...]
             ) -> tuple[str, Callable[[Mapping[str, Any]], dict[str, Any]]] | None:
    """The INSERT of ``keys`` into ``table`` and the adapter of a row's values; None when a column needs
    SQLAlchemy's own processing (the caller then uses it)."""
    columns = [table.c[k] for k in keys]
    if not all(isinstance(c.type, (sa.JSON, *_PLAIN)) for c in columns):
        return None
    json_keys = tuple(c.key for c in columns if isinstance(c.type, sa.JSON))
    names = ", ".join(f'"{k}"' for k in keys)
    sql = f'insert into "{table.name}" ({names}) values ({", ".join(f"%({k})s" for k in keys)})'

    def adapt(values: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(values)
        for key in json_keys:
            out[key] = Json(out[key])  # None as JSON null, as SQLAlchemy's JSON type stores it
        return out

    return sql, adapt


def planned_inserts(by_table: Mapping[sa.Table, Sequence[Mapping[str, Any]]]
                    ) -> list[tuple[str, list[dict[str, Any]]]] | None:
    """Each INSERT with its adapted rows, for ``cursor.executemany``; None when a table needs SQLAlchemy."""
    plans = []
    for table, rows in by_table.items():
        by_keys: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
        for row in rows:
            by_keys.setdefault(tuple(row), []).append(row)
        for keys, group in by_keys.items():
            plan = inserter(table, keys)
            if plan is None:
                return None
            sql, adapt = plan
            plans.append((sql, [adapt(row) for row in group]))
    return plans

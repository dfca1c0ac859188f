"""``column IN (values)`` written so that PostgreSQL sees one statement whatever the number of values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import QueryableAttribute, Session

Column = sa.ColumnElement[Any] | QueryableAttribute[Any]


def among(column: Column, values: Iterable[Any], session: Session) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values``: ``= ANY(array)`` when ``session`` is on PostgreSQL, an IN list elsewhere.

    An IN list of 200 ids is a statement of its own for every batch: SQLAlchemy expands it, psycopg
    converts the long text again (it caches only short ones) and the server parses and plans it.
    With the values as one array parameter the text never changes, so each of them does that once.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))

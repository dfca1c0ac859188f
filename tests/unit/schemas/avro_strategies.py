"""Hypothesis strategies that draw any record an Avro schema (standalone JSON form) allows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=-5))])


def _timestamps() -> st.SearchStrategy[dt.datetime]:
    # Avro keeps milliseconds; any zone is fine (aware datetimes compare by instant).
    millis = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 .. 2100
    return st.builds(lambda ms, tz: (_EPOCH + dt.timedelta(milliseconds=ms)).astimezone(tz), millis, _ZONES)


def _primitive(kind: str) -> st.SearchStrategy[Any]:
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(min_value=-(2**31), max_value=2**31 - 1),
        "long": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "float": st.floats(allow_nan=False, width=32),
        "double": st.floats(allow_nan=False),
        "string": st.text(max_size=30),
        "bytes": st.binary(max_size=60),
    }[kind]


def from_schema(schema: Any, named: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """A strategy for values of ``schema``."""
    named = {} if named is None else named
    if isinstance(schema, list):
        return st.one_of([from_schema(branch, named) for branch in schema])
    if isinstance(schema, str):
        if schema in named:
            return st.deferred(lambda: from_schema(named[schema], named))
        return _primitive(schema)
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        full = schema["name"] if "." in schema["name"] else f"{schema.get('namespace', 'cmehub')}.{schema['name']}"
        named[full] = schema
        named[schema["name"]] = schema
    logical = schema.get("logicalType")
    if logical == "date":
        return st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
    if logical == "timestamp-millis":
        return _timestamps()
    if kind == "record":
        fields = {f["name"]: from_schema(f["type"], named) for f in schema["fields"]}
        return st.fixed_dictionaries(fields)
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(from_schema(schema["items"], named), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=8), from_schema(schema["values"], named), max_size=3)
    return from_schema(kind, named)

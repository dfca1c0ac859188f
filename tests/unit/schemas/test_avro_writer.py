"""The generated Avro writer writes fastavro's bytes, byte for byte, or hands the record to fastavro."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.avro_writer import NotCompiled, compile_writer, write_long
from schemas.codec import Codec, EncodeError
from schemas.events import EVENT_TYPES, encodable_names, schema_for, schema_json
from schemas.examples import example_event, example_quarantine
from tests.unit.schemas.avro_strategies import from_schema

CODEC = Codec()
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fastavro(name: str, record: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema_for(name), record)
    return buffer.getvalue()


@pytest.mark.parametrize("name", encodable_names())
def test_every_schema_compiles_to_a_writer_of_fastavros_bytes(name: str) -> None:
    record = example_quarantine() if name == "QuarantineRecord" else example_event(name)
    assert compile_writer(schema_for(name))(record) == _fastavro(name, record)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_any_record_a_schema_allows_is_written_as_fastavro_writes_it(event_type: str) -> None:
    write = compile_writer(schema_for(event_type))

    @PROPERTY
    @given(event=from_schema(schema_json(event_type)))
    def check(event: dict[str, Any]) -> None:
        assert write(event) == _fastavro(event_type, event)

    check()


@given(n=st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_longs_are_zig_zag_varints(n: int) -> None:
    out = bytearray()
    write_long(n, out)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, "long", n)
    assert bytes(out) == buffer.getvalue()


@given(
    instant=st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1),
                         timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-7, minutes=-30))]))
)
def test_timestamps_with_microseconds_and_before_1970_truncate_as_fastavro_does(instant: dt.datetime) -> None:
    event = {**example_event("school.deletion_return"), "occurred_at": instant}
    assert compile_writer(schema_for("school.deletion_return"))(event) == _fastavro("school.deletion_return", event)


def test_a_record_missing_optional_fields_takes_their_defaults() -> None:
    event = example_event("school.deletion_return")
    child = {k: v for k, v in event["child"].items() if k not in ("middle_names", "former_surnames", "sex")}
    sparse = {**event, "child": child}
    assert compile_writer(schema_for("school.deletion_return"))(sparse) == _fastavro("school.deletion_return", sparse)


@pytest.mark.parametrize(
    "change",
    [
        {"occurred_at": dt.datetime(2025, 10, 3, 9, 0)},  # naive: fastavro reads it in the local zone
        {"child": ("cmehub.ChildIdentity", example_event("school.deletion_return")["child"])},  # tuple notation
        {"schema_version": True},  # a bool where an int goes
    ],
    ids=["naive datetime", "tuple notation", "bool for int"],
)
def test_values_it_does_not_expect_are_left_to_fastavro(change: dict[str, Any]) -> None:
    event = {**example_event("school.deletion_return"), **change}
    with pytest.raises(NotCompiled):
        compile_writer(schema_for("school.deletion_return"))(event)
    assert CODEC.encode(event)[10:] == _fastavro("school.deletion_return", event)


def test_a_record_that_does_not_fit_its_schema_still_says_why() -> None:
    event = {**example_event("school.deletion_return"), "responsible_la": 383}
    with pytest.raises(EncodeError, match="responsible_la"):
        CODEC.encode(event)


def test_an_unknown_enum_symbol_is_refused_not_written() -> None:
    event = example_event("school.deletion_return")
    event = {**event, "child": {**event["child"], "sex": "X"}}
    with pytest.raises(EncodeError, match="sex"):
        CODEC.encode(event)

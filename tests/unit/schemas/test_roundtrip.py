"""Property: every record any event schema allows survives encode then decode unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import Codec
from schemas.events import EVENT_TYPES, schema_json, validate
from tests.unit.schemas.avro_strategies import from_schema

CODEC = Codec()
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _events(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    # event_type is a plain string in Avro; the codec picks the schema from it, so pin it.
    return from_schema(schema_json(event_type)).map(lambda e: {**e, "event_type": event_type})


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_round_trip(event_type: str) -> None:
    @PROPERTY
    @given(event=_events(event_type))
    def check(event: dict[str, Any]) -> None:
        data = CODEC.encode(event)
        assert data[:2] == b"\xc3\x01"
        assert CODEC.decode_named(data) == (event_type, event)
        # validate() never crashes, and a type error never hides among domain findings.
        problems = validate(event)
        assert all(isinstance(p, str) and p for p in problems)
        assert not any("expected" in p or "missing (required)" in p or "Avro type" in p for p in problems)

    check()


@PROPERTY
@given(record=from_schema(schema_json("QuarantineRecord")))
def test_quarantine_round_trip(record: dict[str, Any]) -> None:
    assert CODEC.decode_named(CODEC.encode(record, "QuarantineRecord")) == ("QuarantineRecord", record)


@PROPERTY
@given(data=st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    from schemas.codec import UndecodableMessage

    try:
        CODEC.decode(data, topic="fuzz", partition=0, offset=0)
    except UndecodableMessage as exc:
        assert exc.reason


@PROPERTY
@given(event=_events("school.deletion_return"), cut=st.integers(min_value=1, max_value=400))
def test_corrupted_messages_are_reported_not_crashed_on(event: dict[str, Any], cut: int) -> None:
    from schemas.codec import UndecodableMessage

    data = CODEC.encode(event)
    broken = data[: max(10, len(data) - cut)] if cut % 2 else data[:10] + bytes([255]) * 5 + data[15:]
    try:
        CODEC.decode(broken, topic="fuzz", partition=1, offset=cut)
    except UndecodableMessage as exc:
        assert (exc.topic, exc.partition, exc.offset) == ("fuzz", 1, cut)

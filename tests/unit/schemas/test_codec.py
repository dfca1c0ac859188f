"""The codec: single-object framing, Confluent framing via a registry, and typed decode errors."""

from __future__ import annotations

import json
from io import BytesIO

import fastavro
import pytest
from faust.serializers import codecs as faust_codecs

from schemas import events as E
from schemas.codec import Codec, EncodeError, UndecodableMessage, default_codec, schema_fingerprint
from schemas.examples import example_event, example_quarantine
from schemas.faust_codec import AVRO_CODEC_NAME, AvroEventCodec
from schemas.registry import SchemaRegistryClient, SchemaRegistryError
from tests.unit.schemas.registry_stub import running_registry

_EMPTY = 0xC15D213AA4D7A795


def _crc64_avro(data: bytes) -> int:
    """The Avro specification's reference CRC-64-AVRO, written out independently of fastavro."""
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_fingerprint_is_little_endian_crc64_of_canonical_form() -> None:
    assert schema_fingerprint({"type": "string"}) == _crc64_avro(b'"string"').to_bytes(8, "little")
    schema = E.schema_json("school.deletion_return")
    canonical = fastavro.schema.to_parsing_canonical_form(schema).encode()
    assert schema_fingerprint(schema) == _crc64_avro(canonical).to_bytes(8, "little")


def test_single_object_framing() -> None:
    event = example_event("school.deletion_return")
    data = Codec().encode(event)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == schema_fingerprint(E.schema_json("school.deletion_return"))
    # The body is plain Avro binary of the current schema.
    assert fastavro.schemaless_reader(BytesIO(data[10:]), E.schema_for("school.deletion_return")) == event


@pytest.mark.parametrize("event_type", E.EVENT_TYPES)
def test_round_trip_of_every_example(event_type: str) -> None:
    codec = Codec()
    event = example_event(event_type)
    assert codec.decode_named(codec.encode(event)) == (event_type, event)


def test_quarantine_record_round_trip() -> None:
    codec = Codec()
    record = example_quarantine()
    assert codec.decode_named(codec.encode(record, "QuarantineRecord")) == ("QuarantineRecord", record)


def test_encode_error_lists_problems() -> None:
    event = example_event("school.deletion_return")
    event["deletion_date"] = "yesterday"
    with pytest.raises(EncodeError) as info:
        Codec().encode(event)
    assert info.value.problems == ["deletion_date: expected a date, got 'yesterday' (str)"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty message"),
        (b"\xc3\x01\x00", "single-object header cut short"),
        (b'{"json": true}', "unknown header"),
        (b"\xc3\x01" + b"\xff" * 8 + b"body", "no known schema has fingerprint ffffffffffffffff"),
        (b"\x00\x00\x00\x00\x07body", "no schema registry is configured"),
    ],
)
def test_undecodable_messages_name_topic_partition_offset_and_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UndecodableMessage) as info:
        Codec().decode(data, topic="cme.notifications.school", partition=2, offset=41)
    err = info.value
    assert (err.topic, err.partition, err.offset) == ("cme.notifications.school", 2, 41)
    assert reason in err.reason
    assert str(err).startswith("undecodable message at topic cme.notifications.school partition 2 offset 41: ")


def test_truncated_and_padded_bodies_are_reported() -> None:
    codec = Codec()
    data = codec.encode(example_event("police.found"))
    with pytest.raises(UndecodableMessage, match=r"body does not match schema police\.found"):
        codec.decode(data[:-4])
    with pytest.raises(UndecodableMessage, match=r"2 byte\(s\) left over after a police\.found record"):
        codec.decode(data + b"\x00\x00")


def test_confluent_framing_with_a_registry() -> None:
    event = example_event("school.deletion_return")
    with running_registry() as (url, state):
        client = SchemaRegistryClient(url)
        codec = Codec(client)
        data = codec.encode(event)
        assert data[0] == 0
        schema_id = int.from_bytes(data[1:5], "big")
        assert state.subjects == {"cmehub.SchoolDeletionReturn": [schema_id]}
        codec.encode(event)  # cached: no second registration
        assert state.calls.count("POST /subjects/cmehub.SchoolDeletionReturn/versions") == 1
        # A fresh reader fetches the writer schema by id, once.
        reader = Codec(SchemaRegistryClient(url))
        assert reader.decode(data) == event
        assert reader.decode(data) == event
        assert state.calls.count(f"GET /schemas/ids/{schema_id}") == 1
        # It still reads single-object messages.
        assert reader.decode(Codec().encode(event)) == event
        with pytest.raises(UndecodableMessage, match=r"schema id 99: .*404"):
            reader.decode(b"\x00\x00\x00\x00\x63" + data[5:], topic="t", partition=0, offset=1)
        assert client.subjects() == ["cmehub.SchoolDeletionReturn"]


def test_confluent_message_of_a_foreign_record_is_reported() -> None:
    with running_registry() as (url, state):
        foreign = {
            "type": "record",
            "name": "Other",
            "namespace": "elsewhere",
            "fields": [{"name": "x", "type": "int"}],
        }
        schema_id = state.register("elsewhere.Other", json.dumps(foreign))
        with pytest.raises(UndecodableMessage, match=r"elsewhere\.Other, which is not a hub record"):
            Codec(SchemaRegistryClient(url)).decode(b"\x00" + schema_id.to_bytes(4, "big") + b"\x02")


def test_registry_unreachable_is_a_typed_error() -> None:
    codec = Codec(SchemaRegistryClient("http://127.0.0.1:9", timeout=1))
    with pytest.raises(SchemaRegistryError, match="unreachable"):
        codec.encode(example_event("police.found"))


def test_default_codec_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import schemas.codec as codec_module

    with running_registry() as (url, _state):
        monkeypatch.setattr(codec_module, "_default", None)
        monkeypatch.setenv("CMEHUB_SCHEMA_REGISTRY_URL", url)
        assert default_codec().encode(example_event("police.found"))[0] == 0
        monkeypatch.setattr(codec_module, "_default", None)
        monkeypatch.delenv("CMEHUB_SCHEMA_REGISTRY_URL")
        assert default_codec().encode(example_event("police.found"))[:2] == b"\xc3\x01"


def test_faust_codec_is_registered_and_round_trips() -> None:
    codec = faust_codecs.get_codec(AVRO_CODEC_NAME)
    assert isinstance(codec, AvroEventCodec)
    event = example_event("border.arrival")
    data = faust_codecs.dumps(AVRO_CODEC_NAME, event)
    assert data[:2] == b"\xc3\x01"
    assert faust_codecs.loads(AVRO_CODEC_NAME, data) == event
    with pytest.raises(UndecodableMessage):
        faust_codecs.loads(AVRO_CODEC_NAME, b"garbage")


def test_confluent_message_written_with_an_older_schema_is_resolved() -> None:
    older = E.schema_json("school.deletion_return")
    older["fields"] = [f for f in older["fields"] if f["name"] != "safeguarding_concern"]
    event = example_event("school.deletion_return")
    old_event = {k: v for k, v in event.items() if k != "safeguarding_concern"}
    with running_registry() as (url, state):
        schema_id = state.register("cmehub.SchoolDeletionReturn", json.dumps(older))
        body = BytesIO()
        fastavro.schemaless_writer(body, fastavro.parse_schema(older), old_event)
        data = b"\x00" + schema_id.to_bytes(4, "big") + body.getvalue()
        codec = Codec(SchemaRegistryClient(url))
        assert codec.decode(data) == {**old_event, "safeguarding_concern": False}
        with pytest.raises(UndecodableMessage, match=r"registry schema 00000001"):
            codec.decode(data[:-3], topic="t", partition=0, offset=9)


def test_faust_serializer_pipeline_uses_the_codec() -> None:
    import faust
    from faust.exceptions import ValueDecodeError

    app = faust.App("cmehub-codec-test", broker="memory://", store="memory://")
    event = example_event("police.missing_episode")
    data = app.serializers.dumps_value(None, event, serializer=AVRO_CODEC_NAME)
    assert data is not None and data[:2] == b"\xc3\x01"
    assert app.serializers.loads_value(None, data, serializer=AVRO_CODEC_NAME) == event
    with pytest.raises(ValueDecodeError, match="undecodable message"):
        app.serializers.loads_value(None, b"\x01\x02", serializer=AVRO_CODEC_NAME)

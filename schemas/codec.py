"""The codec every producer and consumer uses: events (dicts) to Kafka message bytes and back.

Writes Avro single-object encoding (``C3 01`` + the 8-byte little-endian CRC-64-AVRO fingerprint of
the schema's Parsing Canonical Form + the Avro body) unless a schema registry is configured
(``CMEHUB_SCHEMA_REGISTRY_URL``), when it writes the Confluent wire format (``00`` + 4-byte
big-endian schema id + body; subject = the record's full name). It reads both, resolving a record
written with any released (older) schema version into the current reader schema.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.avro_writer import compile_writer
from schemas.events import (
    encodable_names,
    released_schemas,
    resolve_name,
    schema_for,
    schema_json,
    validate,
)
from schemas.registry import SchemaRegistryClient, SchemaRegistryError

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = 0
_HEADER_LEN = 10


class UndecodableMessage(ValueError):
    """A Kafka message whose bytes the hub cannot turn into a record."""

    def __init__(
        self, reason: str, topic: str | None = None, partition: int | None = None, offset: int | None = None
    ) -> None:
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"topic {self.topic or '?'} partition {self.partition if self.partition is not None else '?'}"
        where += f" offset {self.offset if self.offset is not None else '?'}"
        return f"undecodable message at {where}: {self.reason}"


class EncodeError(ValueError):
    """A record that does not fit its schema; ``problems`` lists every problem in plain words."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"cannot encode {name}: " + "; ".join(problems))


def schema_fingerprint(schema: Mapping[str, Any]) -> bytes:
    """The 8-byte CRC-64-AVRO fingerprint (little-endian, as single-object encoding writes it)."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(dict(schema)), "CRC-64-AVRO"))


def _record_unions(parsed: Any) -> tuple[tuple[str, str], ...]:
    found = []
    for fld in parsed.get("fields", ()) if isinstance(parsed, dict) else ():
        kind = fld["type"]
        if isinstance(kind, list) and len(kind) == 2 and kind[0] == "null":
            branch = kind[1]
            if isinstance(branch, dict) and branch.get("type") == "record":
                found.append((fld["name"], branch["name"]))
            elif isinstance(branch, str) and "." in branch:  # a named record defined earlier in the schema
                found.append((fld["name"], branch))
    return tuple(found)


@dataclass(frozen=True)
class _Writer:
    """What the encoder needs for one record name."""

    name: str
    parsed: Any
    header: bytes
    # Top-level fields typed ["null", <record>], with the record's name: given to fastavro in its
    # tuple notation, so it need not try the union's branches against the value (a quarter of encoding).
    unions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Reader:
    """How to read bodies written with one writer schema."""

    name: str
    version: int | None  # None: the current schema; 0: a version known only to the registry
    writer: Any
    reader: Any  # None when the writer is the current schema (no resolution needed)


class Codec:
    """Encodes and decodes hub records; one instance per process is enough (it caches everything)."""

    def __init__(
        self,
        registry: SchemaRegistryClient | None = None,
        released: Mapping[str, Mapping[int, Mapping[str, Any]]] | None = None,
    ) -> None:
        """``released`` defaults to every released schema version under schemas/avro/released."""
        self.registry = registry
        self._writers: dict[str, _Writer] = {}
        # Body writers generated from the schemas (schemas/avro_writer.py), each on first use: three
        # times faster than fastavro's; anything one does not expect goes to fastavro (the same bytes).
        self._bodies: dict[str, Callable[[Any], bytes]] = {}
        self._by_fingerprint: dict[bytes, _Reader] = {}
        self._by_schema_id: dict[int, _Reader] = {}
        self._full_names: dict[str, str] = {}
        for name in encodable_names():
            current = schema_json(name)
            self._full_names[f"{current.get('namespace', 'cmehub')}.{current['name']}"] = name
            parsed = schema_for(name)
            fp = schema_fingerprint(current)
            self._writers[name] = _Writer(name, parsed, SINGLE_OBJECT_MAGIC + fp, _record_unions(parsed))
            self._by_fingerprint[fp] = _Reader(name, None, parsed, None)
        for name, versions in (released_schemas() if released is None else released).items():
            if name not in self._writers:
                continue  # a released shared type is read only inside the events that carry it
            for version, old in versions.items():
                fp = schema_fingerprint(old)
                if fp not in self._by_fingerprint:
                    self._by_fingerprint[fp] = _Reader(
                        name, version, fastavro.parse_schema(dict(old)), self._writers[name].parsed
                    )

    @classmethod
    def from_env(cls) -> Codec:
        """A codec writing the Confluent format when ``CMEHUB_SCHEMA_REGISTRY_URL`` is set."""
        url = os.environ.get("CMEHUB_SCHEMA_REGISTRY_URL", "").strip()
        return cls(SchemaRegistryClient(url) if url else None)

    # ------------------------------------------------------------ encode

    def encode(self, record: Mapping[str, Any], name: str | None = None) -> bytes:
        """The message bytes of ``record`` (an event, or a record named by ``name``)."""
        key = name or record.get("event_type")
        writer = self._writers.get(key) if isinstance(key, str) else None
        if writer is None:
            writer = self._writers[resolve_name(str(key))]
        header = writer.header if self.registry is None else b"\x00" + self._schema_id(writer.name).to_bytes(4, "big")
        body = self._bodies.get(writer.name)
        if body is None:
            body = self._bodies[writer.name] = compile_writer(writer.parsed)
        try:
            return header + body(record)
        except Exception:  # not a value it expects: fastavro writes it, or says why not
            pass
        buffer = BytesIO()
        buffer.write(header)
        datum = record
        if writer.unions:
            datum = dict(record)
            for field, branch in writer.unions:
                value = datum.get(field)
                if isinstance(value, dict):
                    datum[field] = (branch, value)
        try:
            fastavro.schemaless_writer(buffer, writer.parsed, datum)
        except Exception as exc:  # fastavro raises many kinds; report them in plain words
            problems = validate(record, writer.name) or [f"{type(exc).__name__}: {exc}"]
            raise EncodeError(writer.name, problems) from exc
        return buffer.getvalue()

    def _schema_id(self, name: str) -> int:
        assert self.registry is not None
        schema = schema_json(name)
        subject = f"{schema.get('namespace', 'cmehub')}.{schema['name']}"
        return self.registry.register(subject, schema)

    # ------------------------------------------------------------ decode

    def decode(
        self, data: bytes, topic: str | None = None, partition: int | None = None, offset: int | None = None
    ) -> dict[str, Any]:
        """The record in ``data``; raises :class:`UndecodableMessage` naming where and why."""
        return self.decode_named(data, topic, partition, offset)[1]

    def decode_named(
        self, data: bytes | None, topic: str | None = None, partition: int | None = None, offset: int | None = None
    ) -> tuple[str, dict[str, Any]]:
        """``(name, record)``: the event type (or record name) and the record in ``data``."""
        if not data:
            raise UndecodableMessage("empty message (no bytes)", topic, partition, offset)
        if data[:2] == SINGLE_OBJECT_MAGIC:
            if len(data) < _HEADER_LEN:
                raise UndecodableMessage(
                    f"single-object header cut short ({len(data)} bytes)", topic, partition, offset
                )
            reader = self._by_fingerprint.get(data[2:_HEADER_LEN])
            if reader is None:
                raise UndecodableMessage(
                    f"no known schema has fingerprint {data[2:_HEADER_LEN].hex()} (a newer hub wrote it, "
                    "or it was never a hub schema)",
                    topic,
                    partition,
                    offset,
                )
        elif data[0] == CONFLUENT_MAGIC:
            if len(data) < 5:
                raise UndecodableMessage(f"Confluent header cut short ({len(data)} bytes)", topic, partition, offset)
            reader = self._reader_for_id(int.from_bytes(data[1:5], "big"), topic, partition, offset)
        else:
            raise UndecodableMessage(
                f"unknown header {data[:2].hex()}: neither Avro single-object (c301) nor Confluent (00)",
                topic,
                partition,
                offset,
            )
        start = 5 if data[0] == CONFLUENT_MAGIC else _HEADER_LEN
        buffer = BytesIO(data)
        buffer.seek(start)
        try:
            record = fastavro.schemaless_reader(buffer, reader.writer, reader.reader)
        except Exception as exc:  # truncated or corrupt bodies surface as many exception types
            detail = str(exc) or "the bytes end before the record does"
            version = {None: "", 0: f" (registry schema {data[1:5].hex()})"}.get(reader.version, f" v{reader.version}")
            raise UndecodableMessage(
                f"body does not match schema {reader.name}{version}: {type(exc).__name__}: {detail}",
                topic,
                partition,
                offset,
            ) from exc
        left = len(data) - buffer.tell()
        if left:
            raise UndecodableMessage(
                f"{left} byte(s) left over after a {reader.name} record (corrupt or wrong schema)",
                topic,
                partition,
                offset,
            )
        if not isinstance(record, dict):
            raise UndecodableMessage(f"body is not a record ({type(record).__name__})", topic, partition, offset)
        return reader.name, record

    def _reader_for_id(self, schema_id: int, topic: str | None, partition: int | None, offset: int | None) -> _Reader:
        cached = self._by_schema_id.get(schema_id)
        if cached is not None:
            return cached
        if self.registry is None:
            raise UndecodableMessage(
                f"Confluent-framed message (schema id {schema_id}) but no schema registry is configured "
                "(set CMEHUB_SCHEMA_REGISTRY_URL)",
                topic,
                partition,
                offset,
            )
        try:
            writer_json = self.registry.schema_by_id(schema_id)
        except SchemaRegistryError as exc:
            raise UndecodableMessage(f"schema id {schema_id}: {exc}", topic, partition, offset) from exc
        known = self._by_fingerprint.get(schema_fingerprint(writer_json))
        if known is None:
            full = f"{writer_json.get('namespace', 'cmehub')}.{writer_json.get('name')}"
            name = self._full_names.get(full)
            if name is None:
                raise UndecodableMessage(
                    f"schema id {schema_id} is {full}, which is not a hub record", topic, partition, offset
                )
            known = _Reader(name, 0, fastavro.parse_schema(writer_json), self._writers[name].parsed)
        self._by_schema_id[schema_id] = known
        return known


_default: Codec | None = None


def default_codec() -> Codec:
    """The process-wide codec, configured from the environment on first use."""
    global _default
    if _default is None:
        _default = Codec.from_env()
    return _default


def encode(record: Mapping[str, Any], name: str | None = None) -> bytes:
    """Encode with the process-wide codec."""
    return default_codec().encode(record, name)


def decode(
    data: bytes, topic: str | None = None, partition: int | None = None, offset: int | None = None
) -> dict[str, Any]:
    """Decode with the process-wide codec."""
    return default_codec().decode(data, topic, partition, offset)

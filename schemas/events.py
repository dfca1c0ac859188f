"""The event contracts: load the Avro schemas, build envelopes, validate events in plain words.

Events are plain dicts shaped exactly as their Avro records (see docs/events.md). Every event
schema refers to the shared named types (``cmehub.Source``, ``cmehub.ChildIdentity`` ...) that live
in their own ``.avsc`` files; :func:`schema_json` inlines them so each event schema stands alone
(which is what its fingerprint, the registry and the compatibility checker need).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

from schemas.checks import LA_CODE_RE, LAESTAB_RE, nhs_number_problem, postcode_problem, upn_problem
from schemas.uuids import name_uuid, random_uuid

SCHEMA_DIR = Path(__file__).parent / "avro"
NAMESPACE = "cmehub"

# Namespace of the uuid5 event ids (fixed forever: changing it changes every derived event_id).
EVENT_ID_NAMESPACE = uuid.UUID("6f1c2d3e-8a4b-5c6d-9e0f-1a2b3c4d5e6f")
_EVENT_ID_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes

LAWFUL_BASIS_CME = "Education Act 1996 s436A; UK GDPR Art 6(1)(e)"
LAWFUL_BASIS_RETURNS = "SI 2024/208 reg 13; UK GDPR Art 6(1)(c)"
LAWFUL_BASIS_SAFEGUARDING = "UK GDPR Art 6(1)(e), Art 9(2)(g); DPA 2018 Sch 1 para 18"

SOURCE_KINDS = ("school", "health", "police", "border", "authority", "hub")
DELETION_GROUNDS = tuple(f"9(1)({letter})" for letter in "abcdefghijklmno")
ENVELOPE_FIELDS = (
    "event_id",
    "event_type",
    "source",
    "responsible_la",
    "occurred_at",
    "received_at",
    "lawful_basis",
    "schema_version",
)


class UnknownEventType(KeyError):
    """An event type (or record name) the hub has no schema for."""

    def __str__(self) -> str:
        known = ", ".join(EVENT_TYPES)
        return f"no schema for {self.args[0]!r}; known event types: {known}"


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def _files() -> dict[str, dict[str, Any]]:
    """Every .avsc in SCHEMA_DIR by file stem (event type or shared type name)."""
    return {p.stem: _read(p) for p in sorted(SCHEMA_DIR.glob("*.avsc"))}


def _full_name(schema: Mapping[str, Any]) -> str:
    name = str(schema["name"])
    return name if "." in name else f"{schema.get('namespace', NAMESPACE)}.{name}"


@cache
def _shared() -> dict[str, dict[str, Any]]:
    """The shared named types by full name (``cmehub.Address`` ...)."""
    return {_full_name(s): s for s in _files().values() if "event_type" not in s}


@cache
def _event_files() -> dict[str, dict[str, Any]]:
    return {s["event_type"]: s for s in _files().values() if "event_type" in s}


EVENT_TYPES: tuple[str, ...] = tuple(sorted(_event_files()))
SHARED_TYPES: tuple[str, ...] = tuple(sorted(n.removeprefix(NAMESPACE + ".") for n in _shared()))


def inline_named_types(schema: Any, shared: Mapping[str, Any], defined: set[str] | None = None) -> Any:
    """Return ``schema`` with references to ``shared`` types replaced by their definition (first use only)."""
    defined = set() if defined is None else defined

    def walk(node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            full = node if "." in node else f"{namespace}.{node}"
            if full in shared and full not in defined:
                defined.add(full)
                return walk(copy.deepcopy(shared[full]), namespace)
            return node
        if isinstance(node, list):
            return [walk(branch, namespace) for branch in node]
        if isinstance(node, dict):
            kind = node.get("type")
            if kind in ("record", "enum", "fixed") and "name" in node:
                defined.add(_full_name({"namespace": namespace, **node}))
                namespace = node.get("namespace", namespace)
            out = dict(node)
            if kind == "record":
                out["fields"] = [{**fld, "type": walk(fld["type"], namespace)} for fld in node["fields"]]
            elif kind == "array":
                out["items"] = walk(node["items"], namespace)
            elif kind == "map":
                out["values"] = walk(node["values"], namespace)
            elif isinstance(kind, (list, dict)) or (isinstance(kind, str) and "name" not in node):
                out["type"] = walk(kind, namespace)
            return out
        return node

    return walk(schema, NAMESPACE)


def load_schema_dir(path: Path) -> dict[str, dict[str, Any]]:
    """Standalone schemas of every .avsc in ``path``: ``{event type or shared short name: schema}``.

    The compatibility check uses this on a candidate directory; the hub itself reads SCHEMA_DIR.
    """
    files = {p.stem: _read(p) for p in sorted(path.glob("*.avsc"))}
    shared = {_full_name(s): s for s in files.values() if "event_type" not in s}
    result = {}
    for schema in files.values():
        key = schema["event_type"] if "event_type" in schema else _full_name(schema).removeprefix(NAMESPACE + ".")
        result[key] = inline_named_types(schema, shared)
    return result


def resolve_name(name: str) -> str:
    """The schema key of an event type or a shared type (short or full name); raises UnknownEventType."""
    if name in _event_files():
        return name
    short = name.removeprefix(NAMESPACE + ".")
    if short in SHARED_TYPES:
        return short
    raise UnknownEventType(name)


@cache
def _schema_json(key: str) -> dict[str, Any]:
    raw = _event_files()[key] if key in _event_files() else _shared()[f"{NAMESPACE}.{key}"]
    result: dict[str, Any] = inline_named_types(raw, _shared())
    return result


def schema_json(name: str) -> dict[str, Any]:
    """The standalone Avro schema (a JSON-ready dict, a fresh copy) of an event type or shared record."""
    return copy.deepcopy(_schema_json(resolve_name(name)))


@cache
def _parsed(key: str) -> Any:
    return fastavro.parse_schema(_schema_json(key))


def schema_for(name: str) -> Any:
    """The parsed (fastavro) schema of an event type, or of a shared record such as ``QuarantineRecord``."""
    return _parsed(resolve_name(name))


def schema_version(event_type: str) -> int:
    """The current version of an event type's schema (the ``version`` attribute of its .avsc)."""
    return int(_schema_json(resolve_name(event_type)).get("version", 1))


def new_event_id(partner_id: str, reference: str | None) -> str:
    """A uuid5 of partner and reference when the partner gives a reference (so re-sends dedupe), else uuid4."""
    if reference:
        return name_uuid(_EVENT_ID_NAMESPACE_BYTES, f"{partner_id}|{reference}")
    return random_uuid()


def utc_now() -> dt.datetime:
    """Now, aware, in UTC, at the millisecond precision Avro keeps."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def make_envelope(
    event_type: str,
    *,
    partner_id: str,
    source_kind: str,
    responsible_la: str,
    occurred_at: dt.datetime,
    reference: str | None = None,
    received_at: dt.datetime | None = None,
    lawful_basis: str = LAWFUL_BASIS_CME,
) -> dict[str, Any]:
    """The envelope fields of a new event (merge the event's own fields into the result)."""
    resolve_name(event_type)
    return {
        "event_id": new_event_id(partner_id, reference),
        "event_type": event_type,
        "source": {"partner_id": partner_id, "kind": source_kind, "reference": reference},
        "responsible_la": responsible_la,
        "occurred_at": occurred_at,
        "received_at": received_at or utc_now(),
        "lawful_basis": lawful_basis,
        "schema_version": schema_version(event_type),
    }


@cache
def _defaults(key: str) -> tuple[tuple[str, Any, bool], ...]:
    """Each field with a default: its name, the default, and whether it must be copied (a list or map)."""
    return tuple((fld["name"], fld["default"], isinstance(fld["default"], (list, dict)))
                 for fld in _schema_json(key)["fields"] if "default" in fld)


@cache
def _field_names(key: str) -> tuple[str, ...]:
    return tuple(fld["name"] for fld in _schema_json(key)["fields"])


def _copied(value: Any) -> Any:
    """A copy of a default from a schema (JSON: lists and maps of plain values), faster than deepcopy."""
    if type(value) is list:
        return [_copied(v) for v in value]
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    return value


def _field_defaults(name: str) -> dict[str, Any]:
    return {field: _copied(default) if mutable else default
            for field, default, mutable in _defaults(resolve_name(name))}


def make_event(event_type: str, envelope: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A complete event: schema defaults, then ``envelope``, then ``fields``; raises if a required field is missing."""
    event = _field_defaults(event_type)
    event.update(envelope)
    event.update(fields)
    missing = [name for name in _field_names(resolve_name(event_type)) if name not in event]
    if missing:
        raise ValueError(f"{event_type} event lacks required field(s): {', '.join(missing)}")
    return event


def empty_child(**fields: Any) -> dict[str, Any]:
    """A ``ChildIdentity`` with every field at its default, then ``fields``."""
    child = _field_defaults("ChildIdentity")
    child.update(fields)
    return child


def empty_address(**fields: Any) -> dict[str, Any]:
    """An ``Address`` with every field at its default, then ``fields``."""
    address = _field_defaults("Address")
    address.update(fields)
    return address


# ---------------------------------------------------------------- validation


_AVRO_TYPE_WORDS = {
    "null": "nothing (None)",
    "boolean": "true or false",
    "int": "a whole number",
    "long": "a whole number",
    "float": "a number",
    "double": "a number",
    "string": "text",
    "bytes": "bytes",
}
_INT_RANGE = {"int": 2**31, "long": 2**63}


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _type_words(schema: Any, named: Mapping[str, Any]) -> str:
    if isinstance(schema, list):
        return " or ".join(_type_words(b, named) for b in schema)
    if isinstance(schema, str):
        if schema in _AVRO_TYPE_WORDS:
            return _AVRO_TYPE_WORDS[schema]
        return _type_words(named[schema], named) if schema in named else schema
    logical = schema.get("logicalType")
    if logical == "date":
        return "a date"
    if logical == "timestamp-millis":
        return "a timezone-aware datetime"
    kind = schema["type"]
    if kind == "record":
        return f"a {schema['name']} record (dict)"
    if kind == "enum":
        return "one of " + ", ".join(schema["symbols"])
    if kind == "array":
        return "a list"
    if kind == "map":
        return "a dict"
    return _type_words(kind, named)


def _collect_named(schema: Any, named: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every named type defined anywhere in ``schema`` by full and short name (references may precede use)."""
    named = {} if named is None else named
    if isinstance(schema, list):
        for branch in schema:
            _collect_named(branch, named)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "enum", "fixed") and "name" in schema:
            named.setdefault(_full_name(schema), schema)
            named.setdefault(str(schema["name"]), schema)
        if kind == "record":
            for fld in schema["fields"]:
                _collect_named(fld["type"], named)
        elif kind == "array":
            _collect_named(schema["items"], named)
        elif kind == "map":
            _collect_named(schema["values"], named)
        elif isinstance(kind, (list, dict)):
            _collect_named(kind, named)
    return named


@cache
def _named_types(key: str) -> dict[str, Any]:
    return _collect_named(_schema_json(key))


def _check(value: Any, schema: Any, path: str, named: dict[str, Any]) -> Iterator[str]:
    """Yield every problem of ``value`` against ``schema`` (standalone JSON form) in plain words."""
    if isinstance(schema, list):
        errors_by_branch = [list(_check(value, branch, path, named)) for branch in schema]
        if any(not errs for errs in errors_by_branch):
            return
        non_null = [errs for branch, errs in zip(schema, errors_by_branch, strict=True) if branch != "null"]
        if value is not None and len(non_null) == 1:
            yield from non_null[0]
        else:
            yield f"{path}: expected {_type_words(schema, named)}, got {_describe(value)}"
        return
    if isinstance(schema, str):
        if schema in named:
            yield from _check(value, named[schema], path, named)
            return
        yield from _check_primitive(value, schema, path)
        return
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        named.setdefault(_full_name(schema), schema)
        named.setdefault(str(schema["name"]), schema)
    logical = schema.get("logicalType")
    if logical == "date":
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            yield f"{path}: expected a date, got {_describe(value)}"
        return
    if logical == "timestamp-millis":
        if not isinstance(value, dt.datetime):
            yield f"{path}: expected a timezone-aware datetime, got {_describe(value)}"
        elif value.tzinfo is None or value.utcoffset() is None:
            yield f"{path}: datetime {value.isoformat()} has no timezone; give it one (UTC)"
        return
    if kind == "record":
        if not isinstance(value, Mapping):
            yield f"{path}: expected a {schema['name']} record (dict), got {_describe(value)}"
            return
        known = set()
        for fld in schema["fields"]:
            known.add(fld["name"])
            sub = f"{path}.{fld['name']}" if path else fld["name"]
            if fld["name"] not in value:
                if "default" not in fld:
                    yield f"{sub}: missing (required)"
                continue
            yield from _check(value[fld["name"]], fld["type"], sub, named)
        for extra in sorted(set(value) - known):
            yield f"{path + '.' if path else ''}{extra}: not a field of {schema['name']}"
    elif kind == "enum":
        if value not in schema["symbols"]:
            yield f"{path}: {value!r} is not one of {', '.join(schema['symbols'])}"
    elif kind == "array":
        if not isinstance(value, (list, tuple)):
            yield f"{path}: expected a list, got {_describe(value)}"
            return
        for i, item in enumerate(value):
            yield from _check(item, schema["items"], f"{path}[{i}]", named)
    elif kind == "map":
        if not isinstance(value, Mapping):
            yield f"{path}: expected a dict, got {_describe(value)}"
            return
        for key, item in value.items():
            yield from _check(item, schema["values"], f"{path}[{key!r}]", named)
    else:
        yield from _check(value, kind, path, named)


def _check_primitive(value: Any, kind: str, path: str) -> Iterator[str]:
    ok: bool
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and not -_INT_RANGE[kind] <= value < _INT_RANGE[kind]:
            yield f"{path}: {value} is out of range for an Avro {kind}"
            return
    elif kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "string":
        ok = isinstance(value, str)
    elif kind == "bytes":
        ok = isinstance(value, (bytes, bytearray))
    else:
        yield f"{path}: unknown Avro type {kind!r}"
        return
    if not ok:
        yield f"{path}: expected {_AVRO_TYPE_WORDS[kind]}, got {_describe(value)}"


def _holds_nul(value: Any) -> bool:
    """Whether any text in ``value`` (maps and lists walked) contains a NUL: the quick look for every event."""
    todo = [value]
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind is str:
            if "\x00" in item:
                return True
        elif kind is dict:
            todo.extend(item.values())
        elif kind is list:
            todo.extend(item)
        elif isinstance(item, str | Mapping | list):  # subclasses: rare
            return True  # let _control_characters look properly
    return False


def _control_characters(value: Any, path: str) -> Iterator[str]:
    # A NUL byte is valid Avro but no PostgreSQL text can hold it: refuse it here, by name, rather than
    # fail the register's transaction later with a database error.
    if not path and not _holds_nul(value):
        return
    if isinstance(value, str):
        if "\x00" in value:
            yield f"{path}: contains a NUL character (0x00), which no text field can hold"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _control_characters(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _control_characters(item, f"{path}[{i}]")


def _domain_problems(event: Mapping[str, Any]) -> Iterator[str]:
    """Rules the Avro types cannot say (codes, check digits, consistency)."""
    yield from _control_characters(event, "")
    event_id = event.get("event_id")
    if isinstance(event_id, str):
        try:
            uuid.UUID(event_id)
        except ValueError:
            yield f"event_id: {event_id!r} is not a UUID"
    for key in ("responsible_la", "from_la", "to_la", "destination_la", "source_la", "previous_la"):
        value = event.get(key)
        if isinstance(value, str) and not LA_CODE_RE.match(value):
            yield f"{key}: {value!r} should be a 3-digit LA code"
    for key in ("school_laestab", "new_school_laestab", "previous_school_laestab", "recipient_laestab"):
        value = event.get(key)
        if isinstance(value, str) and not LAESTAB_RE.match(value):
            yield f"{key}: {value!r} should be a 7-digit LAESTAB"
    version = event.get("schema_version")
    if isinstance(version, int) and event.get("event_type") in EVENT_TYPES:
        current = schema_version(event["event_type"])
        if not 1 <= version <= current:
            yield f"schema_version: {version} is not a released version (1 to {current})"
    yield from _event_specific_problems(event)
    child = event.get("child")
    if isinstance(child, Mapping):
        yield from _child_problems(child, "child")
    for key in ("new_address", "previous_address"):
        address = event.get(key)
        if isinstance(address, Mapping):
            yield from _address_problems(address, key)


def _event_specific_problems(event: Mapping[str, Any]) -> Iterator[str]:
    event_type = event.get("event_type")
    if event_type == "school.deletion_return":
        ground = event.get("deletion_ground")
        if isinstance(ground, str) and ground not in DELETION_GROUNDS:
            yield f"deletion_ground: {ground!r} should be one of 9(1)(a) to 9(1)(o)"
    if event_type == "school.ctf_transfer":
        kind = event.get("destination_kind")
        la, estab = event.get("destination_la"), event.get("destination_estab")
        if kind == "school":
            if not (isinstance(la, str) and LA_CODE_RE.match(la)):
                yield "destination_la: a CTF to a school needs the 3-digit destination LA"
            if not (isinstance(estab, str) and re.fullmatch(r"\d{4}", estab)):
                yield "destination_estab: a CTF to a school needs the 4-digit destination establishment"
        elif kind in ("unknown", "outside_maintained_sector") and (la is not None or estab is not None):
            yield f"destination_la/destination_estab: must be null when destination_kind is {kind}"
        source_estab = event.get("source_estab")
        if isinstance(source_estab, str) and not re.fullmatch(r"\d{4}|LLLL", source_estab):
            yield f"source_estab: {source_estab!r} should be 4 digits (or LLLL when the LA sends)"
    if isinstance(event_type, str) and event_type.startswith("border."):
        wanted = event_type.removeprefix("border.")
        if event.get("direction") not in (None, wanted):
            yield f"direction: is {event.get('direction')!r} on a {event_type} event"
    child = event.get("child")
    restricted = (
        isinstance(child, Mapping) and isinstance(child.get("flags"), Mapping) and child["flags"].get("restricted")
    )
    if restricted:
        for key in ("new_address", "previous_address"):
            if event.get(key) is not None:
                yield f"{key}: must be null for a restricted (S-flagged) child"
    if event_type == "match.decision":
        decision, child_id = event.get("decision"), event.get("child_id")
        if decision in ("match", "manual_match") and not child_id:
            yield f"child_id: a {decision} decision must name the register child"


def _child_problems(child: Mapping[str, Any], path: str) -> Iterator[str]:
    for key in ("upn", "former_upn"):
        value = child.get(key)
        if isinstance(value, str) and (problem := upn_problem(value)):
            yield f"{path}.{key}: {problem} (carry failing identifiers in invalid_identifiers)"
    nhs = child.get("nhs_number")
    if isinstance(nhs, str) and (problem := nhs_number_problem(nhs)):
        yield f"{path}.nhs_number: {problem} (carry failing identifiers in invalid_identifiers)"
    uln = child.get("uln")
    if isinstance(uln, str) and not re.fullmatch(r"[1-9]\d{9}", uln):
        yield f"{path}.uln: should be 10 digits, the first not 0"
    flags = child.get("flags")
    addresses = child.get("addresses")
    if isinstance(flags, Mapping) and flags.get("restricted") and addresses:
        yield f"{path}.addresses: must be empty for a restricted (S-flagged) child"
    if isinstance(addresses, list):
        for i, address in enumerate(addresses):
            if isinstance(address, Mapping):
                yield from _address_problems(address, f"{path}.addresses[{i}]")
    born, precision = child.get("date_of_birth"), child.get("date_of_birth_precision")
    if born is None and precision not in (None, "unknown"):
        yield f"{path}.date_of_birth_precision: is {precision!r} but date_of_birth is empty"


def _address_problems(address: Mapping[str, Any], path: str) -> Iterator[str]:
    postcode = address.get("postcode")
    if isinstance(postcode, str) and (problem := postcode_problem(postcode)):
        yield f"{path}.postcode: {problem}"
    uprn = address.get("uprn")
    if isinstance(uprn, str) and not re.fullmatch(r"\d{1,12}", uprn):
        yield f"{path}.uprn: should be up to 12 digits"
    start, end = address.get("valid_from"), address.get("valid_to")
    if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
        yield f"{path}.valid_to: {end} is before valid_from {start}"


def validate(event: Mapping[str, Any], name: str | None = None, *, structure: bool = True) -> list[str]:
    """Every problem of ``event`` in plain words (empty when it is valid).

    ``name`` defaults to the event's own ``event_type``; pass ``"QuarantineRecord"`` for a
    quarantine record. ``structure=False`` skips the check against the Avro schema, for an event the
    codec has just decoded with that schema (the decoder already held it to every type and field).
    """
    if not isinstance(event, Mapping):
        return [f"expected an event (dict), got {_describe(event)}"]
    if name is None:
        event_type = event.get("event_type")
        if not isinstance(event_type, str):
            return ["event_type: missing; cannot tell which schema applies"]
        name = event_type
    try:
        key = resolve_name(name)
    except UnknownEventType as exc:
        return [f"event_type: {exc}"]
    problems = list(_check(event, _schema_json(key), "", dict(_named_types(key)))) if structure else []
    if key in EVENT_TYPES:
        if event.get("event_type") != key:
            problems.append(f"event_type: is {event.get('event_type')!r} but the schema is {key!r}")
        problems.extend(_domain_problems(event))
    elif key == "QuarantineRecord":
        la = event.get("responsible_la")
        if isinstance(la, str) and not LA_CODE_RE.match(la):
            problems.append(f"responsible_la: {la!r} should be a 3-digit LA code")
        if isinstance(event.get("reasons"), list) and not event["reasons"]:
            problems.append("reasons: a quarantined record needs at least one reason")
    return problems


# ---------------------------------------------------------------- display


MASK = "«masked»"


def _masked(value: Any, schema: Any, named: dict[str, Any]) -> Any:
    """``value`` with every field marked ``"personal": true`` in ``schema`` replaced by MASK."""
    if isinstance(schema, list):
        if value is None:
            return None
        for branch in schema:
            if branch != "null" and not list(_check(value, branch, "", dict(named))):
                return _masked(value, branch, named)
        return value
    if isinstance(schema, str):
        return _masked(value, named[schema], named) if schema in named else value
    kind = schema.get("type")
    if kind in ("record", "enum", "fixed"):
        named.setdefault(_full_name(schema), schema)
        named.setdefault(str(schema["name"]), schema)
    if kind == "record" and isinstance(value, Mapping):
        out = {}
        for fld in schema["fields"]:
            if fld["name"] not in value:
                continue
            item = value[fld["name"]]
            empty = item is None or item == [] or item == b""
            out[fld["name"]] = MASK if fld.get("personal") and not empty else _masked(item, fld["type"], named)
        return out
    if kind == "array" and isinstance(value, list):
        return [_masked(item, schema["items"], named) for item in value]
    if kind == "map" and isinstance(value, Mapping):
        return {k: _masked(v, schema["values"], named) for k, v in value.items()}
    return value


def mask_personal(record: Mapping[str, Any], name: str | None = None) -> dict[str, Any]:
    """A copy of ``record`` with every personal field (``"personal": true`` in the schema) masked."""
    key = resolve_name(name or str(record.get("event_type")))
    result: dict[str, Any] = _masked(record, _schema_json(key), dict(_named_types(key)))
    return result


def personal_field_paths(name: str) -> list[str]:
    """Dotted paths of every field marked personal in a schema (for docs and tests)."""
    paths: list[str] = []

    def walk(schema: Any, prefix: str, named: dict[str, Any], seen: frozenset[str]) -> None:
        if isinstance(schema, list):
            for branch in schema:
                walk(branch, prefix, named, seen)
            return
        if isinstance(schema, str):
            if schema in named and schema not in seen:
                walk(named[schema], prefix, named, seen | {schema})
            return
        kind = schema.get("type")
        if kind in ("record", "enum", "fixed"):
            named.setdefault(_full_name(schema), schema)
        if kind == "record":
            for fld in schema["fields"]:
                path = f"{prefix}{fld['name']}"
                if fld.get("personal"):
                    paths.append(path)
                else:
                    walk(fld["type"], path + ".", named, seen)
        elif kind == "array":
            walk(schema["items"], prefix, named, seen)
        elif kind == "map":
            walk(schema["values"], prefix, named, seen)

    key = resolve_name(name)
    walk(_schema_json(key), "", dict(_named_types(key)), frozenset())
    return paths


_PLAIN = frozenset({str, int, float, bool})


def to_jsonable(value: Any) -> Any:
    """``value`` with dates as ISO strings and bytes as hex, for printing as JSON."""
    if value is None or type(value) in _PLAIN:  # most values of an event: answered first
        return value
    if isinstance(value, Mapping):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# ---------------------------------------------------------------- released versions

RELEASED_DIR = SCHEMA_DIR / "released"


def released_schemas() -> dict[str, dict[int, dict[str, Any]]]:
    """Every released schema version: ``{name: {version: standalone schema}}``.

    Layout: ``schemas/avro/released/<event type or shared name>/v<N>.avsc``, each a standalone
    copy of the schema as released (named types inlined), never edited afterwards.
    """
    result: dict[str, dict[int, dict[str, Any]]] = {}
    if not RELEASED_DIR.is_dir():
        return result
    for path in sorted(RELEASED_DIR.glob("*/v*.avsc")):
        version = int(path.stem.removeprefix("v"))
        result.setdefault(path.parent.name, {})[version] = _read(path)
    return result


def encodable_names() -> tuple[str, ...]:
    """Names the codec writes: every event type and every shared record that travels alone."""
    return (*EVENT_TYPES, "QuarantineRecord")

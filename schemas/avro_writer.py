"""Avro binary bodies written by code generated once per schema instead of a schema walk per record.

fastavro's writer interprets the schema for every record it writes: it looks up each field's type,
and for every optional field (a ``["null", X]`` union) it validates the value against each branch
before choosing one. A hub event has dozens of optional fields, so writing one cost more CPU than
parsing it from the partner's file. :func:`compile_writer` makes every type decision once, when the
codec is built, and generates one straight-line Python function per record type.

It covers what hub schemas use: null, boolean, int, long, float, double, string, bytes, enum, array,
record, named references, the ``date`` and ``timestamp-millis`` logical types, and unions of null
and one other type. Any other construct, and any value it does not expect (a naive datetime, a
tuple for a list, a ``Mapping`` that is not a dict), raises; the codec then writes the record with
fastavro, which writes the same bytes or says what is wrong with it. Tests check that the bytes are
fastavro's, byte for byte, for every kind of event the hub makes.

The generated source names fields only through ``repr`` of the schema's own field names and holds
no value from any record.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Mapping
from typing import Any

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1


class NotCompiled(Exception):
    """The generated writer does not handle this value or schema; write it with fastavro instead."""


def write_long(n: int, out: bytearray) -> None:
    """Avro's zig-zag variable-length long."""
    if not _LONG_MIN <= n <= _LONG_MAX:
        raise NotCompiled("long out of range")
    n = (n << 1) ^ (n >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _millis(value: dt.datetime) -> int:
    if value.tzinfo is None:
        raise NotCompiled("a naive datetime")  # fastavro reads one in the machine's local zone
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def compile_writer(schema: Mapping[str, Any]) -> Callable[[Any], bytes]:
    """A function from a record to its Avro binary body, for a record schema parsed by fastavro."""
    generator = _Generator()
    entry = generator.record(schema)
    namespace: dict[str, Any] = {
        "NotCompiled": NotCompiled, "write_long": write_long, "millis": _millis, "pack_double": _DOUBLE,
        "pack_float": _FLOAT, "datetime": dt.datetime, "date": dt.date, "EPOCH_DAY": _EPOCH_DAY,
        "INT_MIN": _INT_MIN, "INT_MAX": _INT_MAX, **generator.constants,
    }
    exec(compile("\n".join(generator.lines), f"<avro writer {schema['name']}>", "exec"), namespace)
    write = namespace[entry]

    def body(datum: Any) -> bytes:
        out = bytearray()
        write(datum, out)
        return bytes(out)

    return body


_DOUBLE = struct.Struct("<d").pack
_FLOAT = struct.Struct("<f").pack


class _Generator:
    """Python source for the writers of one schema's record types."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.functions: dict[str, str] = {}  # record full name -> function name
        self.enums: dict[str, str] = {}  # enum full name -> constant holding its encoded symbols

    def constant(self, value: Any) -> str:
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def record(self, schema: Mapping[str, Any]) -> str:
        function = f"write_{len(self.functions)}"
        self.functions[schema["name"]] = function
        body: list[str] = []
        for field in schema["fields"]:
            default = field.get("default")
            key = repr(field["name"])
            body.append(f"v = get({key})" if default is None else f"v = get({key}, {self.constant(default)})")
            self.value(field["type"], "v", body, 0)
        self.lines += [f"def {function}(d, out):",
                       "    if type(d) is not dict:",
                       "        raise NotCompiled('a record that is not a dict')",
                       "    get = d.get"]
        self.lines += ["    " + line for line in body]
        self.lines.append("")
        return function

    def value(self, schema: Any, var: str, out: list[str], depth: int) -> None:
        """Append the statements that write ``var`` as ``schema``."""
        if isinstance(schema, list):
            self.union(schema, var, out, depth)
            return
        if isinstance(schema, str):
            if schema in self.functions:
                out.append(f"{self.functions[schema]}({var}, out)")
            elif schema in self.enums:
                out.append(f"out += {self.enums[schema]}[{var}]")
            else:
                out += _primitive(schema, var)
            return
        kind, logical = schema["type"], schema.get("logicalType")
        if kind == "record":
            out.append(f"{self.record(schema)}({var}, out)")
        elif kind == "enum":
            self.enums[schema["name"]] = self.constant(_enum_symbols(schema["symbols"]))
            out.append(f"out += {self.enums[schema['name']]}[{var}]")
        elif kind == "array":
            item = f"i{depth}"
            out += [f"if type({var}) is not list:",
                    "    raise NotCompiled('an array that is not a list')",
                    f"if {var}:",
                    f"    write_long(len({var}), out)",
                    f"    for {item} in {var}:"]
            inner: list[str] = []
            self.value(schema["items"], item, inner, depth + 1)
            out += ["        " + line for line in inner]
            out.append("out.append(0)")
        elif kind == "long" and logical == "timestamp-millis":
            out += [f"if type({var}) is datetime:", f"    {var} = millis({var})", *_primitive("long", var)]
        elif kind == "int" and logical == "date":
            out += [f"if type({var}) is date:", f"    {var} = {var}.toordinal() - EPOCH_DAY", *_primitive("int", var)]
        elif logical is None and isinstance(kind, str):
            out += _primitive(kind, var)
        else:
            out.append("raise NotCompiled('a schema construct the generated writer does not cover')")

    def union(self, branches: list[Any], var: str, out: list[str], depth: int) -> None:
        if len(branches) == 1:
            self.value(branches[0], var, out, depth)
            return
        if len(branches) != 2 or branches[0] != "null" or branches[1] == "null":
            out.append("raise NotCompiled('a union other than [null, X]')")
            return
        inner: list[str] = []
        self.value(branches[1], var, inner, depth)
        out += [f"if {var} is None:", "    out.append(0)", "else:", "    out.append(2)"]
        out += ["    " + line for line in inner]


def _primitive(kind: str, var: str) -> list[str]:
    checks = {
        "null": [f"if {var} is not None:", "    raise NotCompiled('a value for a null')"],
        "boolean": [f"if {var} is True:", "    out.append(1)", f"elif {var} is False:", "    out.append(0)",
                    "else:", "    raise NotCompiled('a boolean that is not True or False')"],
        "int": [f"if type({var}) is not int or not INT_MIN <= {var} <= INT_MAX:",
                "    raise NotCompiled('not an int')",
                f"if 0 <= {var} < 64:", f"    out.append({var} << 1)", "else:", f"    write_long({var}, out)"],
        "long": [f"if type({var}) is not int:", "    raise NotCompiled('not a long')",
                 f"if 0 <= {var} < 64:", f"    out.append({var} << 1)", "else:", f"    write_long({var}, out)"],
        "float": [f"if type({var}) is not float and type({var}) is not int:",
                  "    raise NotCompiled('not a number')", f"out += pack_float({var})"],
        "double": [f"if type({var}) is not float and type({var}) is not int:",
                   "    raise NotCompiled('not a number')", f"out += pack_double({var})"],
        "string": [f"if type({var}) is not str:", "    raise NotCompiled('not a str')",
                   f"{var} = {var}.encode()", *_length_prefixed(var)],
        "bytes": [f"if type({var}) is not bytes:", "    raise NotCompiled('not bytes')", *_length_prefixed(var)],
    }
    return checks.get(kind, ["raise NotCompiled('a schema construct the generated writer does not cover')"])


def _length_prefixed(var: str) -> list[str]:
    return [f"if len({var}) < 64:", f"    out.append(len({var}) << 1)", "else:", f"    write_long(len({var}), out)",
            f"out += {var}"]


def _enum_symbols(symbols: list[str]) -> dict[str, bytes]:
    encoded = {}
    for index, symbol in enumerate(symbols):
        buffer = bytearray()
        write_long(index, buffer)
        encoded[symbol] = bytes(buffer)
    return encoded

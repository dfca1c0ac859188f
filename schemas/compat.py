"""Schema evolution check (CI): ``python -m schemas.compat [--schema-dir DIR] [--release]``.

Every record the codec writes (each event type and ``QuarantineRecord``) keeps its released
versions as ``schemas/avro/released/<name>/v<N>.avsc`` (standalone, never edited) with a binary
fixture ``v<N>.bin`` (a single-object encoded example written with that version). The check fails
when the current schema cannot read data written with any released version (the ``avro``
package's ``ReaderWriterCompatibilityChecker``), when a released version was edited in place
(change the schema and raise its ``"version"``), or when a released record disappeared.
``--release`` stores the current version of every record whose version is not yet released.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import avro.schema
import fastavro
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from fastavro.schema import to_parsing_canonical_form

from schemas.events import SCHEMA_DIR, load_schema_dir

ENCODABLE_RECORDS = ("QuarantineRecord",)


@dataclass
class Report:
    """What the check found: errors fail CI, notes do not."""

    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks a release."""
        return not self.errors


def _released(released_dir: Path) -> dict[str, dict[int, dict[str, Any]]]:
    result: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted(released_dir.glob("*/v*.avsc")):
        result.setdefault(path.parent.name, {})[int(path.stem[1:])] = json.loads(path.read_text())
    return result


def _encodable(current: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in current.items() if "event_type" in s or name in ENCODABLE_RECORDS}


def _canonical(schema: Mapping[str, Any]) -> str:
    return str(to_parsing_canonical_form(dict(schema)))


def _incompatibility(reader: Mapping[str, Any], writer: Mapping[str, Any]) -> str | None:
    """Why ``reader`` cannot read data written with ``writer``, or None when it can."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return None
    kinds = ", ".join(sorted(i.value for i in result.incompatibilities))
    where = ", ".join(sorted(result.locations))
    what = ", ".join(sorted(str(m) for m in result.messages))
    return f"{kinds} ({what}) at {where}"


def check(schema_dir: Path = SCHEMA_DIR, released_dir: Path | None = None) -> Report:
    """Check every current schema in ``schema_dir`` against its released versions."""
    released_dir = released_dir or schema_dir / "released"
    report = Report()
    current = _encodable(load_schema_dir(schema_dir))
    released = _released(released_dir)
    for name in sorted(set(released) - set(current)):
        report.errors.append(
            f"{name}: released (v{max(released[name])}) but its schema is gone; "
            "keep it, or readers of old messages break"
        )
    for name, schema in sorted(current.items()):
        version = int(schema.get("version", 1))
        versions = released.get(name, {})
        if not versions:
            report.notes.append(f"{name}: v{version} never released (run python -m schemas.compat --release)")
            continue
        latest = max(versions)
        if version < latest:
            report.errors.append(f"{name}: version {version} is older than the released v{latest}")
        elif version in versions and _canonical(versions[version]) != _canonical(schema):
            report.errors.append(
                f'{name}: changed since v{version} was released; give the changed schema "version": {latest + 1}'
            )
        elif version > latest + 1:
            report.errors.append(f"{name}: version {version} skips v{latest + 1} (last released: v{latest})")
        elif version == latest + 1:
            report.notes.append(f"{name}: v{version} not released yet")
        for old_version, old in sorted(versions.items()):
            problem = _incompatibility(schema, old)
            if problem:
                report.errors.append(
                    f"{name}: v{version} cannot read data written with released v{old_version}: {problem}"
                )
    return report


def single_object(schema: Mapping[str, Any], record: Mapping[str, Any]) -> bytes:
    """``record`` in Avro single-object encoding with ``schema``."""
    from schemas.codec import SINGLE_OBJECT_MAGIC, schema_fingerprint

    buffer = BytesIO()
    buffer.write(SINGLE_OBJECT_MAGIC + schema_fingerprint(schema))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(dict(schema)), record)
    return buffer.getvalue()


def release(schema_dir: Path = SCHEMA_DIR, released_dir: Path | None = None) -> list[Path]:
    """Store the current version (schema + fixture) of every record not yet released; returns new files."""
    from schemas.examples import example_event, example_quarantine

    released_dir = released_dir or schema_dir / "released"
    written = []
    for name, schema in sorted(_encodable(load_schema_dir(schema_dir)).items()):
        version = int(schema.get("version", 1))
        target = released_dir / name / f"v{version}.avsc"
        if target.exists():
            continue
        record = example_quarantine() if name == "QuarantineRecord" else example_event(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        fixture = target.with_suffix(".bin")
        fixture.write_bytes(single_object(schema, record))
        written += [target, fixture]
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line entry: exit 1 when a change is not backward compatible."""
    parser = argparse.ArgumentParser(prog="python -m schemas.compat", description=__doc__.splitlines()[0])
    parser.add_argument("--schema-dir", type=Path, default=SCHEMA_DIR, help="folder of current .avsc files")
    parser.add_argument("--released-dir", type=Path, default=None, help="default: <schema-dir>/released")
    parser.add_argument("--release", action="store_true", help="store unreleased versions, then check")
    args = parser.parse_args(argv)
    if args.release:
        for path in release(args.schema_dir, args.released_dir):
            print(f"released {path}")
    report = check(args.schema_dir, args.released_dir)
    for note in report.notes:
        print(f"note: {note}")
    for error in report.errors:
        print(f"INCOMPATIBLE: {error}", file=sys.stderr)
    print(
        "schemas: backward compatible with every released version"
        if report.ok
        else f"schemas: {len(report.errors)} problem(s)"
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

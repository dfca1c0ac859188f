"""Schema evolution: released fixtures still decode, and the compatibility check catches breaks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import compat
from schemas.codec import Codec, schema_fingerprint
from schemas.events import SCHEMA_DIR, encodable_names, released_schemas, schema_json, validate
from schemas.examples import example_event

RELEASED = SCHEMA_DIR / "released"
FIXTURES = sorted(RELEASED.glob("*/v*.bin"))


def test_every_record_the_codec_writes_has_a_released_version_and_fixture() -> None:
    released = released_schemas()
    for name in encodable_names():
        assert name in released, f"{name} has no released version"
        for version in released[name]:
            assert (RELEASED / name / f"v{version}.bin").is_file()


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_released_fixture_decodes_with_the_current_reader(fixture: Path) -> None:
    name, version = fixture.parent.name, int(fixture.stem[1:])
    data = fixture.read_bytes()
    writer = json.loads(fixture.with_suffix(".avsc").read_text())
    assert data[2:10] == schema_fingerprint(writer), "fixture was not written with its released schema"
    decoded_name, record = Codec().decode_named(data, topic="fixtures", partition=0, offset=version)
    assert decoded_name == name
    assert validate(record, name) == []


def test_current_tree_is_compatible() -> None:
    report = compat.check()
    assert report.errors == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "avro"
    shutil.copytree(SCHEMA_DIR, target)
    return target


def _edit(path: Path, change: dict[str, object] | None = None, field: dict[str, object] | None = None) -> None:
    schema = json.loads(path.read_text())
    if field:
        schema["fields"].append(field)
    schema.update(change or {})
    path.write_text(json.dumps(schema, indent=2))


def test_a_new_field_without_default_fails_the_ci_command(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    _edit(
        copy / "school.deletion_return.avsc",
        {"version": 2},
        {"name": "pupil_premium", "type": "boolean", "doc": "deliberately breaking: no default"},
    )
    run = subprocess.run(
        [sys.executable, "-m", "schemas.compat", "--schema-dir", str(copy)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert (
        "INCOMPATIBLE: school.deletion_return: v2 cannot read data written with released v1: "
        "reader_field_missing_default_value (pupil_premium)"
    ) in run.stderr
    assert "1 problem(s)" in run.stdout
    # The real tree is untouched and still passes.
    clean = subprocess.run([sys.executable, "-m", "schemas.compat"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr


def test_a_changed_type_is_incompatible(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    path = copy / "police.found.avsc"
    schema = json.loads(path.read_text())
    for fld in schema["fields"]:
        if fld["name"] == "incident_reference":
            fld["type"] = "int"
    schema["version"] = 2
    path.write_text(json.dumps(schema))
    report = compat.check(copy)
    assert len(report.errors) == 1 and "type_mismatch" in report.errors[0]


def test_a_new_field_with_default_is_compatible_and_can_be_released(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    _edit(
        copy / "school.deletion_return.avsc",
        {"version": 2},
        {"name": "pupil_premium", "type": ["null", "boolean"], "default": None, "doc": "compatible"},
    )
    report = compat.check(copy)
    assert report.errors == []
    assert "school.deletion_return: v2 not released yet" in report.notes
    written = compat.release(copy)
    assert {p.name for p in written} == {"v2.avsc", "v2.bin"}
    assert compat.check(copy).errors == []
    assert compat.release(copy) == []  # never rewrites a released version


def test_editing_a_released_version_in_place_fails(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    _edit(copy / "la.enquiry.avsc", field={"name": "urgent", "type": "boolean", "default": False, "doc": "x"})
    errors = compat.check(copy).errors
    assert errors == ['la.enquiry: changed since v1 was released; give the changed schema "version": 2']


def test_removing_a_released_event_type_fails(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "border.departure.avsc").unlink()
    assert compat.check(copy).errors[0].startswith("border.departure: released (v1) but its schema is gone")


def test_reader_resolves_an_older_writer_schema() -> None:
    # An "older" deletion return without two fields that have defaults in the current schema.
    older = schema_json("school.deletion_return")
    older["fields"] = [
        f for f in older["fields"] if f["name"] not in ("safeguarding_concern", "joint_enquiries_completed")
    ]
    event = example_event("school.deletion_return")
    old_event = {k: v for k, v in event.items() if k not in ("safeguarding_concern", "joint_enquiries_completed")}
    data = compat.single_object(older, old_event)
    codec = Codec(released={"school.deletion_return": {0: older}})
    decoded = codec.decode(data)
    assert decoded == {**old_event, "safeguarding_concern": False, "joint_enquiries_completed": None}
    # Without that released version the fingerprint is unknown, which is reported, not guessed.
    from schemas.codec import UndecodableMessage

    with pytest.raises(UndecodableMessage, match="no known schema has fingerprint"):
        Codec(released={}).decode(data)

"""`cmehub schemas list|show|check`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from schemas.events import EVENT_TYPES, schema_json
from services.cli import app


def test_show_prints_the_standalone_schema() -> None:
    result = CliRunner().invoke(app, ["schemas", "show", "school.deletion_return"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == schema_json("school.deletion_return")


def test_show_canonical_and_example() -> None:
    runner = CliRunner()
    canonical = runner.invoke(app, ["schemas", "show", "police.found", "--canonical"])
    assert canonical.stdout.startswith('{"name":"cmehub.PoliceFound","type":"record"')
    example = json.loads(runner.invoke(app, ["schemas", "show", "police.found", "--example"]).stdout)
    assert example["event_type"] == "police.found" and example["occurred_at"].endswith("+00:00")


def test_show_unknown_type_lists_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["schemas", "show", "school.nonsense"])
    assert result.exit_code == 2
    assert "known event types: " in result.stderr and "border.arrival" in result.stderr


def test_list_and_check() -> None:
    runner = CliRunner()
    listing = runner.invoke(app, ["schemas", "list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    for event_type in EVENT_TYPES:
        assert event_type in listing.stdout
    check = runner.invoke(app, ["schemas", "check"])
    assert check.exit_code == 0 and "backward compatible" in check.stdout

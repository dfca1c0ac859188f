"""`cmehub ingest … --dry-run`: events on stdout, summary on stderr, exit status by outcome."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from typer.testing import CliRunner

from connectors.common.parsing import ParseContext
from connectors.ingest import watch
from connectors.sinks import PrintSink
from connectors.summary import IngestSummary
from services.commands.ingest import app
from tests.unit.connectors.conftest import FIXTURES

runner = CliRunner()


def _run(*args: str) -> tuple[int, list[dict], str]:
    result = runner.invoke(app, list(args))
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def test_dry_run_prints_one_canonical_event_per_line_and_exits_0() -> None:
    schools = FIXTURES / "schools"
    code, events, summary = _run(
        "schools",
        str(schools / "3832999_CTF_3844001_001.xml"),
        str(schools / "3832999_CTF_XXXXXXX_001.xml"),
        str(schools / "deletion_return.csv"),
        str(schools / "deletion_return.json"),
        "--dry-run",
    )
    assert code == 0, summary
    assert len(events) == 5
    for event in events:
        assert {"event_type", "event_id", "responsible_la", "child"} <= set(event)
        assert {"given_name", "surname", "date_of_birth", "sex", "upn", "nhs_number", "addresses"} <= set(
            event["child"]
        )
    assert events[0]["child"]["date_of_birth"] == "2014-02-15"
    assert events[2]["deletion_ground"] == "9(1)(i)"
    assert "read 5 records; events 5; sent 0; warned 0; quarantined 0; out of scope 0" in summary


def test_warnings_only_exit_1() -> None:
    code, events, summary = _run(
        "police", str(FIXTURES / "police" / "operation_encompass_notification.json"), "--dry-run"
    )
    assert (code, len(events)) == (1, 1)
    assert "warning no_force: 1" in summary


def test_a_folder_with_quarantined_records_exits_2_and_counts_per_reason() -> None:
    code, events, summary = _run("schools", str(FIXTURES / "schools" / "malformed"), "--dry-run")
    assert code == 2
    assert "quarantined for xml_refused: 2" in summary
    assert "quarantined for unknown_ground: 1" in summary
    assert f"events {len(events)};" in summary
    assert "Tomasz" not in summary and "H801200001002" not in summary  # no personal data in the summary


def test_every_family_runs_on_its_shared_examples() -> None:
    for family in ("health", "police", "border"):
        code, events, summary = _run(family, str(FIXTURES / family), "--dry-run")
        assert code in (0, 1, 2), summary
        assert events, family


def test_unreachable_kafka_fails_clearly_naming_the_broker() -> None:
    code, events, summary = _run(
        "schools",
        str(FIXTURES / "schools" / "deletion_return.csv"),
        "--bootstrap",
        "127.0.0.1:1",
        "--connect-timeout",
        "0.5",
    )
    assert code == 3 and events == []
    assert "Kafka at 127.0.0.1:1 cannot be reached" in summary
    assert "nothing was sent" in summary


def test_watch_ingests_files_that_arrive(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    summaries: list[IngestSummary] = []
    stop = threading.Event()
    with out.open("w") as stream:
        sink = PrintSink(stream)
        thread = threading.Thread(
            target=watch,
            args=(tmp_path / "in", "police", sink, ParseContext),
            kwargs={"interval_s": 0.05, "should_stop": stop.is_set, "on_summary": summaries.append},
        )
        (tmp_path / "in").mkdir()
        thread.start()
        shutil.copy(FIXTURES / "police" / "missing_child_notification.json", tmp_path / "in" / "a.json")
        deadline = time.monotonic() + 20  # generous: the machine is shared
        while not summaries and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join(5)
    assert summaries and summaries[0].events == 1
    assert json.loads(out.read_text().splitlines()[0])["event_type"] == "police.missing_episode"

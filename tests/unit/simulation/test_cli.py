"""`cmehub simulate`, `cmehub simulate stats` and `cmehub simulate stream` as a user runs them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer
from typer.testing import CliRunner

from services.cli import app

runner = CliRunner()


def test_writes_a_scenario_and_prints_its_statistics(tmp_path: Path) -> None:
    out = tmp_path / "term"
    result = runner.invoke(app, ["simulate", "--seed", "3", "--out", str(out), "--children", "1200"])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.csv").is_file() and (out / "link" / "register.csv").is_file()
    assert "cme_rate_census_day" in result.output and "wrote" in result.output
    stats = runner.invoke(app, ["simulate", "stats", str(out)])
    assert stats.exit_code == 0
    figures = json.loads(stats.stdout)["383"]["figures"]
    assert set(figures) == {"cme_rate_census_day", "episodes_per_year_per_child", "share_new_to_area", "twins_rate"}


def test_needs_an_output_folder() -> None:
    result = runner.invoke(app, ["simulate", "--seed", "3"])
    assert result.exit_code == 2
    assert "--out" in result.output


def test_rejects_an_impossible_period(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--start", "2025-12-01", "--end", "2025-09-01"])
    assert result.exit_code == 2
    assert "not after its start" in result.output


def test_stats_simulates_and_reports_json() -> None:
    result = runner.invoke(app, ["simulate", "stats", "--children", "1200", "--json"])
    doc = json.loads(result.stdout)
    assert doc["383"]["figures"]["twins_rate"]["target"] == 0.03
    assert result.exit_code in (0, 1)  # 1 when a small population misses a target


def test_stream_refuses_a_folder_without_a_scenario(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "stream", str(tmp_path), "--bootstrap", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "manifest.csv" in result.output


def test_demo_writes_once_and_streams_into_the_broker(tmp_path: Path, kafka_bootstrap: str, topic_name: str) -> None:
    folder = tmp_path / "demo"
    args = ["simulate", "demo", "--children", "800", "--minutes", "0.02", "--folder", str(folder),
            "--bootstrap", kafka_bootstrap, "--topic-prefix", f"{topic_name}."]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (folder / "manifest.csv").is_file() and "events" in first.output
    assert "dead-letter" in first.output
    consumer = KafkaConsumer(f"{topic_name}.cme.notifications.school", bootstrap_servers=kafka_bootstrap,
                             auto_offset_reset="earliest", group_id=None)
    poison: list[Any] = []
    deadline = time.monotonic() + 30
    try:
        while not poison and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                poison += [m for m in messages if m.value.startswith(b"cmehub simulate: this message is deliberately")]
    finally:
        consumer.close()
    assert len(poison) == 1 and poison[0].key == b"383"
    written = (folder / "manifest.csv").stat().st_mtime_ns
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert (folder / "manifest.csv").stat().st_mtime_ns == written  # the scenario is reused, not rewritten


def test_rewrites_its_own_folder_but_never_someone_elses(tmp_path: Path) -> None:
    out = tmp_path / "term"
    args = ["simulate", "--seed", "4", "--out", str(out), "--children", "600"]
    assert runner.invoke(app, args).exit_code == 0
    stale = out / "partners" / "schools" / "ctf" / "stale.xml"
    stale.write_text("left over from an earlier run")
    assert runner.invoke(app, args).exit_code == 0
    assert not stale.exists()  # an earlier scenario is replaced whole
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["simulate", "--out", str(other), "--children", "600"])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (other / "notes.txt").read_text() == "keep me"

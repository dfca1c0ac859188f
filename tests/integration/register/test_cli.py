"""`cmehub register` on a demo SQLite register built from real-shaped notifications."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from services.cli import app
from services.register.database import head_revision, migrate
from services.register.handlers import record_notification
from services.register.unit_of_work import unit_of_work_factory
from tests.unit.register import builders as b

D = dt.date
runner = CliRunner()


def _register(tmp_path: Path) -> tuple[str, str, str]:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    migrate(url)
    uows = unit_of_work_factory(url)
    first = record_notification(uows(), b.absence(D(2025, 10, 24), "abs-1", D(2025, 10, 13)), None)
    record_notification(uows(), b.lost_ctf(D(2025, 11, 14), "ctf-001"), first.child_id)
    uows.dispose()
    return url, first.child_id or "", first.case_id or ""


def test_show_by_child_and_by_case(tmp_path: Path) -> None:
    url, child_id, case_id = _register(tmp_path)
    for ident in (child_id, case_id):
        result = runner.invoke(app, ["register", "show", ident, "--database-url", url])
        assert result.exit_code == 0, result.output
        assert "lost_pupil" in result.output and "Okafor" in result.output and "follow_up" in result.output
    missing = runner.invoke(app, ["register", "show", "nobody", "--database-url", url])
    assert missing.exit_code == 1 and "no child or case with id nobody" in missing.output


def test_stats_as_json(tmp_path: Path) -> None:
    url, _, _ = _register(tmp_path)
    result = runner.invoke(app, ["register", "stats", "--as-of", "2025-12-10", "--json", "--database-url", url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cme_now"] == 1 and data["whereabouts_unknown"] == 1 and data["by_status"] == {"lost_pupil": 1}
    table = runner.invoke(app, ["register", "stats", "--as-of", "2025-12-10", "--database-url", url])
    assert table.exit_code == 0 and "CME now" in table.output
    bad = runner.invoke(app, ["register", "stats", "--as-of", "10/12/2025", "--database-url", url])
    assert bad.exit_code != 0 and "use YYYY-MM-DD" in bad.output


def test_export_dfe_writes_the_csv(tmp_path: Path) -> None:
    url, _, _ = _register(tmp_path)
    out = tmp_path / "dfe.csv"
    result = runner.invoke(app, ["register", "export-dfe", "--census-date", "2025-11-20", "--out", str(out),
                                 "--la", "383", "--database-url", url])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "la_code,census_date,measure,breakdown,value"
    assert "383,2025-11-20,cme_on_census_date,total,1" in lines
    assert "383,2025-11-20,cme_on_census_date_by_primary_reason,Whereabouts unknown,1" in lines


def test_retention_dry_run_removes_nothing(tmp_path: Path) -> None:
    url, child_id, _ = _register(tmp_path)
    result = runner.invoke(app, ["register", "retention", "--dry-run", "--today", "2080-01-01", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "nothing removed" in result.output
    shown = runner.invoke(app, ["register", "show", child_id, "--database-url", url])
    assert shown.exit_code == 0


def test_migrate_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = runner.invoke(app, ["register", "migrate", "--database-url", url])
    assert result.exit_code == 0 and f"register at revision {head_revision()}" in result.output


def test_escalate_overdue_tasks(tmp_path: Path) -> None:
    url, _, _ = _register(tmp_path)
    first = runner.invoke(app, ["register", "escalate", "--today", "2026-02-02", "--database-url", url])
    assert first.exit_code == 0 and "escalated 1 overdue task(s)" in first.output  # the follow-up
    again = runner.invoke(app, ["register", "escalate", "--today", "2026-02-03", "--database-url", url])
    assert "escalated 0 overdue task(s)" in again.output

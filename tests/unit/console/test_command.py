"""`cmehub console add-user | list-users | disable-user` against a SQLite register."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.commands.console import app
from services.settings import get_settings


@pytest.fixture
def register_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CMEHUB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CMEHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'register.sqlite3'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_add_list_and_disable_users(register_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("NEW_PASSWORD", "a long enough password")
    added = runner.invoke(app, ["add-user", "olivia", "--role", "officer", "--name", "Olivia Officer",
                                "--password-env", "NEW_PASSWORD"])
    assert added.exit_code == 0, added.output
    prompted = runner.invoke(app, ["add-user", "oscar", "--role", "operator"],
                             input="another long password\nanother long password\n")
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(app, ["list-users"])
    assert "olivia" in listed.output and "officer" in listed.output and "oscar" in listed.output
    assert "a long enough password" not in (register_env / "register.sqlite3").read_bytes().decode("latin-1")
    assert runner.invoke(app, ["disable-user", "oscar"]).exit_code == 0
    assert "disabled" in runner.invoke(app, ["list-users"]).output


def test_bad_input_is_refused_with_the_reason(register_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("SHORT", "short")
    short = runner.invoke(app, ["add-user", "ada", "--role", "auditor", "--password-env", "SHORT"])
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    monkeypatch.setenv("GOOD", "a long enough password")
    role = runner.invoke(app, ["add-user", "ada", "--role", "boss", "--password-env", "GOOD"])
    assert role.exit_code == 1 and "role must be one of" in role.output
    assert runner.invoke(app, ["add-user", "ada", "--role", "auditor", "--password-env", "GOOD"]).exit_code == 0
    again = runner.invoke(app, ["add-user", "ada", "--role", "auditor", "--password-env", "GOOD"])
    assert again.exit_code == 1 and "already exists" in again.output
    assert runner.invoke(app, ["disable-user", "nobody"]).exit_code == 1

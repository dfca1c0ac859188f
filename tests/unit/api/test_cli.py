"""`cmehub clients` and `cmehub audit verify` on a throwaway SQLite database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from services.cli import app
from services.settings import get_settings

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    monkeypatch.setenv("CMEHUB_DATABASE_URL", url)
    monkeypatch.setenv("CMEHUB_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _secret(output: str) -> tuple[str, str]:
    client_id = re.search(r"client_id\s+(\S+)", output)
    secret = re.search(r"client_secret\s+(\S+)", output)
    assert client_id and secret, output
    return client_id.group(1), secret.group(1)


def test_clients_add_list_rotate_revoke(database: str) -> None:
    added = runner.invoke(app, ["clients", "add", "Example School", "--scope", "partner", "--source", "school"])
    assert added.exit_code == 0, added.output
    client_id, secret = _secret(added.output)
    listed = runner.invoke(app, ["clients", "list"])
    assert client_id in listed.output and "active (gen 1)" in listed.output and secret not in listed.output
    rotated = runner.invoke(app, ["clients", "rotate", client_id])
    assert rotated.exit_code == 0 and _secret(rotated.output)[1] != secret
    assert "active (gen 2)" in runner.invoke(app, ["clients", "list"]).output
    assert runner.invoke(app, ["clients", "revoke", client_id]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["clients", "list"]).output
    refused = runner.invoke(app, ["clients", "add", "Bad", "--scope", "partner", "--source", "bakery"])
    assert refused.exit_code == 1 and "sources" in refused.output
    assert runner.invoke(app, ["clients", "rotate", "nobody"]).exit_code == 1
    assert "new signing key" in runner.invoke(app, ["clients", "rotate-signing-key"]).output


def test_audit_verify_passes_then_fails_after_an_edit(database: str) -> None:
    for name in ("one", "two"):
        assert runner.invoke(app, ["clients", "add", name, "--scope", "auditor"]).exit_code == 0
    from services.api.audit import AuditEntry, AuditLog
    from services.register.database import make_engine, session_factory

    engine = make_engine(database)
    log = AuditLog(session_factory(engine))
    for i in range(3):
        log.append(AuditEntry("c", "383", "child.read", "child", f"child-{i}", "case work"))
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 entries, chain intact" in ok.output
    with engine.begin() as conn:
        conn.execute(sa.text("update api_audit set subject_id = 'child-9' where seq = 2"))
    engine.dispose()
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "entry 2: content changed" in broken.output

"""A matching worker that cannot finish a batch ends its process, to be restarted, instead of hanging."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.matching.stream import EXIT_FOR_RESTART
from tests.integration.matching.notifications import deletion_return
from tests.integration.matching.stream_harness import StreamHarness


def test_a_worker_without_its_database_exits_for_restart(kafka_bootstrap: str, tmp_path: Path) -> None:
    # Nothing listens on port 9 of the loopback: the first batch cannot reach the register.
    harness = StreamHarness(kafka_bootstrap, "postgresql+psycopg://cmehub@127.0.0.1:9/cmehub", tmp_path)
    try:
        worker = harness.start_worker()
        harness.produce([deletion_return(0, batch="no-database")])
        try:
            code = worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            code = None
        log = (tmp_path / "worker0.log").read_text(errors="replace")
        assert code == EXIT_FOR_RESTART, f"worker still running or exited {code}; its log:\n{log[-3000:]}"
        assert "exiting to be restarted" in log
    finally:
        harness.stop_all()

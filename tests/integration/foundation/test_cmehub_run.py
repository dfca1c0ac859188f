"""`cmehub doctor` and `cmehub up` against real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cmehub(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_doctor_names_the_broker_it_cannot_reach(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CMEHUB_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}", "CMEHUB_STATE_DIR": str(tmp_path)}
    result = _cmehub("doctor", env=env)
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stdout
    assert "FAIL kafka" in result.stdout


def test_doctor_passes_with_the_real_broker_and_database(kafka_bootstrap: str, postgres_url: str,
                                                         tmp_path: Path) -> None:
    env = {**os.environ, "CMEHUB_KAFKA_BOOTSTRAP": kafka_bootstrap, "CMEHUB_DATABASE_URL": postgres_url,
           "CMEHUB_STATE_DIR": str(tmp_path), "CMEHUB_API_PORT": str(_free_port())}
    result = _cmehub("doctor", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   kafka" in result.stdout and "ok   database" in result.stdout


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,pgid="], capture_output=True, text=True, check=True).stdout
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, pp, _ in rows if pp in frontier} - found
        found |= children
        frontier = children
    return sorted(found)


def test_up_serves_health_and_ctrl_c_leaves_nothing_behind(kafka_bootstrap: str, tmp_path: Path) -> None:
    api_port = _free_port()
    env = {**os.environ, "CMEHUB_KAFKA_BOOTSTRAP": kafka_bootstrap, "CMEHUB_STATE_DIR": str(tmp_path),
           "CMEHUB_API_PORT": str(api_port)}
    hub = subprocess.Popen([sys.executable, "-m", "services", "up"], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health: dict[str, object] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and hub.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/healthz", timeout=5) as response:
                    health = json.load(response)
                    break
            except OSError:
                time.sleep(0.5)
        children = _descendants(hub.pid)
        assert health.get("status") == "ok", health
        assert health["kafka"] == {"healthy": True, "detail": f"1 broker(s) at {kafka_bootstrap}"}
        assert health["database"]["healthy"] is True  # type: ignore[index]
        assert len(children) >= 2  # the matching worker and the API
        hub.send_signal(signal.SIGINT)
        output = hub.communicate(timeout=60)[0]
    finally:
        if hub.poll() is None:
            hub.kill()
    assert hub.returncode == 0, output
    assert "stopped" in output
    still_running = [pid for pid in children if Path(f"/proc/{pid}").exists()
                     and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert still_running == []

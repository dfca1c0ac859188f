"""Private Kafka and PostgreSQL processes for fault tests: started, killed and restarted by the test.

Every process here runs on ports picked free at start (never the shared broker on 19092/19093, the
CI clone's 29092 or the shared PostgreSQL on 15432) with its data in a throw-away folder, so a fault
test can kill what it started without disturbing any other test.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
# Ports the shared services and the CI clone use; never picked for a private process.
RESERVED = {19092, 19093, 29092, 29093, 15432, 25432}


class ProcessScriptError(RuntimeError):
    """A deploy script failed; carries its output so the test report says why."""


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Below Linux's ephemeral range (32768 and up by default): a port there can be taken by any outgoing
# connection between the check here and the server's bind (a cluster node once failed so in CI).
PRIVATE_PORTS = (30100, 31500)
PRIVATE_POSTGRES_PORTS = (31500, 32700)


def free_port_range(count: int, low: int = PRIVATE_PORTS[0], high: int = PRIVATE_PORTS[1]) -> int:
    """The first port of ``count`` consecutive free ports in [low, high) that avoid the shared ones."""
    for _ in range(200):
        base = random.randrange(low, high - count)
        ports = range(base, base + count)
        if not RESERVED.intersection(ports) and all(_free(p) for p in ports):
            return base
    raise ProcessScriptError(f"no {count} consecutive free ports between {low} and {high}")


def _run(argv: list[str], env: dict[str, str], timeout_s: float = 150) -> str:
    started = time.monotonic()
    result = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout_s,
                            check=False)
    if result.returncode != 0:
        raise ProcessScriptError(
            f"{' '.join(argv)} failed (exit {result.returncode}) after {time.monotonic() - started:.1f} s:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def _tail(logs: Path, lines: int = 15) -> str:
    """The last lines of every log file in ``logs`` (for the report of a failed start)."""
    out = []
    for path in sorted(logs.glob("*.log")):
        text = path.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"--- {path}\n" + "\n".join(text))
    return "\n".join(out)


def _sigkill(pid_file: Path) -> int:
    """SIGKILL the process named in ``pid_file`` and wait until it is gone; returns its pid."""
    pid = int(pid_file.read_text().strip())
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        time.sleep(0.05)
    raise ProcessScriptError(f"process {pid} survived SIGKILL for 5 s")


@dataclass
class KafkaCluster:
    """Three KRaft nodes on one machine, run by ``deploy/kafka/cluster.sh`` (RF 3, min ISR 2)."""

    base_port: int
    folder: Path
    script: Path = DEPLOY / "kafka" / "cluster.sh"

    @property
    def env(self) -> dict[str, str]:
        return {"CMEHUB_KAFKA_CLUSTER_PORT": str(self.base_port), "CMEHUB_KAFKA_CLUSTER_DIR": str(self.folder)}

    def port(self, node: int) -> int:
        return self.base_port + 2 * (node - 1)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port(n)}" for n in (1, 2, 3))

    def _do(self, *args: str) -> str:
        return _run(["bash", str(self.script), *args], self.env)

    def start(self) -> None:
        self._do("start")

    def stop(self) -> None:
        self._do("stop")

    def kill(self, node: int) -> None:
        """SIGKILL one node, as a crash or the kernel's OOM killer would."""
        self._do("kill", str(node))

    def restart(self, node: int) -> None:
        """Start a node again and wait until it is back in the cluster."""
        self._do("restart", str(node))

    def status(self) -> str:
        return subprocess.run(["bash", str(self.script), "status"], env={**os.environ, **self.env},
                              capture_output=True, text=True, check=False).stdout


@dataclass
class LocalBroker:
    """A private single-node broker run by the lead's ``deploy/kafka/start.sh`` on its own port."""

    port: int
    state_dir: Path

    @property
    def env(self) -> dict[str, str]:
        # An empty CMEHUB_KAFKA_BOOTSTRAP: start.sh must start this broker, not defer to a configured one.
        return {"CMEHUB_KAFKA_PORT": str(self.port), "CMEHUB_STATE_DIR": str(self.state_dir),
                "CMEHUB_KAFKA_BOOTSTRAP": ""}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"kafka-{self.port}" / "broker.pid"

    def start(self) -> None:
        try:
            _run(["bash", str(DEPLOY / "kafka" / "start.sh")], self.env)
        except ProcessScriptError as exc:
            raise ProcessScriptError(f"{exc}\n{_tail(self.state_dir / f'kafka-{self.port}' / 'logs')}") from exc

    def stop(self) -> None:
        _run(["bash", str(DEPLOY / "kafka" / "stop.sh")], self.env)

    def kill(self) -> int:
        """SIGKILL the broker; returns its pid."""
        return _sigkill(self.pid_file)


@dataclass
class LocalPostgres:
    """A private PostgreSQL cluster run by the lead's ``deploy/postgres/start.sh`` on its own port."""

    port: int
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {"CMEHUB_POSTGRES_PORT": str(self.port), "CMEHUB_POSTGRES_HOME": str(self.home)}

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://cmehub@127.0.0.1:{self.port}/cmehub"

    def start(self) -> None:
        _run(["bash", str(DEPLOY / "postgres" / "start.sh")], self.env)

    def stop(self) -> None:
        """A fast shutdown (pg_ctl -m fast): open sessions are cut, as in a failover or a restart."""
        _run(["bash", str(DEPLOY / "postgres" / "stop.sh")], self.env)


def _scratch(prefix: str) -> Path:
    # Under /tmp and world-traversable: as root the PostgreSQL cluster belongs to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def kafka_cluster() -> Iterator[KafkaCluster]:
    """A fresh three-node KRaft cluster for the tests of one module; stopped and removed afterwards."""
    folder = _scratch("cmehub-faults-cluster-")
    cluster = KafkaCluster(free_port_range(6), folder)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            for node in (1, 2, 3):  # its data is thrown away: no need for a graceful shutdown
                cluster.kill(node)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def local_broker() -> Iterator[LocalBroker]:
    """A fresh private single-node broker for one test; stopped and removed afterwards."""
    folder = _scratch("cmehub-faults-broker-")
    broker = LocalBroker(free_port_range(2), folder)
    try:
        broker.start()
        yield broker
    finally:
        try:
            broker.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def local_postgres() -> Iterator[LocalPostgres]:
    """A fresh private PostgreSQL cluster for one test; stopped and removed afterwards."""
    folder = _scratch("cmehub-faults-pg-")
    server = LocalPostgres(free_port_range(1, *PRIVATE_POSTGRES_PORTS), folder / "pg")
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

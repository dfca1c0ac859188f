"""Checks of the hub's dependencies, shared by ``cmehub doctor`` and the API's ``/healthz``.

Each check says exactly what is wrong and how to fix it; none carries personal data.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass

import sqlalchemy as sa


@dataclass(frozen=True)
class Check:
    """The outcome of one dependency check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def _split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_java() -> Check:
    """Java 17+ runs the local Kafka broker."""
    java = shutil.which("java")
    if java is None:
        return Check("java", False, "java is not on PATH",
                     "install Java 17+ (apt-get install openjdk-17-jre-headless) or set CMEHUB_KAFKA_BOOTSTRAP")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    first = out.splitlines()[0] if out else "unknown version"
    return Check("java", True, first)


def check_kafka(bootstrap: str, timeout_s: float = 5.0) -> Check:
    """The broker answers a metadata request at every bootstrap address."""
    for address in bootstrap.split(","):
        host, port = _split_host_port(address)
        if not port_answers(host, port):
            return Check("kafka", False, f"no broker answers at {host}:{port}",
                         "start it with deploy/kafka/start.sh (or `cmehub up`), or set "
                         "CMEHUB_KAFKA_BOOTSTRAP to a running cluster")
    from kafka import KafkaAdminClient  # imported late: it is slow to import

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000),
                                 client_id="cmehub-health")
        try:
            brokers = admin.describe_cluster()["brokers"]
        finally:
            admin.close()
    except Exception as exc:  # any client failure means "not healthy"; say which
        return Check("kafka", False, f"broker at {bootstrap} did not answer metadata: {type(exc).__name__}",
                     "check the broker's log (deploy/kafka keeps it under ~/.cmehub/kafka-<port>/logs)")
    return Check("kafka", True, f"{len(brokers)} broker(s) at {bootstrap}")


def check_database(url: str) -> Check:
    """The register's database accepts a query."""
    engine = sa.create_engine(url, pool_pre_ping=False)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        fix = ("start it with deploy/postgres/start.sh (or `cmehub up`)" if engine.url.get_backend_name()
               == "postgresql" else "check that the folder of the SQLite file exists and is writable")
        return Check("database", False, f"cannot reach {shown}: {reason}", fix)
    finally:
        engine.dispose()
    return Check("database", True, shown)


def check_port_free(name: str, host: str, port: int) -> Check:
    """A port the hub wants to listen on is free."""
    if port_answers(host, port, timeout=0.5):
        return Check(name, False, f"port {host}:{port} is already in use",
                     f"stop whatever listens there, or choose another port (CMEHUB_{name.upper()}_PORT)")
    return Check(name, True, f"{host}:{port} is free")

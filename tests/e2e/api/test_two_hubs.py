"""Two hubs (LA 383 and LA 384) as separate API processes on the real broker and PostgreSQL.

A school in LA 384 pushes a deletion return to hub B; hub B's register takes it in; an officer in
LA 383 asks hub B through hub A and is told the child is known; both audit logs hold the enquiry;
``cmehub audit verify`` passes on hub B, then fails once one audit row is edited in the database.

Hub B's register is fed from Kafka by the matching worker's own pipeline (``NotificationPipeline``:
link, then the register's handler), called here on the events read back from the broker rather
than through a faust worker process, so the test does not depend on the worker's start-up time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition

from schemas.codec import default_codec
from services.api.clients import ClientRegistry
from services.api.database import migrate as migrate_api
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import NotificationPipeline
from services.register.database import make_engine, session_factory
from services.register.database import migrate as migrate_register
from services.register.unit_of_work import UnitOfWorkFactory

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[3]
DELETION = ROOT / "tests" / "fixtures" / "api" / "3842001_deletion_return.csv"
PURPOSE = {"code": "cme_whereabouts", "text": "left our school without a destination; family has links to 384"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def second_postgres_url(postgres_server_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    try:
        yield sa.make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


class Hub:
    """One hub's API process and how to talk to it."""

    def __init__(self, la: str, url: str, state: Path, bootstrap: str, peers: list[dict[str, str]] | None = None):
        self.la, self.db = la, url
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CMEHUB_LA_CODE": la, "CMEHUB_LA_NAME": f"Authority {la}",
                    "CMEHUB_DATABASE_URL": url, "CMEHUB_STATE_DIR": str(state), "CMEHUB_KAFKA_BOOTSTRAP": bootstrap,
                    "CMEHUB_API_PEERS": json.dumps(peers or [])}
        self.process: subprocess.Popen[bytes] | None = None
        migrate_register(url)
        migrate_matching(url)
        migrate_api(url)

    def cmehub(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)

    def add_client_here(self, name: str, *scopes: str, sources: tuple[str, ...] = ()) -> tuple[str, str]:
        """Register a client straight in the hub's database (quicker than the CLI on a busy machine)."""
        engine = make_engine(self.db)
        try:
            info, secret = ClientRegistry(session_factory(engine)).add(name, self.la, list(scopes), list(sources))
        finally:
            engine.dispose()
        return info.client_id, secret

    def add_client(self, name: str, *options: str) -> tuple[str, str]:
        done = self.cmehub("clients", "add", name, *options)
        assert done.returncode == 0, done.stderr
        client_id = re.search(r"client_id\s+(\S+)", done.stdout)
        secret = re.search(r"client_secret\s+(\S+)", done.stdout)
        assert client_id and secret, done.stdout
        return client_id.group(1), secret.group(1)

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "services.cli", "api", "--host", "127.0.0.1",
                                         "--port", str(self.port)], env=self.env, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"hub {self.la} API exited with {self.process.returncode}"
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"hub {self.la} API not ready within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def token(self, client_id: str, secret: str) -> dict[str, str]:
        response = httpx.post(f"{self.base}/oauth/token", data={"grant_type": "client_credentials",
                                                                "client_id": client_id, "client_secret": secret})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        return dict(consumer.end_offsets([TopicPartition(topic, p) for p in parts])) if parts else {}
    finally:
        consumer.close()


def _take_into_register(bootstrap: str, topic: str, since: dict[TopicPartition, int], event_ids: set[str],
                        url: str, la: str) -> list[dict[str, Any]]:
    """Read our events off the broker and put them through the matching pipeline into the hub's register."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=20000)
    parts = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, since.get(tp, 0))
    found: list[dict[str, Any]] = []
    try:
        for message in consumer:
            event = default_codec().decode(message.value, topic)
            if event["event_id"] in event_ids:
                found.append(event)
            if len(found) == len(event_ids):
                break
    finally:
        consumer.close()
    uows = UnitOfWorkFactory(make_engine(url))
    try:
        pipeline = NotificationPipeline(uows, local_la=la)
        for event in found:
            pipeline.process(event)
    finally:
        uows.dispose()
    return found


def test_child_pushed_to_hub_b_is_found_by_an_enquiry_from_hub_a(
    tmp_path: Path, kafka_bootstrap: str, postgres_url: str, second_postgres_url: str
) -> None:
    hub_b = Hub("384", second_postgres_url, tmp_path / "b", kafka_bootstrap)
    a_at_b = hub_b.add_client("LA 383 hub", "--scope", "authority", "--home-la", "383")
    school = hub_b.add_client_here("Example School 3842001", "partner", sources=("school",))
    operator_b = hub_b.add_client_here("LA 384 operations", "operator")
    auditor_b = hub_b.add_client_here("LA 384 auditor", "auditor")
    peers = [{"la_code": "384", "url": hub_b.base, "client_id": a_at_b[0], "client_secret": a_at_b[1]}]
    hub_a = Hub("383", postgres_url, tmp_path / "a", kafka_bootstrap, peers)
    officer_a = hub_a.add_client("LA 383 CME officer", "--scope", "officer")
    auditor_a = hub_a.add_client_here("LA 383 auditor", "auditor")
    listing = hub_a.cmehub("clients", "list")
    assert officer_a[0] in listing.stdout and a_at_b[1] not in listing.stdout
    try:
        hub_b.start()
        hub_a.start()
        topic = "cme.notifications.school"
        since = _end_offsets(kafka_bootstrap, topic)
        pushed = httpx.post(f"{hub_b.base}/v1/notifications/school?file_name={DELETION.name}",
                            content=DELETION.read_bytes(), headers=hub_b.token(*school), timeout=30)
        assert pushed.status_code == 202, pushed.text
        ids = set(pushed.json()["event_ids"])
        assert len(_take_into_register(kafka_bootstrap, topic, since, ids, hub_b.db, "384")) == 1
        refreshed = httpx.post(f"{hub_b.base}/v1/ops/index/refresh", headers=hub_b.token(*operator_b), timeout=30)
        assert refreshed.json()["children"] == 1

        asked = httpx.post(f"{hub_a.base}/v1/outbound-enquiries", headers=hub_a.token(*officer_a), timeout=30, json={
            "to_la": ["384"], "purpose": PURPOSE,
            "child": {"given_name": "Kasia", "surname": "FICTIONAL", "date_of_birth": "2014-09-12", "sex": "F"}})
        assert asked.status_code == 200, asked.text
        [answer] = asked.json()["answers"]
        assert answer["status"] == "known", answer
        known = answer["answer"]["known"]
        assert known["case_status"] == "not_found" and "Authority 384" in known["contact_point"]
        assert "address" not in known and "BD1" not in asked.text

        audit_a = httpx.get(f"{hub_a.base}/v1/audit", headers=hub_a.token(*auditor_a)).json()["entries"]
        sent = [e for e in audit_a if e["action"] == "enquiry.sent"]
        assert [e["subject_id"] for e in sent] == [answer["enquiry_id"]]
        audit_b = httpx.get(f"{hub_b.base}/v1/audit", headers=hub_b.token(*auditor_b)).json()["entries"]
        received = [e for e in audit_b if e["action"] == "enquiry.received"]
        assert len(received) == 1 and answer["enquiry_id"] in received[0]["detail"]
        assert received[0]["actor"] == a_at_b[0] and received[0]["actor_la"] == "383"
        assert any(e["action"] == "child.read" for e in audit_b)
    finally:
        hub_a.stop()
        hub_b.stop()

    for hub in (hub_a, hub_b):
        verified = hub.cmehub("audit", "verify")
        assert verified.returncode == 0, verified.stderr
        assert "chain intact" in verified.stdout
    engine = sa.create_engine(hub_b.db)
    try:
        with engine.begin() as conn:  # someone with the power to bypass the append-only trigger
            conn.execute(sa.text("set local session_replication_role = replica"))
            conn.execute(sa.text("update api_audit set purpose = 'nothing to see' where action = 'enquiry.received'"))
    finally:
        engine.dispose()
    broken = hub_b.cmehub("audit", "verify")
    assert broken.returncode == 1
    assert "content changed" in broken.stderr

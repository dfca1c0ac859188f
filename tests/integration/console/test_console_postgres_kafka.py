"""The console's table on PostgreSQL and the operations figures on the real broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.api.app import create_app
from services.api.console.database import VERSION_TABLE, migrate
from services.api.notifications import NotificationIntake
from services.api.operations import BrokerOps
from services.register.database import migrate as migrate_register
from services.settings import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def test_the_console_table_has_its_own_migration_history(postgres_url: str) -> None:
    migrate(postgres_url)
    migrate(postgres_url)  # idempotent
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"select version_num from {VERSION_TABLE}")).scalar() == "c0001"
        columns = {c["name"] for c in sa.inspect(conn).get_columns("console_user")}
    engine.dispose()
    assert {"username", "role", "password_hash", "disabled"} <= columns


def test_topics_throughput_and_lag_history_reach_the_page_and_prometheus(tmp_path: Path, postgres_url: str,
                                                                          kafka_bootstrap: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    topic, group = f"{prefix}cme.notifications.school", f"{prefix}matching"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)

    def send(n: int) -> None:
        for i in range(n):
            producer.send(topic, key=b"383", value=f"m{i}".encode(), partition=0)
        producer.flush()

    send(3)
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(1, "", -1)})
    consumer.close()
    migrate_register(postgres_url)
    settings = Settings(state_dir=tmp_path / "state", database_url=postgres_url, kafka_bootstrap=kafka_bootstrap,
                        la_code="383", topic_prefix=prefix)
    app = create_app(settings)
    app.state.hub.ops = BrokerOps(kafka_bootstrap, topic_prefix=prefix)
    app.state.hub.notifications = NotificationIntake(kafka_bootstrap, "383", topic_prefix=prefix)
    monitor = app.state.console.monitor
    first = monitor.latest(max_age_s=0)
    assert first.error is None, first.error
    school = next(t for t in first.topics if t.name == topic)
    assert school.exists and school.messages == 3 and school.end_offsets[0] == 3 and school.per_second is None
    [lag] = [r for r in first.lag if r.group == group]
    assert (lag.partition, lag.committed, lag.end, lag.lag) == (0, 1, 3, 2)
    send(2)
    second = monitor.latest(max_age_s=0)
    school = next(t for t in second.topics if t.name == topic)
    assert school.messages == 5 and school.per_second is not None and school.per_second > 0
    [lag] = [r for r in second.lag if r.group == group]
    assert lag.history == (2, 4)
    producer.close()
    with TestClient(app) as client:
        metrics = client.get("/metrics").text
    assert f'cmehub_consumer_lag{{group="{group}",partition="0",topic="{topic}"}} 4.0' in metrics
    assert f'cmehub_topic_messages{{topic="{topic}"}} 5.0' in metrics
    assert "cmehub_console_broker_up 1.0" in metrics


def test_an_operator_parses_a_quarantined_record_again_and_an_officer_may_not(tmp_path: Path, postgres_url: str,
                                                                               kafka_bootstrap: str) -> None:
    from tests.unit.console.conftest import CHEAP, PASSWORD, csrf_of, sign_in

    prefix = f"t{uuid.uuid4().hex[:8]}."
    migrate_register(postgres_url)
    settings = Settings(state_dir=tmp_path / "state", database_url=postgres_url, kafka_bootstrap=kafka_bootstrap,
                        la_code="383", topic_prefix=prefix)
    app = create_app(settings)
    app.state.hub.ops = BrokerOps(kafka_bootstrap, topic_prefix=prefix)
    app.state.hub.notifications = NotificationIntake(kafka_bootstrap, "383", topic_prefix=prefix)
    console = app.state.console
    console.ensure_tables()
    console.users.hasher = CHEAP
    console.users.add("oscar", "Oscar Operator", "operator", PASSWORD)
    console.users.add("olivia", "Olivia Officer", "officer", PASSWORD)
    junk = (Path(__file__).parents[2] / "fixtures" / "police" / "malformed" / "child_future_dob.json").read_bytes()
    assert app.state.hub.notifications.push("police", junk, "child_future_dob.json").quarantined
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "olivia")
        page = client.get("/console/operations").text
        assert "Parse again" not in page
        refused = client.post("/console/operations/quarantine/0/0/replay", data={"csrf_token": csrf_of(page)})
        assert refused.status_code == 403
        client.cookies.clear()
        sign_in(client, "oscar")
        page = client.get("/console/operations").text
        action = page.split('action="/console/operations/quarantine/')[1].split('"')[0]
        replayed = client.post(f"/console/operations/quarantine/{action}", data={"csrf_token": csrf_of(page)})
        assert replayed.status_code == 303, replayed.text
        assert client.post(f"/console/operations/quarantine/{action}", data={"csrf_token": "forged"}
                           ).status_code == 400
    again = app.state.hub.ops.newest(app.state.hub.ops.quarantine_topic, 10)
    assert len(again) == 2  # still malformed: quarantined again, nothing lost
    actions = [e.action for e in app.state.hub.audit.entries(actor="console:oscar")]
    assert "quarantine.replayed" in actions

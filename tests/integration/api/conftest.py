"""An API on the real PostgreSQL and Kafka, with helpers for clients and tokens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.notifications import NotificationIntake
from services.api.operations import BrokerOps
from services.register.database import migrate as migrate_register
from services.settings import Settings


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def pg_settings(tmp_path: Path, postgres_url: str, kafka_bootstrap: str) -> Settings:
    migrate_register(postgres_url)
    return Settings(state_dir=tmp_path / "state", database_url=postgres_url, kafka_bootstrap=kafka_bootstrap,
                    la_code="383")


@pytest.fixture
def pg_app(pg_settings: Settings, topic_prefix: str) -> FastAPI:
    app = create_app(pg_settings)
    app.state.hub.notifications = NotificationIntake(pg_settings.bootstrap_servers, "383", topic_prefix=topic_prefix)
    app.state.hub.ops = BrokerOps(pg_settings.bootstrap_servers, topic_prefix=topic_prefix)
    return app


@pytest.fixture
def pg_client(pg_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(pg_app) as test_client:
        yield test_client


def headers_for(app: FastAPI, client: TestClient, *scopes: str, sources: list[str] | None = None,
                home_la: str = "383") -> dict[str, str]:
    info, secret = app.state.hub.clients.add(f"it {' '.join(scopes)}", home_la, list(scopes), sources or [])
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": info.client_id,
                                                 "client_secret": secret})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}

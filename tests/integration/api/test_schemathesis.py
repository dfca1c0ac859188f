"""Schemathesis against /openapi.json with a valid token: no 5xx, no response breaking its own schema.

Runs on the real PostgreSQL and broker (pushes go to test-prefixed topics). The token carries every
scope and a limit high enough that the rate limiter never answers for the API under test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from services.api.app import create_app
from services.api.database import migrate as migrate_api
from services.api.notifications import NotificationIntake
from services.api.operations import BrokerOps
from services.register.database import migrate as migrate_register
from services.settings import Settings
from tests.unit.api.register_seed import seed_register

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture(scope="module")
def module_postgres_url(postgres_server_url: str) -> Iterator[str]:
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


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, module_postgres_url: str,
           kafka_bootstrap: str) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    migrate_register(module_postgres_url)
    migrate_api(module_postgres_url)
    seed_register(module_postgres_url, "B383120000100", "9434765919")
    state = Path(tmp_path_factory.mktemp("schemathesis"))
    app = create_app(Settings(state_dir=state, database_url=module_postgres_url, kafka_bootstrap=kafka_bootstrap,
                              la_code="383", la_name="Leeds"))
    prefix = f"t{uuid.uuid4().hex[:8]}."
    app.state.hub.notifications = NotificationIntake(kafka_bootstrap, "383", topic_prefix=prefix)
    app.state.hub.ops = BrokerOps(kafka_bootstrap, topic_prefix=prefix)
    with TestClient(app) as client:
        info, secret = app.state.hub.clients.add(
            "fuzzer", "383", ["partner", "authority", "officer", "operator", "auditor"],
            ["school", "health", "police", "border"], rate_per_s=1e6, burst=10**6, daily_quota=10**9)
        token = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": info.client_id,
                                                  "client_secret": secret}).json()["access_token"]
        yield app, {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[FastAPI, dict[str, str]]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed[0])


def _operation_labels() -> list[str]:
    # The app's own schema, read once at collection (no database or broker is touched).
    app = create_app(Settings(state_dir=Path("/nonexistent-cmehub-state"), database_url="sqlite://",
                              kafka_bootstrap="127.0.0.1:9"))
    return [f"{method.upper()} {path}" for path, methods in app.openapi()["paths"].items() for method in methods]


@pytest.mark.parametrize("label", _operation_labels())
def test_api_keeps_its_contract(label: str, api_schema: Any, fuzzed: tuple[FastAPI, dict[str, str]]) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    headers = dict(fuzzed[1])

    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def examples(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance,
                                                        content_type_conformance])

    examples()

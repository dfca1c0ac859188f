"""A hub on a throwaway SQLite register with the console's demo data and one user per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.settings import Settings
from tests.unit.console.demo import Demo, load_demo

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def demo_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'register.sqlite3'}"


@pytest.fixture
def demo(demo_url: str) -> Demo:
    return load_demo(demo_url)


@pytest.fixture
def console_app(tmp_path: Path, demo_url: str, demo: Demo) -> FastAPI:
    # An unreachable broker: these tests never need Kafka (the operations page says it is down).
    settings = Settings(state_dir=tmp_path / "state", database_url=demo_url, kafka_bootstrap="127.0.0.1:9",
                        la_code="383", la_name="Leeds")
    app = create_app(settings)
    users = app.state.console.users
    app.state.console.ensure_tables()
    users.add("olivia", "Olivia Officer", "officer", PASSWORD)
    users.add("oscar", "Oscar Operator", "operator", PASSWORD)
    users.add("ada", "Ada Auditor", "auditor", PASSWORD)
    return app


@pytest.fixture
def browser(console_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(console_app, follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    form = client.get("/console/login")
    response = client.post("/console/login", data={"username": username, "password": password,
                                                   "csrf_token": csrf_of(form.text), "next": "/console/dashboard"})
    assert response.status_code == 303, response.text

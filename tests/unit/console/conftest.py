"""A hub on a throwaway SQLite register with the console's demo data and one user per role."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.console.users import ConsoleUsers
from services.register.database import make_engine, session_factory
from services.settings import Settings
from tests.unit.console.demo import Demo, load_demo

PASSWORD = "correct horse battery staple"
# Argon2 with small costs: the tests check the flow, not the hash's strength (a shared CI machine
# spends about a second on the production parameters).
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Demo]:
    """The demo register with one user per role, built once; each test gets its own copy."""
    path = tmp_path_factory.mktemp("console-demo") / "register.sqlite3"
    url = f"sqlite:///{path}"
    demo = load_demo(url)
    engine = make_engine(url)
    users = ConsoleUsers(session_factory(engine), CHEAP)
    users.add("olivia", "Olivia Officer", "officer", PASSWORD)
    users.add("oscar", "Oscar Operator", "operator", PASSWORD)
    users.add("ada", "Ada Auditor", "auditor", PASSWORD)
    engine.dispose()
    return path, demo


@pytest.fixture
def demo_url(tmp_path: Path, demo_template: tuple[Path, Demo]) -> str:
    copy = tmp_path / "register.sqlite3"
    shutil.copyfile(demo_template[0], copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def demo(demo_template: tuple[Path, Demo]) -> Demo:
    return demo_template[1]


@pytest.fixture
def console_app(tmp_path: Path, demo_url: str, demo: Demo) -> FastAPI:
    # An unreachable broker: these tests never need Kafka (the operations page says it is down).
    settings = Settings(state_dir=tmp_path / "state", database_url=demo_url, kafka_bootstrap="127.0.0.1:9",
                        la_code="383", la_name="Leeds")
    app = create_app(settings)
    app.state.console.users.hasher = CHEAP
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

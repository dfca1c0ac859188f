"""An API on a throwaway SQLite register, with helpers to register clients and get tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.register.database import migrate as migrate_register
from services.settings import Settings

TokenFor = Callable[..., dict[str, str]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # An unreachable broker: the unit tests never need Kafka.
    url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    migrate_register(url)
    return Settings(state_dir=tmp_path / "state", database_url=url, kafka_bootstrap="127.0.0.1:9", la_code="383",
                    la_name="Leeds")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def get_token(client: TestClient, client_id: str, secret: str) -> str:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                 "client_secret": secret})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def token_for(app: FastAPI, client: TestClient) -> TokenFor:
    """``token_for("partner", sources=["school"], home_la="383")`` → Authorization headers."""

    def make(*scopes: str, sources: list[str] | None = None, home_la: str = "383", **limits: float) -> dict[str, str]:
        info, secret = app.state.hub.clients.add(f"test {' '.join(scopes)}", home_la, list(scopes), sources or [],
                                                 **limits)
        return {"Authorization": f"Bearer {get_token(client, info.client_id, secret)}"}

    return make



def valid_upn(body: str) -> str:
    """A valid UPN from its 12 characters after the check letter, e.g. ``383120000100``."""
    from connectors.common.identifiers import upn_check_letter

    return upn_check_letter(body) + body


def valid_nhs(first_nine: str) -> str:
    """A valid NHS number from its first nine digits (pick nine whose check digit is not 10)."""
    from connectors.common.identifiers import nhs_number_check_digit

    check = nhs_number_check_digit(first_nine)
    assert check is not None, f"{first_nine} has no valid check digit"
    return f"{first_nine}{check}"

"""Partner pushes at the HTTP edge, with delivery recorded in memory (no broker needed here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from connectors.common.quarantine import ParseResult
from services.api.notifications import BrokerUnavailable
from tests.unit.api.conftest import TokenFor

FIXTURES = Path(__file__).parents[2] / "fixtures"
DELETIONS = (FIXTURES / "schools" / "deletion_return.csv").read_bytes()
BAD_ROWS = (FIXTURES / "schools" / "malformed" / "deletion_bad_rows.csv").read_bytes()


class RecordingDelivery:
    """Stands in for Kafka: remembers what would have been sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.quarantined: list[Any] = []
        self.down = False

    def __call__(self, result: ParseResult) -> None:
        if self.down:
            raise BrokerUnavailable("Kafka at 127.0.0.1:9 does not answer")
        self.events += result.events
        self.quarantined += result.quarantined


@pytest.fixture
def sent(app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> RecordingDelivery:
    recorder = RecordingDelivery()
    monkeypatch.setattr(app.state.hub.notifications, "deliver", recorder)
    return recorder


def test_push_gives_202_with_event_ids_and_is_idempotent(
    client: TestClient, token_for: TokenFor, sent: RecordingDelivery
) -> None:
    school = token_for("partner", sources=["school"])
    first = client.post("/v1/notifications/school", content=DELETIONS, headers={**school, "X-File-Name": "d.csv"})
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["format"] == "returns-csv" and body["records"] == 2
    assert body["accepted"] == 2 and len(set(body["event_ids"])) == 2
    assert [e["event_id"] for e in sent.events] == body["event_ids"]
    again = client.post("/v1/notifications/school", content=DELETIONS, headers={**school, "X-File-Name": "d.csv"})
    assert again.json()["event_ids"] == body["event_ids"]
    unnamed = client.post("/v1/notifications/school", content=DELETIONS, headers=school)
    assert unnamed.json()["event_ids"] == client.post("/v1/notifications/school", content=DELETIONS,
                                                      headers=school).json()["event_ids"]


def test_partly_bad_file_accepts_good_records_and_lists_every_reason(
    client: TestClient, token_for: TokenFor, sent: RecordingDelivery
) -> None:
    school = token_for("partner", sources=["school"])
    response = client.post("/v1/notifications/school", content=BAD_ROWS, headers=school)
    body = response.json()
    assert body["records"] == body["accepted"] + len(body["quarantined"])  # nothing lost
    assert body["quarantined"] and all(q["reasons"] for q in body["quarantined"])
    assert len(sent.quarantined) == len(body["quarantined"])  # quarantined records still go to Kafka
    assert response.status_code == (202 if body["accepted"] else 422)


def test_unreadable_payload_gives_422_with_reasons_and_is_quarantined(
    client: TestClient, token_for: TokenFor, sent: RecordingDelivery
) -> None:
    response = client.post("/v1/notifications/school", content=b"\x00\x01 not a school file",
                           headers=token_for("partner", sources=["school"]))
    assert response.status_code == 422
    body = response.json()
    assert body["accepted"] == 0 and body["quarantined"][0]["position"] == "whole file"
    assert body["quarantined"][0]["reasons"]
    assert len(sent.quarantined) == 1 and sent.quarantined[0].original == b"\x00\x01 not a school file"


def test_partner_cannot_push_a_source_it_is_not_registered_for(
    client: TestClient, token_for: TokenFor, sent: RecordingDelivery
) -> None:
    school = token_for("partner", sources=["school"])
    response = client.post("/v1/notifications/police", content=b"{}", headers=school)
    assert response.status_code == 403
    assert sent.events == [] and sent.quarantined == []
    officer = token_for("officer")
    assert client.post("/v1/notifications/school", content=DELETIONS, headers=officer).status_code == 403
    assert client.post("/v1/notifications/nonsense", content=b"x", headers=school).status_code == 404


def test_broker_down_gives_503_and_nothing_is_audited_as_received(
    app: FastAPI, client: TestClient, token_for: TokenFor, sent: RecordingDelivery
) -> None:
    sent.down = True
    response = client.post("/v1/notifications/school", content=DELETIONS, headers=token_for("partner",
                                                                                              sources=["school"]))
    assert response.status_code == 503
    assert "nothing was accepted" in response.json()["detail"] and response.headers["Retry-After"]
    actions = {r.action for r in app.state.hub.audit.entries(limit=1000)}
    assert "notification.received" not in actions


def test_real_intake_answers_503_quickly_when_the_broker_is_unreachable(
    client: TestClient, token_for: TokenFor
) -> None:
    # settings point at 127.0.0.1:9, where nothing listens
    response = client.post("/v1/notifications/school", content=DELETIONS, headers=token_for("partner",
                                                                                              sources=["school"]))
    assert response.status_code == 503
    assert "127.0.0.1:9" in response.json()["detail"]


def test_every_accepted_event_is_audited(
    app: FastAPI, client: TestClient, token_for: TokenFor, sent: RecordingDelivery
) -> None:
    body = client.post("/v1/notifications/school", content=DELETIONS,
                       headers=token_for("partner", sources=["school"])).json()
    audited = {r.subject_id for r in app.state.hub.audit.entries(limit=1000) if r.action == "notification.received"}
    assert audited == set(body["event_ids"])

"""Outbound enquiries between two in-process hubs (LA 383 asks LA 384), answers recorded on the case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.peers import PeerClient, peers_from_settings
from services.register.database import migrate as migrate_register
from services.settings import Settings
from tests.unit.api.conftest import get_token, valid_nhs, valid_upn
from tests.unit.api.register_seed import Seeded, seed_register

UPN, NHS = valid_upn("383120000100"), valid_nhs("943476591")
PURPOSE = {"code": "cme_whereabouts", "text": "deleted under 9(1)(i); family thought to have moved to 384"}


def _settings(root: Path, la: str, **more: object) -> Settings:
    url = f"sqlite:///{root / f'register-{la}.sqlite3'}"
    migrate_register(url)
    return Settings(state_dir=root / f"state-{la}", database_url=url, kafka_bootstrap="127.0.0.1:9", la_code=la,
                    la_name=f"Authority {la}", **more)  # type: ignore[arg-type]


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, Seeded, Seeded]]:
    settings_b = _settings(tmp_path, "384")
    seeded_b = seed_register(settings_b.register_url, UPN, NHS)
    app_b = create_app(settings_b)
    with TestClient(app_b) as client_b:
        info, secret = app_b.state.hub.clients.add("LA 383 hub", "383", ["authority"])
        peers = [{"la_code": "384", "url": "http://testserver", "client_id": info.client_id, "client_secret": secret}]
        settings_a = _settings(tmp_path, "383", api_peers=peers)
        seeded_a = seed_register(settings_a.register_url, UPN, NHS)
        app_a: FastAPI = create_app(settings_a)
        to_b = PeerClient(peers_from_settings(peers), transport=client_b._transport)
        app_a.state.hub.outbound.client = app_a.state.hub.transfers.peers = to_b
        with TestClient(app_a) as client_a:
            yield client_a, client_b, seeded_a, seeded_b


def _headers(client: TestClient, *scopes: str) -> dict[str, str]:
    app: FastAPI = client.app  # type: ignore[assignment]
    info, secret = app.state.hub.clients.add("t", app.state.settings.la_code, list(scopes))
    return {"Authorization": f"Bearer {get_token(client, info.client_id, secret)}",
            "X-Purpose": "case work: tracing"}


def test_enquiry_to_a_peer_is_answered_recorded_on_the_case_and_audited_at_both_ends(
    hubs: tuple[TestClient, TestClient, Seeded, Seeded],
) -> None:
    client_a, client_b, seeded_a, _ = hubs
    officer = _headers(client_a, "officer")
    response = client_a.post("/v1/outbound-enquiries", json={"to_la": ["384", "385"], "child_id": seeded_a.amina,
                                                             "purpose": PURPOSE}, headers=officer)
    assert response.status_code == 200, response.text
    result = response.json()
    [answer] = result["answers"]
    assert answer["to_la"] == "384" and answer["status"] == "known"
    assert answer["answer"]["known"]["on_roll_at"] == "3832999"
    assert result["failures"][0]["to_la"] == "385" and "no peer hub" in result["failures"][0]["detail"]
    case = client_a.get(f"/v1/children/{seeded_a.amina}/timeline", headers=officer).json()["case_ids"][0]
    moved = client_a.get(f"/v1/cases/{case}", headers=officer).json()
    assert moved["status"] == "located_other_la" and moved["located_la"] == "384"
    audit_a = client_a.app.state.hub.audit.entries(limit=100)  # type: ignore[attr-defined]
    sent = [e for e in audit_a if e.action == "enquiry.sent"]
    assert [e.subject_id for e in sent] == [answer["enquiry_id"]]
    assert any(e.action == "child.disclosed" and e.subject_id == seeded_a.amina for e in audit_a)
    audit_b = client_b.app.state.hub.audit.entries(limit=100)  # type: ignore[attr-defined]
    received = [e for e in audit_b if e.action == "enquiry.received"]
    assert len(received) == 1 and answer["enquiry_id"] in received[0].detail and received[0].actor_la == "383"
    listed = client_a.get("/v1/outbound-enquiries", headers=officer).json()
    assert [e["enquiry_id"] for e in listed] == [answer["enquiry_id"]]


def test_possible_answer_is_followed_up_after_the_peer_reviews_it(
    hubs: tuple[TestClient, TestClient, Seeded, Seeded],
) -> None:
    client_a, client_b, _, _ = hubs
    officer_a = _headers(client_a, "officer")
    close_call = {"given_name": "Amena", "surname": "EXAMPLE", "date_of_birth": "2014-01-15", "sex": "F"}
    first = client_a.post("/v1/outbound-enquiries", json={"to_la": ["384"], "child": close_call, "purpose": PURPOSE},
                          headers=officer_a).json()["answers"][0]
    assert first["status"] == "possible"
    officer_b = _headers(client_b, "officer")
    [pending] = client_b.get("/v1/reviews/enquiries", headers=officer_b).json()["reviews"]
    assert client_b.post(f"/v1/reviews/enquiries/{pending['enquiry_id']}", json={"same_child": False},
                         headers=officer_b).status_code == 200
    later = client_a.post(f"/v1/outbound-enquiries/{first['enquiry_id']}/refresh", headers=officer_a).json()
    assert later["status"] == "not_known"


def test_case_found_elsewhere_is_transferred_to_that_hub(hubs: tuple[TestClient, TestClient, Seeded, Seeded]) -> None:
    client_a, client_b, seeded_a, seeded_b = hubs
    officer_a = _headers(client_a, "officer")
    case_a = client_a.get(f"/v1/children/{seeded_a.amina}/timeline", headers=officer_a).json()["case_ids"][0]
    sent = client_a.post(f"/v1/cases/{case_a}/transfer", json={"to_la": "384", "reason": "family moved to 384",
                                                                "risk": "medium"}, headers=officer_a)
    assert sent.status_code == 200, sent.text
    assert sent.json()["child_known_there"] is True
    assert client_a.get(f"/v1/cases/{case_a}", headers=officer_a).json()["status"] == "located_other_la"
    audit_b = client_b.app.state.hub.audit.entries(limit=100)  # type: ignore[attr-defined]
    arrived = [e for e in audit_b if e.action == "child.written"]
    assert [e.subject_id for e in arrived] == [seeded_b.amina]  # joined to the child hub B already knew
    # a restricted child's address never travels
    case_hidden = client_a.get(f"/v1/children/{seeded_a.restricted}/timeline",
                               headers=officer_a).json()["case_ids"][0]
    assert client_a.post(f"/v1/cases/{case_hidden}/transfer", json={"to_la": "384", "reason": "moved"},
                         headers=officer_a).status_code == 200
    disclosed = [e.detail for e in client_a.app.state.hub.audit.entries(limit=200)  # type: ignore[attr-defined]
                 if e.action == "child.disclosed" and e.subject_id == seeded_a.restricted]
    assert disclosed == ["identity sent to LA 384"]
    assert client_a.post(f"/v1/cases/{case_a}/transfer", json={"to_la": "383", "reason": "x" * 5},
                         headers=officer_a).status_code == 409
    assert client_a.post("/v1/cases/nope/transfer", json={"to_la": "384", "reason": "moved"},
                         headers=officer_a).status_code == 404
    partner_b = _headers(client_b, "partner")
    assert client_b.post("/v1/transfers", json={}, headers=partner_b).status_code == 403

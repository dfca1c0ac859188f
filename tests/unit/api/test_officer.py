"""Officer endpoints: children, timeline, cases and actions, tasks, statistics, DfE extract."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.settings import Settings
from tests.unit.api.conftest import TokenFor, valid_nhs, valid_upn
from tests.unit.api.register_seed import Seeded, seed_register

WHY = {"X-Purpose": "case work: weekly review"}


@pytest.fixture
def seeded(settings: Settings) -> Seeded:
    return seed_register(settings.register_url, valid_upn("383120000100"), valid_nhs("943476591"))


@pytest.fixture
def app(settings: Settings, seeded: Seeded) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def officer(token_for: TokenFor) -> dict[str, str]:
    return {**token_for("officer"), **WHY}


def test_child_record_is_audited_and_restricted_address_hidden(
    client: TestClient, officer: dict[str, str], seeded: Seeded, app: FastAPI
) -> None:
    amina = client.get(f"/v1/children/{seeded.amina}", headers=officer)
    assert amina.status_code == 200
    assert amina.json()["identity"]["given_name"] == "Amina" and amina.json()["addresses"][0]["postcode"] == "LS1 6AE"
    hidden = client.get(f"/v1/children/{seeded.restricted}", headers=officer).json()
    assert hidden["restricted"] is True and hidden["addresses"] == []
    reads = [(e.subject_id, e.purpose) for e in app.state.hub.audit.entries(limit=50) if e.action == "child.read"]
    assert reads == [(seeded.amina, WHY["X-Purpose"]), (seeded.restricted, WHY["X-Purpose"])]
    assert client.get("/v1/children/nope", headers=officer).status_code == 404


def test_reading_personal_data_needs_a_purpose(client: TestClient, token_for: TokenFor, seeded: Seeded) -> None:
    response = client.get(f"/v1/children/{seeded.amina}", headers=token_for("officer"))
    assert response.status_code == 422


def test_search_finds_the_child_by_details(client: TestClient, officer: dict[str, str], seeded: Seeded) -> None:
    found = client.get("/v1/children", params={"surname": "EXAMPLE", "date_of_birth": "2014-02-15",
                                               "given_name": "Amina"}, headers=officer).json()["candidates"]
    assert found[0]["child_id"] == seeded.amina and found[0]["match_probability"] > 0.9


def test_timeline_and_case_actions(client: TestClient, officer: dict[str, str], seeded: Seeded) -> None:
    timeline = client.get(f"/v1/children/{seeded.amina}/timeline", headers=officer).json()
    case_id = timeline["case_ids"][0]
    case = client.get(f"/v1/cases/{case_id}", headers=officer).json()
    assert case["status"] == "enquiries" and case["child_id"] == seeded.amina
    moved = client.post(f"/v1/cases/{case_id}/actions", json={"trigger": "locate_local", "reason": "home visit"},
                        headers=officer)
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "located_local"
    assert moved.json()["history"][-1]["cause"].startswith("officer:")
    refused = client.post(f"/v1/cases/{case_id}/actions", json={"trigger": "not_found", "reason": "no trace"},
                          headers=officer)
    assert refused.status_code == 409
    listed = client.get("/v1/cases", params={"status": "located_local"}, headers=officer).json()["cases"]
    assert [c["case_id"] for c in listed] == [case_id]


def test_tasks_statistics_and_dfe_extract(client: TestClient, officer: dict[str, str]) -> None:
    due = client.get("/v1/tasks/due", headers=officer)
    assert due.status_code == 200 and due.json()["tasks"] == []
    stats = client.get("/v1/statistics", params={"as_of": "2025-11-01"}, headers=officer).json()
    assert stats["cme_now"] == 2 and stats["by_status"] == {"enquiries": 1, "referred": 1}
    extract = client.get("/v1/statistics/dfe-extract", params={"census_date": "2025-11-01"}, headers=officer)
    rows = {(r["measure"], r["breakdown"]): r["value"] for r in extract.json()["rows"]}
    assert rows[("cme_on_census_date", "total")] == 2
    csv = client.get("/v1/statistics/dfe-extract", params={"census_date": "2025-11-01", "format": "csv"},
                     headers=officer)
    assert csv.headers["content-type"].startswith("text/csv") and "cme_on_census_date" in csv.text


def test_partners_and_other_authorities_cannot_use_officer_endpoints(
    client: TestClient, token_for: TokenFor, seeded: Seeded
) -> None:
    partner = {**token_for("partner", sources=["school"]), **WHY}
    neighbour_officer = {**token_for("officer", home_la="384"), **WHY}
    for headers in (partner, neighbour_officer):
        assert client.get(f"/v1/children/{seeded.amina}", headers=headers).status_code == 403
        assert client.get("/v1/cases", headers=headers).status_code == 403
        assert client.get("/v1/statistics", headers=headers).status_code == 403
        assert client.get("/v1/tasks/due", headers=headers).status_code == 403

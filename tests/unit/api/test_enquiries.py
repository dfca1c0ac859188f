"""Whereabouts enquiries: least disclosure, purposes, ownership (OWASP API1, API3) and audit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.settings import Settings
from tests.unit.api.conftest import TokenFor, valid_nhs, valid_upn
from tests.unit.api.register_seed import Seeded, seed_register

UPN = valid_upn("383120000100")
NHS = valid_nhs("943476591")


@pytest.fixture
def seeded(settings: Settings) -> Seeded:
    return seed_register(settings.register_url, UPN, NHS)


@pytest.fixture
def app(settings: Settings, seeded: Seeded) -> FastAPI:
    """The API over the seeded register (seeded before the app loads its index)."""
    return create_app(settings)


@pytest.fixture
def app_seeded(app: FastAPI) -> FastAPI:
    return app


def ask(given: str, surname: str, dob: str, sex: str = "U", purpose: str = "cme_whereabouts", **more: Any
        ) -> dict[str, Any]:
    return {"child": {"given_name": given, "surname": surname, "date_of_birth": dob, "sex": sex, **more},
            "purpose": {"code": purpose, "text": "deletion 9(1)(i), destination unknown, case 42"}}


@pytest.fixture
def neighbour(app_seeded: FastAPI, token_for: TokenFor) -> dict[str, str]:
    return token_for("authority", home_la="384")


def test_known_child_is_answered_with_status_date_and_contact_only(client: TestClient, neighbour: dict[str, str]
                                                                   ) -> None:
    response = client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F"), headers=neighbour)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "known" and body["responding_la"] == "383"
    known = body["known"]
    assert known["case_status"] == "enquiries"
    assert known["date_last_known"] == "2025-10-03"
    assert "Leeds" in known["contact_point"]
    assert known["on_roll_at"] == "3832999"  # cme_whereabouts may know the school
    assert "address" not in known  # ...but not the address
    assert response.headers["Location"] == f"/v1/enquiries/{body['enquiry_id']}"
    text = response.text
    assert "Sample Street" not in text and "LS1 6AE" not in text and UPN not in text


def test_purpose_decides_what_is_disclosed(client: TestClient, neighbour: dict[str, str]) -> None:
    safeguarding = client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F", "safeguarding"),
                               headers=neighbour).json()
    assert safeguarding["known"]["address"]["postcode"] == "LS1 6AE"
    ehe = client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F", "ehe_suitability"),
                      headers=neighbour).json()
    assert set(ehe["known"]) == {"case_status", "date_last_known", "contact_point"}


def test_restricted_record_never_reveals_an_address(client: TestClient, neighbour: dict[str, str]) -> None:
    response = client.post("/v1/enquiries", json=ask("Tomasz", "SAMPLE", "2013-06-30", "M", "safeguarding"),
                           headers=neighbour)
    body = response.json()
    assert body["status"] == "known"
    assert "address" not in body["known"]
    assert "Nowhere" not in response.text and "LS2 7AA" not in response.text


def test_child_without_a_case_is_known_with_no_case(client: TestClient, neighbour: dict[str, str]) -> None:
    body = client.post("/v1/enquiries", json=ask("Zofia", "NOCASE", "2012-01-20", "F"), headers=neighbour).json()
    assert body["status"] == "known" and body["known"]["case_status"] == "no_case"


def test_unknown_child_is_not_known(client: TestClient, neighbour: dict[str, str]) -> None:
    body = client.post("/v1/enquiries", json=ask("Nobody", "ATALL", "2012-01-20", "F"), headers=neighbour).json()
    assert body["status"] == "not_known" and "known" not in body and "possible" not in body


def test_close_call_is_possible_then_reviewed_by_an_officer(client: TestClient, neighbour: dict[str, str],
                                                            token_for: TokenFor, seeded: Seeded) -> None:
    body = client.post("/v1/enquiries", json=ask("Amena", "EXAMPLE", "2014-01-15", "F"), headers=neighbour).json()
    assert body["status"] == "possible"
    assert body["possible"]["review_by"] > body["answered_at"][:10]
    officer = token_for("officer")
    queue = client.get("/v1/reviews/enquiries", headers=officer).json()["reviews"]
    assert [r["enquiry_id"] for r in queue] == [body["enquiry_id"]]
    assert queue[0]["child_id"] == seeded.amina and "review" in queue[0]["reason"]
    assert client.get("/v1/reviews/enquiries", headers=neighbour).status_code == 403
    decided = client.post(f"/v1/reviews/enquiries/{body['enquiry_id']}", json={"same_child": True}, headers=officer)
    assert decided.status_code == 200 and decided.json()["status"] == "known"
    again = client.get(f"/v1/enquiries/{body['enquiry_id']}", headers=neighbour).json()
    assert again["status"] == "known" and again["known"]["case_status"] == "enquiries"
    assert client.post(f"/v1/reviews/enquiries/{body['enquiry_id']}", json={"same_child": True},
                       headers=officer).status_code == 404  # decided once


def test_enquiry_without_purpose_is_refused(client: TestClient, neighbour: dict[str, str]) -> None:
    no_purpose = ask("Amina", "EXAMPLE", "2014-02-15", "F")
    del no_purpose["purpose"]
    assert client.post("/v1/enquiries", json=no_purpose, headers=neighbour).status_code == 422
    bad_code = ask("Amina", "EXAMPLE", "2014-02-15", "F", purpose="curiosity")
    assert client.post("/v1/enquiries", json=bad_code, headers=neighbour).status_code == 422
    no_text = ask("Amina", "EXAMPLE", "2014-02-15", "F")
    no_text["purpose"]["text"] = ""
    assert client.post("/v1/enquiries", json=no_text, headers=neighbour).status_code == 422


def test_another_authoritys_enquiry_is_not_found(client: TestClient, neighbour: dict[str, str],
                                                 token_for: TokenFor) -> None:
    mine = client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F"), headers=neighbour).json()
    other = token_for("authority", home_la="385")
    assert client.get(f"/v1/enquiries/{mine['enquiry_id']}", headers=other).status_code == 404
    assert client.get(f"/v1/enquiries/{mine['enquiry_id']}", headers=neighbour).status_code == 200
    assert client.get("/v1/enquiries", headers=other).json()["enquiries"] == []
    assert [e["enquiry_id"] for e in client.get("/v1/enquiries", headers=neighbour).json()["enquiries"]] == [
        mine["enquiry_id"]]


def test_partner_cannot_enquire_or_read_officer_endpoints(client: TestClient, app_seeded: FastAPI,
                                                          token_for: TokenFor) -> None:
    partner = token_for("partner", sources=["school"])
    assert client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F"),
                       headers=partner).status_code == 403
    assert client.get("/v1/reviews/enquiries", headers=partner).status_code == 403


def test_same_reference_answers_once(client: TestClient, neighbour: dict[str, str], app_seeded: FastAPI) -> None:
    body = {**ask("Amina", "EXAMPLE", "2014-02-15", "F"), "reference": "LA384-ENQ-7"}
    first = client.post("/v1/enquiries", json=body, headers=neighbour).json()
    second = client.post("/v1/enquiries", json=body, headers=neighbour).json()
    assert first["enquiry_id"] == second["enquiry_id"]
    received = [r for r in app_seeded.state.hub.audit.entries(limit=100) if r.action == "enquiry.received"]
    assert len(received) == 1


def test_every_enquiry_and_child_read_is_audited_and_recorded_in_the_register(
    client: TestClient, neighbour: dict[str, str], app_seeded: FastAPI, seeded: Seeded
) -> None:
    body = client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F"), headers=neighbour).json()
    entries = app_seeded.state.hub.audit.entries(limit=100)
    reads = [e for e in entries if e.action == "child.read"]
    assert [(e.subject_id, e.actor_la) for e in reads] == [(seeded.amina, "384")]
    assert reads[0].purpose.startswith("cme_whereabouts: ")
    assert any(e.action == "enquiry.received" and e.subject_id == body["enquiry_id"] for e in entries)
    assert "Amina" not in " ".join(e.detail + e.purpose for e in entries)
    assert app_seeded.state.hub.audit.verify().ok
    from services.register.referrals import enquiry_key

    app_seeded.state.hub.enquiries.record_pending()  # the background recorder may not have run yet
    with app_seeded.state.hub.enquiries.uows() as uow:
        recorded = uow.register.get_enquiry(enquiry_key("384", body["enquiry_id"]))
        assert recorded is not None and recorded.child_id == seeded.amina and recorded.other_la == "384"


def test_oversized_enquiry_gives_413(client: TestClient, neighbour: dict[str, str]) -> None:
    huge = ask("Amina", "EXAMPLE", "2014-02-15", "F")
    huge["purpose"]["text"] = "x" * 70_000
    assert client.post("/v1/enquiries", json=huge, headers=neighbour).status_code == 413


def test_new_children_are_found_once_the_index_catches_up(client: TestClient, neighbour: dict[str, str],
                                                          settings: Settings, app_seeded: FastAPI) -> None:
    before = client.post("/v1/enquiries", json=ask("Newcomer", "ARRIVAL", "2016-03-03", "M"), headers=neighbour)
    assert before.json()["status"] == "not_known"
    import datetime as dt

    from services.register.database import make_engine, session_factory
    from services.register.model import Child, Identity, new_id
    from services.register.unit_of_work import UnitOfWork

    engine = make_engine(settings.register_url)
    with UnitOfWork(session_factory(engine)) as uow:
        uow.register.add_child(Child(id=new_id(), la_code="383", identities=[
            Identity("Newcomer", "ARRIVAL", date_of_birth=dt.date(2016, 3, 3), sex="M")]))
        uow.commit()
    engine.dispose()
    assert app_seeded.state.hub.index.refresh() == 1
    after = client.post("/v1/enquiries", json=ask("Newcomer", "ARRIVAL", "2016-03-03", "M"), headers=neighbour)
    assert after.json()["status"] == "known"


def test_long_purpose_keeps_the_audit_chain_verifiable(client: TestClient, neighbour: dict[str, str],
                                                      app_seeded: FastAPI) -> None:
    body = ask("Amina", "EXAMPLE", "2014-02-15", "F")
    body["purpose"]["text"] = "p" * 500  # longer than the audit column: stored cut, and hashed as stored
    assert client.post("/v1/enquiries", json=body, headers=neighbour).status_code == 201
    assert app_seeded.state.hub.audit.verify().ok


def test_readiness_reports_enquiries_waiting_for_the_register(client: TestClient, neighbour: dict[str, str],
                                                              app_seeded: FastAPI) -> None:
    hub = app_seeded.state.hub
    hub.enquiries._stopping = True  # stop the background recorder: this test records by hand
    hub.enquiries.recorded.set()
    client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F"), headers=neighbour)
    detail = client.get("/readyz").json()["checks"]["enquiries"]["detail"]
    assert detail.startswith("1 answered enquiries waiting")
    assert hub.enquiries.record_pending() == 1
    assert client.get("/readyz").json()["checks"]["enquiries"]["detail"].startswith("0 answered")


def test_answers_worked_out_in_threads_equal_those_on_the_event_loop(
        client: TestClient, neighbour: dict[str, str], app_seeded: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """CMEHUB_API_ANSWERING_THREADS=N answers in up to N threads (for a distant database); 0, on the loop."""
    import threading

    import services.api.routes.enquiries as route

    service = app_seeded.state.hub.enquiries
    answered_in: list[str] = []
    answer = service.answer

    def spied(*args: Any) -> Any:
        answered_in.append(threading.current_thread().name)
        return answer(*args)

    monkeypatch.setattr(service, "answer", spied)
    answers = []
    for threads in (0, 2):
        monkeypatch.setattr(route, "ANSWERING_THREADS", threads)
        for question in (ask("Amina", "EXAMPLE", "2014-02-15", "F"), ask("Nobody", "Atall", "2013-01-01")):
            response = client.post("/v1/enquiries", json=question, headers=neighbour)
            assert response.status_code == 201, response.text
            answers.append({k: v for k, v in response.json().items() if k not in ("enquiry_id", "asked_at",
                                                                                  "answered_at")})
    assert answers[:2] == answers[2:] and answers[0]["status"] == "known" and answers[1]["status"] == "not_known"
    on_loop, in_threads = set(answered_in[:2]), set(answered_in[2:])
    assert len(on_loop) == 1 and not on_loop & in_threads, answered_in  # the loop's thread, then others


def test_an_enquiry_being_answered_keeps_the_registers_recording_waiting(
        client: TestClient, neighbour: dict[str, str], app_seeded: FastAPI) -> None:
    """Recording waits for a pause counted from each enquiry's arrival, not from when its answer was
    stored: a slow answer must not look like a pause (the recording would then compete with it)."""
    from services.api.enquiries import Asker, EnquiryAsked, EnquirySubject, Purpose

    service = app_seeded.state.hub.enquiries
    service._stopping = True  # stop the background recorder: this test records by hand
    service.recorded.set()
    client.post("/v1/enquiries", json=ask("Amina", "EXAMPLE", "2014-02-15", "F"), headers=neighbour)
    service.last_asked = 0.0  # as if the hub had been quiet for long
    subject = EnquirySubject(given_name="Amina", surname="EXAMPLE", middle_names="", former_surnames=(),
                             date_of_birth=None, sex="F", upn=None, nhs_number=None, postcode=None, address_lines=())
    service.answer(Asker("la-384", "384"), EnquiryAsked(subject, Purpose.CME_WHEREABOUTS, "case 42"))
    assert service.record_pending(50, yield_to_requests=True) == 0  # an answer has just begun
    assert service.record_pending() == 1

"""The console's pages on a SQLite register with demo data: sign-in, roles, CSRF, masking, restricted records."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.console.access import COOKIE
from tests.unit.console.conftest import PASSWORD, csrf_of, sign_in
from tests.unit.console.demo import RESTRICTED_ADDRESS, Demo

PAGES = ["/console/dashboard", "/console/cases", "/console/cases?status=all", "/console/review", "/console/enquiries",
         "/console/operations"]


def test_every_page_needs_sign_in(browser: TestClient, demo: Demo) -> None:
    for path in [*PAGES, f"/console/cases/{demo.amina_case}", f"/console/review/{demo.review_event}"]:
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login")


def test_sign_in_refuses_a_wrong_password_and_a_missing_csrf_token(browser: TestClient) -> None:
    token = csrf_of(browser.get("/console/login").text)
    wrong = browser.post("/console/login", data={"username": "olivia", "password": "not it at all",
                                                 "csrf_token": token})
    assert wrong.status_code == 401 and "not right" in wrong.text
    forged = browser.post("/console/login", data={"username": "olivia", "password": PASSWORD, "csrf_token": "x"})
    assert forged.status_code == 400
    assert browser.get("/console/dashboard").status_code == 303


def test_repeated_failures_lock_the_username(browser: TestClient) -> None:
    token = csrf_of(browser.get("/console/login").text)
    for _ in range(5):
        browser.post("/console/login", data={"username": "olivia", "password": "guess guess guess",
                                             "csrf_token": token})
    locked = browser.post("/console/login", data={"username": "olivia", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429


def test_a_tampered_cookie_is_not_a_session(browser: TestClient) -> None:
    sign_in(browser, "olivia")
    cookie = browser.cookies.get(COOKIE)
    assert cookie
    browser.cookies.set(COOKIE, cookie[:-3] + "AAA", path="/console")
    assert browser.get("/console/dashboard").status_code == 303


def test_sign_in_goes_back_only_into_the_console(browser: TestClient) -> None:
    token = csrf_of(browser.get("/console/login").text)
    response = browser.post("/console/login", data={"username": "olivia", "password": PASSWORD, "csrf_token": token,
                                                    "next": "https://evil.example/"})
    assert response.headers["location"] == "/console/dashboard"


@pytest.mark.parametrize("user", ["olivia", "oscar", "ada"])
def test_pages_render_for_each_role_as_its_role_allows(browser: TestClient, demo: Demo, user: str) -> None:
    sign_in(browser, user)
    allowed = {"olivia": set(PAGES), "oscar": set(PAGES) - {"/console/review"}, "ada": set(PAGES)}[user]
    for path in PAGES:
        response = browser.get(path)
        assert response.status_code == (200 if path in allowed else 403), (user, path, response.text[:500])
        assert response.headers.get("cache-control") == "no-store"
        assert "script-src 'self'" in response.headers["content-security-policy"]


def test_officers_see_names_and_others_see_them_masked(browser: TestClient, demo: Demo) -> None:
    sign_in(browser, "olivia")
    assert "Amina EXAMPLE" in browser.get("/console/cases").text
    assert "H801200001001" in browser.get(f"/console/cases/{demo.amina_case}").text
    for user in ("oscar", "ada"):
        browser.cookies.clear()
        sign_in(browser, user)
        for path in [*PAGES, f"/console/cases/{demo.amina_case}", f"/console/cases/{demo.restricted_case}"]:
            html = browser.get(path).text
            for name in (*demo.names, "H801200001001", "9434765919", "Flat 2, 10 Sample Street", "15 Feb 2014"):
                assert not re.search(rf"\b{re.escape(name)}\b", html), f"{user} sees {name!r} on {path}"
        assert "A••• E•••" in browser.get("/console/cases").text


def test_a_restricted_childs_address_is_never_on_any_page(browser: TestClient, demo: Demo) -> None:
    sign_in(browser, "olivia")
    case = browser.get(f"/console/cases/{demo.restricted_case}").text
    assert "Withheld: restricted record" in case
    for path in [*PAGES, f"/console/cases/{demo.restricted_case}", f"/console/review/{demo.review_event}"]:
        html = browser.get(path).text
        for part in RESTRICTED_ADDRESS:
            assert part not in html, f"{part} shown on {path}"


def test_the_case_page_shows_the_timeline_tasks_and_history(browser: TestClient, demo: Demo) -> None:
    sign_in(browser, "olivia")
    html = browser.get(f"/console/cases/{demo.amina_case}").text
    timeline = html.split('id="timeline"')[1].split("</table>")[0]
    assert timeline.count("<tr class=\"govuk-table__row\">") == 3  # header + one row per notification
    assert "Deletion return" in timeline and "Reported missing" in timeline
    assert "Overdue" in html.split('id="tasks"')[1].split("</table>")[0]
    assert "Not found" in html.split('id="history"')[1]


def test_an_officer_moves_a_case_on_and_the_lifecycle_refuses_what_does_not_fit(browser: TestClient, demo: Demo,
                                                                                  console_app: FastAPI) -> None:
    sign_in(browser, "olivia")
    page = browser.get(f"/console/cases/{demo.amina_case}").text
    refused = browser.post(f"/console/cases/{demo.amina_case}/actions", data={
        "action": "start_enquiries", "reason": "try again", "csrf_token": csrf_of(page)})
    assert refused.status_code == 409 and "There is a problem" in refused.text
    no_token = browser.post(f"/console/cases/{demo.amina_case}/actions", data={
        "action": "escalate", "reason": "police asked"})
    assert no_token.status_code == 400
    moved = browser.post(f"/console/cases/{demo.amina_case}/actions", data={
        "action": "escalate", "reason": "referred to MASH", "csrf_token": csrf_of(page)})
    assert moved.status_code == 303
    after = browser.get(moved.headers["location"]).text
    assert "The case was moved on." in after and "referred to MASH" in after
    actions = [e.action for e in console_app.state.hub.audit.entries(subject_id=demo.amina_case)]
    assert "case.read" in actions and "case.moved" in actions


def test_operators_and_auditors_cannot_act(browser: TestClient, demo: Demo) -> None:
    sign_in(browser, "oscar")
    page = browser.get(f"/console/cases/{demo.amina_case}").text
    assert "Record the action" not in page
    response = browser.post(f"/console/cases/{demo.amina_case}/actions", data={
        "action": "escalate", "reason": "x", "csrf_token": csrf_of(page)})
    assert response.status_code == 403
    browser.cookies.clear()
    sign_in(browser, "ada")
    page = browser.get(f"/console/review/{demo.review_event}").text
    assert "Record the decision" not in page
    assert browser.post(f"/console/review/{demo.review_event}", data={
        "decision": "reject", "reason": "x", "csrf_token": csrf_of(page)}).status_code == 403


def test_an_officer_decides_a_review_once(browser: TestClient, demo: Demo) -> None:
    sign_in(browser, "olivia")
    page = browser.get(f"/console/review/{demo.review_event}").text
    assert "Agrees" in page and "Differs" in page and "date_of_birth" not in page.split('id="weights"')[0]
    assert "date of birth" in page.split('id="weights"')[1]
    missing_reason = browser.post(f"/console/review/{demo.review_event}", data={
        "decision": "reject", "reason": " ", "csrf_token": csrf_of(page)})
    assert missing_reason.status_code == 400
    rejected = browser.post(f"/console/review/{demo.review_event}", data={
        "decision": "reject", "reason": "different child: born a day later, lives in Bradford",
        "csrf_token": csrf_of(page)})
    assert rejected.status_code == 303
    assert "recorded as a new child" in browser.get(rejected.headers["location"]).text
    again = browser.post(f"/console/review/{demo.review_event}", data={
        "decision": "accept", "reason": "changed my mind", "csrf_token": csrf_of(page)})
    assert again.status_code == 409
    cases = browser.get("/console/cases").text
    assert "Amina EXAMPEL" in cases  # the new child, with a case of its own


def test_sign_out_ends_the_session(browser: TestClient) -> None:
    sign_in(browser, "olivia")
    page = browser.get("/console/dashboard").text
    out = browser.post("/console/logout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303
    assert browser.get("/console/dashboard").status_code == 303


def test_operations_says_when_the_broker_is_down(browser: TestClient) -> None:
    sign_in(browser, "oscar")
    html = browser.get("/console/operations").text
    assert "The broker cannot be reached" in html


def test_static_files_are_served_and_paths_cannot_escape(browser: TestClient) -> None:
    assert browser.get("/console/static/govuk/govuk-frontend.min.css").status_code == 200
    assert browser.get("/console/static/../users.py").status_code == 404
    assert browser.get("/console/static/%2e%2e/users.py").status_code == 404


def test_single_sign_on_says_it_is_not_configured(browser: TestClient) -> None:
    assert "not configured" in browser.get("/console/sso").text


def test_enquiries_show_answers_and_timings(browser: TestClient, demo: Demo) -> None:
    sign_in(browser, "olivia")
    html = browser.get("/console/enquiries").text
    incoming, outgoing, recorded = (html.split(f'id="enquiries-{key}"')[1].split("</table>")[0]
                                    for key in ("incoming", "outgoing", "recorded"))
    assert "820" in incoming and "Known" in incoming and "45 ms" in incoming
    assert "Possible" in outgoing and "2 s" in outgoing and "By " in outgoing
    assert "not_known" in recorded and ">2<" in recorded.replace("</td>", "<").replace('cell">', ">")


def test_what_a_visitor_types_is_escaped(browser: TestClient) -> None:
    html = browser.get('/console/login?next=/console/"><script>alert(1)</script>').text
    assert "<script>alert(1)</script>" not in html
    token = csrf_of(browser.get("/console/login").text)
    again = browser.post("/console/login", data={"username": "<b>olivia</b>", "password": "x", "csrf_token": token})
    assert "<b>olivia</b>" not in again.text and "&lt;b&gt;" in again.text

"""The console in headless Chromium against the hub on the real database and broker, with demo data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaProducer
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from schemas.codec import default_codec
from schemas.topics import HEADER_ATTEMPTS, HEADER_ERROR, HEADER_ORIGINAL_TOPIC
from services.api.store import AuditRecordRow
from services.matching.store import ReviewItemRow
from tests.e2e.console.conftest import (
    Hub,
    screenshot,
    serious_violations,
    sign_in_by_keyboard,
    tab_to,
    wait_for_path,
)
from tests.integration.api.test_notifications_kafka import _read
from tests.unit.console.demo import RESTRICTED_ADDRESS, _child, deletion

pytestmark = [pytest.mark.browser, pytest.mark.kafka, pytest.mark.postgres]

FIXTURES = Path(__file__).parents[2] / "fixtures"


def _no_restricted_address(driver: WebDriver) -> None:
    html = driver.page_source
    for part in RESTRICTED_ADDRESS:
        assert part not in html, f"a restricted child's address ({part}) is on {driver.current_url}"


def test_officer_signs_in_by_keyboard_and_opens_the_dashboard_and_a_case(hub: Hub, driver: WebDriver) -> None:
    driver.get(f"{hub.url}/console/login")
    assert serious_violations(driver) == []
    screenshot(driver, "sign-in")
    sign_in_by_keyboard(driver, hub, "olivia")
    figures = driver.find_element(By.ID, "figure-1").text
    assert int(figures.replace(",", "")) >= 10  # the demo's open CME cases
    assert driver.find_elements(By.CSS_SELECTOR, "svg.cme-chart"), "the dashboard has no charts"
    assert serious_violations(driver) == []
    screenshot(driver, "dashboard-officer")
    # Keyboard only: Tab to the caseload link in the navigation, Enter; Tab to a case, Enter.
    tab_to(driver, lambda e: e.get_attribute("href", ) and e.get_attribute("href").endswith("/console/cases"))
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for_path(driver, "/console/cases")
    assert "Amina EXAMPLE" in driver.page_source  # officers see names
    assert serious_violations(driver) == []
    screenshot(driver, "caseload-officer")
    case_link = f"/console/cases/{hub.demo.amina_case}"
    tab_to(driver, lambda e: (e.get_attribute("href") or "").endswith(case_link), limit=80)
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for_path(driver, case_link)
    timeline = driver.find_element(By.ID, "timeline").text
    assert "Deletion return" in timeline and "Reported missing" in timeline
    assert driver.find_element(By.ID, "child-address").text.startswith("Flat 2, 10 Sample Street")
    assert driver.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")
    assert serious_violations(driver) == []
    screenshot(driver, "case-officer")
    # The restricted child's page and every list: the address a school once sent is never shown.
    driver.get(f"{hub.url}/console/cases/{hub.demo.restricted_case}")
    assert driver.find_element(By.ID, "child-address").text == "Withheld: restricted record"
    _no_restricted_address(driver)
    screenshot(driver, "case-restricted")
    for path in ("/console/dashboard", "/console/cases?status=all", "/console/review", "/console/enquiries"):
        driver.get(hub.url + path)
        _no_restricted_address(driver)


def test_officer_accepts_a_review_item(hub: Hub, driver: WebDriver) -> None:
    sign_in_by_keyboard(driver, hub, "olivia")
    driver.get(f"{hub.url}/console/review")
    assert serious_violations(driver) == []
    driver.find_element(By.CSS_SELECTOR, f"a[href='/console/review/{hub.demo.review_event}']").click()
    wait_for_path(driver, f"/console/review/{hub.demo.review_event}")
    comparison = driver.find_element(By.ID, "comparison").text
    assert "Agrees" in comparison and "Differs" in comparison
    assert driver.find_elements(By.CSS_SELECTOR, "#weights tbody tr")
    assert serious_violations(driver) == []
    screenshot(driver, "review-item")
    # Keyboard only: Tab to the accept option, Space to choose it, Tab to the reason, type, Tab, Enter.
    tab_to(driver, lambda e: e.get_attribute("id") == "decision-accept", limit=80)
    driver.switch_to.active_element.send_keys(Keys.SPACE)
    assert driver.find_element(By.ID, "decision-accept").is_selected()
    tab_to(driver, lambda e: e.get_attribute("id") == "reason")
    driver.switch_to.active_element.send_keys("Same child: surname misspelt by the new school, same birth year")
    screenshot(driver, "review-item-decided")
    tab_to(driver, lambda e: e.tag_name == "button" and "Record the decision" in e.text)
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for_path(driver, "/console/review")
    assert "recorded against the child" in driver.page_source
    screenshot(driver, "review-queue-after")
    engine = sa.create_engine(hub.app.state.hub.settings.register_url)
    with engine.connect() as conn:
        state, linked = conn.execute(sa.select(ReviewItemRow.state, ReviewItemRow.linked_child_id).where(
            ReviewItemRow.event_id == hub.demo.review_event)).one()
        audited = conn.execute(sa.select(AuditRecordRow.actor).where(
            AuditRecordRow.action == "review.accepted", AuditRecordRow.subject_id == hub.demo.review_event)).all()
    engine.dispose()
    assert state == "accepted" and linked == hub.demo.amina_child
    assert [a for (a,) in audited] == ["console:olivia"]


def test_operator_replays_a_dead_letter_and_never_sees_names(hub: Hub, driver: WebDriver) -> None:




    original = f"{hub.prefix}cme.notifications.school"
    letter = deletion(dt.date.today(), "demo/dead/1", _child("Ruby", "Jones", dt.date(2013, 3, 4), None,
                                                             ["9 Chapel Lane"], "LS9 9AB"))
    producer = KafkaProducer(bootstrap_servers=hub.bootstrap)
    producer.send(f"{hub.prefix}cme.deadletter", key=b"383", value=default_codec().encode(letter),
                  headers=[(HEADER_ORIGINAL_TOPIC, original.encode()), (HEADER_ATTEMPTS, b"3"),
                           (HEADER_ERROR, b"OperationalError: database restarting (child Ruby Jones, LS9 9AB)")])
    producer.flush()
    producer.close()
    junk = (FIXTURES / "police" / "malformed" / "child_future_dob.json").read_bytes()
    pushed = hub.app.state.hub.notifications.push("police", junk, "child_future_dob.json")
    assert pushed.quarantined, "the malformed police file was not quarantined"
    sign_in_by_keyboard(driver, hub, "oscar")
    driver.get(f"{hub.url}/console/operations")
    html = driver.page_source
    for name in (*hub.demo.names, "Ruby Jones", "LS9 9AB", "2031-01-01"):
        assert name not in html, f"{name!r} is shown unmasked to an operator"
    assert "OperationalError" in driver.find_element(By.ID, "dead-letters").text
    assert driver.find_element(By.ID, "quarantine").text.strip()
    assert "cme.notifications.school" in driver.find_element(By.ID, "topics").text
    assert serious_violations(driver) == []
    screenshot(driver, "operations-operator")
    for path in ("/console/dashboard", "/console/cases?status=all", f"/console/cases/{hub.demo.amina_case}",
                 "/console/enquiries"):
        driver.get(hub.url + path)
        for name in hub.demo.names:
            assert name not in driver.page_source, f"{name!r} is shown unmasked to an operator on {path}"
        if "/cases/" in path:
            screenshot(driver, "case-operator")
        assert serious_violations(driver) == [], path
    screenshot(driver, "enquiries-operator")
    driver.get(f"{hub.url}/console/operations")
    # Keyboard only: Tab to the replay button, Enter.
    tab_to(driver, lambda e: e.tag_name == "button" and "Replay" in e.text, limit=120)
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for_path(driver, "/console/operations")
    assert "The message was sent again." in driver.page_source
    screenshot(driver, "operations-replayed")
    [(key, back)] = _read(hub.bootstrap, original, 1)
    assert key == b"383" and back["event_id"] == letter["event_id"]


def test_the_accessibility_check_finds_problems_where_there_are_some(driver: WebDriver) -> None:
    driver.get("data:text/html,<html><body><img src='x.png'><input type='text'></body></html>")
    found = {v["id"] for v in serious_violations(driver)}
    assert "image-alt" in found and "label" in found

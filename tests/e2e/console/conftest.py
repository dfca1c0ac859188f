"""The hub served by uvicorn on the real PostgreSQL and Kafka, demo data loaded, and headless Chromium.

Chromium and chromedriver come from Debian (deploy/debian-packages.txt); nothing is downloaded.
Screenshots go to test-output/console/ (the test run's output folder).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from services.api.app import create_app
from services.api.notifications import NotificationIntake
from services.api.operations import BrokerOps
from services.settings import Settings
from tests.unit.console.conftest import CHEAP
from tests.unit.console.demo import Demo, load_demo

ROOT = Path(__file__).parents[3]
OUTPUT = ROOT / "test-output" / "console"
AXE = Path(__file__).parent / "axe.min.js"
PASSWORD = "correct horse battery staple"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Hub:
    url: str
    app: FastAPI
    demo: Demo
    prefix: str
    bootstrap: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hub(tmp_path: Path, postgres_url: str, kafka_bootstrap: str) -> Iterator[Hub]:
    demo = load_demo(postgres_url)
    prefix = f"t{uuid.uuid4().hex[:8]}."
    settings = Settings(state_dir=tmp_path / "state", database_url=postgres_url, kafka_bootstrap=kafka_bootstrap,
                        la_code="383", la_name="Leeds", topic_prefix=prefix)
    app = create_app(settings)
    app.state.hub.notifications = NotificationIntake(kafka_bootstrap, "383", topic_prefix=prefix)
    app.state.hub.ops = BrokerOps(kafka_bootstrap, topic_prefix=prefix)
    app.state.console.ensure_tables()
    users = app.state.console.users
    users.hasher = CHEAP
    users.add("olivia", "Olivia Officer", "officer", PASSWORD)
    users.add("oscar", "Oscar Operator", "operator", PASSWORD)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the hub did not start within 30 s"
        time.sleep(0.05)
    try:
        yield Hub(f"http://127.0.0.1:{port}", app, demo, prefix, kafka_bootstrap)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1400", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


def screenshot(driver: WebDriver, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height) + 40, 800), 4000))
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path


def serious_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations)).catch(e => done(String(e)));")
    assert isinstance(result, list), f"axe-core failed: {result}"
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result if v.get("impact") in ("serious", "critical")]


def tab_to(driver: WebDriver, predicate: Any, limit: int = 40) -> None:
    """Press Tab until the focused element satisfies ``predicate`` (keyboard only, no clicks)."""
    for _ in range(limit):
        focused = driver.switch_to.active_element
        if predicate(focused):
            return
        focused.send_keys(Keys.TAB)
    raise AssertionError(f"nothing matching was reached within {limit} presses of Tab")


def sign_in_by_keyboard(driver: WebDriver, hub: Hub, username: str) -> None:
    driver.get(f"{hub.url}/console/login")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    tab_to(driver, lambda e: e.get_attribute("id") == "username")
    driver.switch_to.active_element.send_keys(username, Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "password"
    driver.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER)
    wait_for_path(driver, "/console/dashboard")


def wait_for_path(driver: WebDriver, path: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if driver.current_url.split("?")[0].endswith(path) and driver.execute_script(
                "return document.readyState") == "complete":
            return
        time.sleep(0.05)
    raise AssertionError(f"expected {path}, still at {driver.current_url}")

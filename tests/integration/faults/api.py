"""The hub's API as a real process (``cmehub api``) on a free port, over a test's database and topics.

Partners are registered straight in the API's database (as ``cmehub clients add`` does) with the
limits a test wants, and get their tokens from the running API.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from services.api.clients import ClientRegistry
from services.register.database import make_engine, session_factory
from services.simulation.identifiers import make_upn
from tests.integration.matching.notifications import GIVEN, STREETS, SURNAMES, UNIT

FIXTURES = Path(__file__).parents[2] / "fixtures"


def returns(first: int, count: int, school: str = "2999") -> list[dict[str, Any]]:
    """Deletion returns (the hub's JSON form) about ``count`` distinct children from ``first`` on.

    Children of different ``n`` differ in name, birth date, address and UPN (for n below 8,000), so the
    matcher takes none for another: each return is a new child, not a close call held for review.
    """
    base = json.loads((FIXTURES / "schools" / "deletion_return.json").read_text())
    items = []
    for n in range(first, first + count):
        item = copy.deepcopy(base)
        item.pop("_comment", None)
        item["school"]["laestab"] = f"383{school}"
        pupil = item["pupil"]
        pupil["upn"] = make_upn("383", school, 2010 + n // 1000, n)
        surname = SURNAMES[n // 20 % 20] + ("" if n < 400 else f"-{SURNAMES[n // 400 % 20]}")
        pupil["full_name"] = {"forename": GIVEN[n % 20], "middle_names": None, "surname": surname.upper()}
        pupil["date_of_birth"] = (dt.date(2011, 9, 1) + dt.timedelta(days=n * 53 % 2400)).isoformat()
        pupil["address"] = {"lines": [f"{n % 300 + 1} {STREETS[n % len(STREETS)]}", "Leeds"],
                            "postcode": f"LS{1 + n % 29} {n % 9 + 1}{UNIT[n // 29 % 20]}{UNIT[n // 580 % 20]}"}
        items.append(item)
    return items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiProcess:
    """``cmehub api`` in its own process group; ``stop`` ends it."""

    def __init__(self, database_url: str, bootstrap: str, topic_prefix: str, state_dir: Path,
                 **settings: str) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = state_dir / "api.log"
        env = {**os.environ, "CMEHUB_DATABASE_URL": database_url, "CMEHUB_KAFKA_BOOTSTRAP": bootstrap,
               "CMEHUB_TOPIC_PREFIX": topic_prefix, "CMEHUB_STATE_DIR": str(state_dir / "api"),
               "CMEHUB_LA_CODE": "383", **{f"CMEHUB_{k.upper()}": v for k, v in settings.items()}}
        cmehub = Path(sys.executable).with_name("cmehub")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen([str(cmehub), "api", "--host", "127.0.0.1", "--port", str(self.port)],
                                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"cmehub api exited {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"cmehub api not ready within {timeout_s:.0f} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def partner(self, name: str, sources: list[str], **limits: Any) -> dict[str, str]:
        """Register a partner client with ``limits`` (rate_per_s, burst, daily_quota); its request headers."""
        engine = make_engine(self.database_url)
        try:
            info, secret = ClientRegistry(session_factory(engine)).add(name, "383", ["partner"], sources, **limits)
        finally:
            engine.dispose()
        response = httpx.post(f"{self.url}/oauth/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": info.client_id, "client_secret": secret})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

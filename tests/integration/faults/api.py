"""The hub's API as a real process (``cmehub api``) on a free port, over a test's database and topics.

Partners are registered straight in the API's database (as ``cmehub clients add`` does) with the
limits a test wants, and get their tokens from the running API.
"""

from __future__ import annotations

import contextlib
import copy
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

FIXTURES = Path(__file__).parents[2] / "fixtures"
FORENAMES = ["Amelia", "Oliver", "Zainab", "Mohammed", "Aleksandra", "Tomasz", "Chidi", "Aoife", "Ioana", "Ayaan"]
SURNAMES = ["SMITH", "KHAN", "KOWALSKI", "OKAFOR", "MURPHY", "POPESCU", "AHMED", "NOWAK", "BEGUM", "JONES"]


def returns(first: int, count: int, school: str = "2999") -> list[dict[str, Any]]:
    """Deletion returns (the hub's JSON form) about ``count`` distinct children from ``first`` on."""
    base = json.loads((FIXTURES / "schools" / "deletion_return.json").read_text())
    items = []
    for n in range(first, first + count):
        item = copy.deepcopy(base)
        item.pop("_comment", None)
        item["school"]["laestab"] = f"383{school}"
        pupil = item["pupil"]
        pupil["upn"] = make_upn("383", school, 2016, n)
        pupil["full_name"] = {"forename": FORENAMES[n % 10], "middle_names": None,
                              "surname": SURNAMES[n // 10 % 10] + ("" if n < 100 else f"-{FORENAMES[n // 100 % 10]}")}
        pupil["date_of_birth"] = f"{2012 + n % 4}-{1 + n % 12:02d}-{1 + n % 28:02d}"
        pupil["address"] = {"lines": [f"{n + 1} Chapel Lane", "Leeds"], "postcode": f"LS{1 + n % 20} {1 + n % 9}AB"}
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

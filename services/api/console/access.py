"""Who is signed in to the console: signed session cookies, CSRF tokens, roles, sign-in throttling.

The session is a cookie signed with itsdangerous (the server keeps no session table): the user's
name, role, a CSRF token and when it was issued. Every page re-reads the account, so disabling a
user takes effect on their next click.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.api.console.users import Role
from services.settings import Settings

COOKIE = "cmehub_console"
# Failed sign-ins allowed per username in the window before further attempts are refused.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60


@dataclass(frozen=True)
class ConsoleSession:
    """A browser's session: anonymous (only a CSRF token) or signed in."""

    csrf: str
    username: str | None = None
    role: Role | None = None

    @property
    def signed_in(self) -> bool:
        return self.username is not None


def session_secret(settings: Settings) -> str:
    """The configured secret, else one generated once and kept in state_dir/console-secret."""
    if settings.console_session_secret:
        return settings.console_session_secret
    path: Path = settings.state_dir / "console-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


class SessionCodec:
    """Signs and reads session cookies (expired or tampered cookies read as a new anonymous session)."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="cmehub-console-session")
        self.ttl_s = ttl_s

    def anonymous(self) -> ConsoleSession:
        return ConsoleSession(csrf=secrets.token_urlsafe(24))

    def signed_in(self, username: str, role: Role) -> ConsoleSession:
        # A fresh CSRF token at sign-in: a token planted before sign-in is worthless after it.
        return ConsoleSession(csrf=secrets.token_urlsafe(24), username=username, role=role)

    def dumps(self, session: ConsoleSession) -> str:
        return self.serializer.dumps({"c": session.csrf, "u": session.username,
                                      "r": session.role.value if session.role else None})

    def loads(self, cookie: str | None) -> ConsoleSession | None:
        if not cookie:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=self.ttl_s)
            return ConsoleSession(csrf=str(data["c"]), username=data.get("u"),
                                  role=Role(data["r"]) if data.get("r") else None)
        except (BadSignature, KeyError, ValueError, TypeError):
            return None


def csrf_matches(session: ConsoleSession, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf.encode(), str(submitted).encode())


class SignInThrottle:
    """Refuses sign-in for a username after too many recent failures (guessing costs time)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, username: str, now: float) -> deque[float]:
        times = self._failures[username]
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def blocked(self, username: str) -> bool:
        with self._lock:
            return len(self._recent(username, time.monotonic())) >= self.max_failures

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username, time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


# What each role may open. Officers work cases; operators run the hub and see personal data masked;
# auditors read everything masked and change nothing.
PAGES: dict[str, frozenset[Role]] = {
    "dashboard": frozenset(Role),
    "caseload": frozenset(Role),
    "case": frozenset(Role),
    "case.act": frozenset({Role.OFFICER}),
    "review": frozenset({Role.OFFICER, Role.AUDITOR}),
    "review.decide": frozenset({Role.OFFICER}),
    "enquiries": frozenset(Role),
    "operations": frozenset(Role),
    "operations.replay": frozenset({Role.OPERATOR}),
}


def may(role: Role | None, page: str) -> bool:
    return role is not None and role in PAGES[page]


def sees_personal_data(role: Role | None) -> bool:
    """Only officers see names and identifiers unmasked."""
    return role is Role.OFFICER

"""Registered clients: every partner system, authority hub, officer console and operator.

Deny by default: a client may call only what its scopes allow, push only its registered sources,
and always acts for its home authority. Secrets are stored only as scrypt hashes.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from services.api.security import hash_secret, new_secret, utc_now, verify_secret
from services.api.store import ClientRow


class Scope(StrEnum):
    """What a client may do."""

    PARTNER = "partner"  # push notifications for its registered sources
    AUTHORITY = "authority"  # send whereabouts enquiries and read its own
    OFFICER = "officer"  # work the register: children, cases, tasks, reviews, statistics
    OPERATOR = "operator"  # topics, lag, quarantine, dead letters, replay
    AUDITOR = "auditor"  # read the audit log


class Source(StrEnum):
    """Partner families whose notifications can be pushed over HTTPS."""

    SCHOOL = "school"
    HEALTH = "health"
    POLICE = "police"
    BORDER = "border"


class ClientError(ValueError):
    """A client cannot be added or changed as asked; the message says why."""


@dataclass(frozen=True)
class ClientInfo:
    """A client as the API sees it (never the secret)."""

    client_id: str
    name: str
    home_la: str
    scopes: tuple[str, ...]
    sources: tuple[str, ...]
    generation: int
    rate_per_s: float | None
    burst: int | None
    daily_quota: int | None
    revoked: bool
    mtls_subject: str | None = None


def _info(row: ClientRow) -> ClientInfo:
    return ClientInfo(row.client_id, row.name, row.home_la, tuple(row.scopes), tuple(row.sources), row.generation,
                      row.rate_per_s, row.burst, row.daily_quota, row.revoked_at is not None, row.mtls_subject)


_CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class ClientRegistry:
    """Adds, lists, rotates, revokes and authenticates clients."""

    def __init__(self, sessions: sessionmaker[Session], cache_s: float = 5.0) -> None:
        self.sessions = sessions
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, ClientInfo | None]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, home_la: str, scopes: list[str], sources: list[str] | None = None, *,
            client_id: str | None = None, rate_per_s: float | None = None, burst: int | None = None,
            daily_quota: int | None = None, mtls_subject: str | None = None) -> tuple[ClientInfo, str]:
        """Register a client; returns it and its secret (shown once)."""
        sources = sources or []
        if not re.fullmatch(r"\d{3}", home_la):
            raise ClientError(f"home LA {home_la!r}: must be a 3-digit authority code")
        bad = [s for s in scopes if s not in {x.value for x in Scope}]
        if bad or not scopes:
            raise ClientError(f"scopes {bad or scopes}: choose from {', '.join(s.value for s in Scope)}")
        bad = [s for s in sources if s not in {x.value for x in Source}]
        if bad:
            raise ClientError(f"sources {bad}: choose from {', '.join(s.value for s in Source)}")
        if sources and Scope.PARTNER not in scopes:
            raise ClientError("only a client with the partner scope can be registered for sources")
        client_id = client_id or f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')[:40] or 'client'}-" \
                                 f"{secrets.token_hex(3)}"
        if not _CLIENT_ID.fullmatch(client_id):
            raise ClientError(f"client id {client_id!r}: 3-64 of a-z 0-9 . _ -")
        secret = new_secret()
        row = ClientRow(client_id=client_id, name=name, home_la=home_la, scopes=sorted(set(scopes)),
                        sources=sorted(set(sources)), secret_hash=hash_secret(secret), generation=1,
                        rate_per_s=rate_per_s, burst=burst, daily_quota=daily_quota, mtls_subject=mtls_subject,
                        created_at=utc_now())
        with self.sessions() as session:
            if session.get(ClientRow, client_id) is not None:
                raise ClientError(f"client {client_id!r} already exists")
            session.add(row)
            session.commit()
            return _info(row), secret

    def list(self) -> list[ClientInfo]:
        with self.sessions() as session:
            return [_info(r) for r in session.scalars(sa.select(ClientRow).order_by(ClientRow.client_id))]

    def _row(self, session: Session, client_id: str) -> ClientRow:
        row = session.get(ClientRow, client_id)
        if row is None:
            raise ClientError(f"no client {client_id!r} (see `cmehub clients list`)")
        return row

    def rotate(self, client_id: str) -> str:
        """A new secret; the old one and every token issued with it stop working now."""
        secret = new_secret()
        with self.sessions() as session:
            row = self._row(session, client_id)
            if row.revoked_at is not None:
                raise ClientError(f"client {client_id!r} is revoked; add a new client instead")
            row.secret_hash = hash_secret(secret)
            row.generation += 1
            row.rotated_at = utc_now()
            session.commit()
        self.forget(client_id)
        return secret

    def revoke(self, client_id: str) -> None:
        """Refuse the client from now on (its live tokens included)."""
        with self.sessions() as session:
            row = self._row(session, client_id)
            if row.revoked_at is None:
                row.revoked_at = utc_now()
            session.commit()
        self.forget(client_id)

    def authenticate(self, client_id: str, secret: str) -> ClientInfo | None:
        """The client when the secret is right and it is not revoked, else None."""
        with self.sessions() as session:
            row = session.get(ClientRow, client_id)
            if row is None or row.revoked_at is not None:
                return None
            return _info(row) if verify_secret(secret, row.secret_hash) else None

    def cached(self, client_id: str) -> tuple[bool, ClientInfo | None]:
        """``(True, state)`` when the client's state was read within the last few seconds, else ``(False, None)``."""
        hit = self._cache.get(client_id)
        if hit is not None and time.monotonic() - hit[0] < self.cache_s:
            return True, hit[1]
        return False, None

    def current(self, client_id: str) -> ClientInfo | None:
        """The client's current state, cached for a few seconds (revocation takes effect within that)."""
        now = time.monotonic()
        found, info = self.cached(client_id)
        if found:
            return info
        with self.sessions() as session:
            row = session.get(ClientRow, client_id)
            info = _info(row) if row is not None else None
        with self._lock:
            self._cache[client_id] = (now, info)
        return info

    def forget(self, client_id: str) -> None:
        with self._lock:
            self._cache.pop(client_id, None)

"""Per-client rate limits and daily quotas, and the request body size limit.

Counters are held in memory by each API process; a restart resets them, which errs towards letting
a legitimate partner through. With several worker processes (``cmehub api --workers N``) each
worker allows its share, 1/N of every client's rate, burst and daily quota: the sum over workers
never exceeds the client's limits and the check stays in memory (no database round trip on every
request). The price: a client whose requests all land on one worker (one keep-alive connection)
is held to 1/N of its rate; it is told when to retry (429 with Retry-After), and opening more
connections spreads it across the workers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any


@dataclass
class _Bucket:
    tokens: float
    updated: float
    day: dt.date
    used_today: int


@dataclass(frozen=True)
class Refusal:
    """Why a request is over its limit and when to try again."""

    reason: str
    retry_after_s: int


class RateLimiter:
    """A token bucket per client (rate, burst) plus a count per UTC day (quota)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, workers: int = 1) -> None:
        self.clock = clock
        self.share = 1.0 / max(1, workers)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key: str, rate_per_s: float, burst: int, daily_quota: int) -> Refusal | None:
        """Take one request from ``key``'s allowance; a :class:`Refusal` when there is none left."""
        said_rate, said_quota = rate_per_s, daily_quota  # what the client is told: its own limits
        if self.share < 1.0:  # this worker's share of them
            rate_per_s = rate_per_s * self.share
            burst = max(1, math.ceil(burst * self.share))
            daily_quota = max(1, math.ceil(daily_quota * self.share))
        now = self.clock()
        today = dt.datetime.now(dt.UTC).date()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = self._buckets[key] = _Bucket(float(burst), now, today, 0)
            if b.day != today:
                b.day, b.used_today = today, 0
            if b.used_today >= daily_quota:
                tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)
                wait = (tomorrow - dt.datetime.now(dt.UTC)).total_seconds()
                return Refusal(f"daily quota of {said_quota} requests used up", max(1, math.ceil(wait)))
            b.tokens = min(float(burst), b.tokens + (now - b.updated) * rate_per_s)
            b.updated = now
            if b.tokens < 1.0:
                wait = (1.0 - b.tokens) / rate_per_s if rate_per_s > 0 else 60.0
                return Refusal(f"rate limit of {said_rate:g} requests/s exceeded", max(1, math.ceil(wait)))
            b.tokens -= 1.0
            b.used_today += 1
            return None


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimitMiddleware:
    """Refuses request bodies over the limit with 413, whether or not Content-Length is declared."""

    def __init__(self, app: ASGIApp, max_bytes: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = sorted((limits or {}).items(), key=lambda kv: -len(kv[0]))  # longest prefix first

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _too_large(send, limit)
                    return
        # Read the body first (bounded by the limit), then replay it: the route never sees a cut body.
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        await self.app(scope, _replay(chunks, None, receive), send)


def _replay(chunks: list[bytes], final: MutableMapping[str, Any] | None, after: Receive) -> Receive:
    body = b"".join(chunks)
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return final if final is not None else {"type": "http.request", "body": body, "more_body": False}
        return await after()  # then wait for the real disconnect

    return receive


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit} bytes; split the file or send fewer records"})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body.encode()})

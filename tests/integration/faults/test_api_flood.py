"""A partner flooding ``POST /v1/notifications/{source}`` far above its limits, against a real ``cmehub api``.

The flooder (5 requests/s, burst 5, 20 a day) pushes from several threads as fast as the API answers
while another partner pushes at a steady pace. The flooder must get 429 with a truthful Retry-After
(the rate limit first, then its daily quota) and no more accepted than its limits allow; the other
partner must be served normally (every push 202). Ground truth: the event ids of every 202 answer must
be in the register exactly once (through the real broker and a real matching worker) and nothing
else; the ids of the payloads answered 429 must appear nowhere, neither on the topic nor in the register.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from connectors.common.parsing import ParseContext
from connectors.worker import parse_file
from schemas.codec import default_codec
from tests.integration.faults.api import ApiProcess, returns
from tests.integration.faults.hub import RegisterWatch, side_topic
from tests.integration.matching.stream_harness import StreamHarness

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(120)]

Report = Callable[[str, float | int | str], None]
FLOOD_RATE, FLOOD_BURST, FLOOD_QUOTA = 5.0, 5, 20
FLOOD_THREADS = 4
STEADY_PUSHES, STEADY_PACE_S = 40, 0.12  # the other partner: about 8 pushes a second
BASELINE_PUSHES = 10


@dataclass(frozen=True)
class Push:
    """One push and its answer."""

    file_name: str
    body: bytes
    status: int
    seconds: float
    retry_after: str | None
    detail: str
    event_ids: tuple[str, ...]


def _push(client: httpx.Client, url: str, headers: dict[str, str], name: str, body: bytes) -> Push:
    started = time.perf_counter()
    response = client.post(url, params={"file_name": name}, content=body, headers=headers)
    seconds = time.perf_counter() - started
    data = response.json()
    return Push(name, body, response.status_code, seconds, response.headers.get("retry-after"),
                str(data.get("detail", "")), tuple(str(i) for i in data.get("event_ids", ())))


def _body(n: int, school: str) -> bytes:
    return json.dumps({"returns": returns(n, 1, school=school)}).encode()


@dataclass
class Flood:
    """Threads pushing as fast as the API answers, each payload about its own child, until stopped."""

    url: str
    headers: dict[str, str]
    pushes: list[Push] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, threads: int) -> None:
        self._threads = [threading.Thread(target=self._run, name=f"flood-{i}", daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        assert not self.errors, f"the flood's requests failed: {self.errors[:3]!r}"

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=30) as client:
                while not self._stop.is_set():
                    with self._lock:
                        n, self._next = self._next, self._next + 1
                    # Children 1000 on: none is a namesake of the other partner's (0 on).
                    push = _push(client, self.url, self.headers, f"flood-{n:05d}.json", _body(1000 + n, "2998"))
                    with self._lock:
                        self.pushes.append(push)
        except BaseException as exc:  # reported by stop()
            self.errors.append(exc)


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def test_a_flooding_partner_gets_429_and_another_is_served_and_every_accepted_push_is_recorded_once(
    harness: StreamHarness, kafka_bootstrap: str, tmp_path: Path, recovery_report: Report,
) -> None:
    harness.start_worker()
    register = RegisterWatch(harness)
    api = ApiProcess(harness.database_url, kafka_bootstrap, harness.prefix, tmp_path)
    try:
        api.wait_ready()
        url = f"{api.url}/v1/notifications/school"
        flooder = api.partner("flooding school", ["school"], rate_per_s=FLOOD_RATE, burst=FLOOD_BURST,
                              daily_quota=FLOOD_QUOTA)
        steady = api.partner("steady school", ["school"])
        with httpx.Client(timeout=30) as client:
            baseline = [_push(client, url, steady, f"steady-{n:05d}.json", _body(n, "2997"))
                        for n in range(BASELINE_PUSHES)]
            assert {p.status for p in baseline} == {202}, [p.detail for p in baseline]
            register.wait_for([i for p in baseline for i in p.event_ids], 60, "the pushes before the flood")

            flood = Flood(url, flooder)
            day = time.gmtime().tm_yday  # the daily quota starts again at midnight UTC
            flood.start(FLOOD_THREADS)
            flood_started = time.monotonic()
            during = []
            for n in range(BASELINE_PUSHES, BASELINE_PUSHES + STEADY_PUSHES):
                during.append(_push(client, url, steady, f"steady-{n:05d}.json", _body(n, "2997")))
                time.sleep(STEADY_PACE_S)
            flood.stop()
            flood_s = time.monotonic() - flood_started
            flood_ended = time.time()
        accepted = [p for p in baseline + during + flood.pushes if p.status == 202]
        ids = [i for p in accepted for i in p.event_ids]
        register.wait_for(ids, 60, "every accepted push")
        caught_up = max(register.first_seen[i] for i in ids)
    finally:
        api.stop()
        register.close()

    # The other partner was served normally.
    assert [p.status for p in during] == [202] * STEADY_PUSHES, [(p.status, p.detail) for p in during
                                                                 if p.status != 202]
    # The flooder: nothing but 202 and 429; every 429 says when to come back; no more accepted than allowed.
    statuses = [p.status for p in flood.pushes]
    assert set(statuses) == {202, 429}, set(statuses)
    refused = [p for p in flood.pushes if p.status == 429]
    flood_accepted = [p for p in flood.pushes if p.status == 202]
    assert all(p.retry_after is not None and int(p.retry_after) >= 1 for p in refused)
    allowed = FLOOD_QUOTA if time.gmtime().tm_yday == day else 2 * FLOOD_QUOTA  # the run spanned midnight
    assert FLOOD_QUOTA <= len(flood_accepted) <= allowed, f"{len(flood_accepted)} accepted, quota {FLOOD_QUOTA}"
    by_rate = [p for p in refused if "rate limit" in p.detail]
    by_quota = [p for p in refused if "daily quota" in p.detail]
    assert by_rate and by_quota and len(by_rate) + len(by_quota) == len(refused)
    assert all(int(p.retry_after or 0) <= 1 for p in by_rate)
    midnight = (86400 - time.time() % 86400)  # the quota comes back at midnight UTC
    assert allowed > FLOOD_QUOTA or all(abs(int(p.retry_after or 0) - midnight) < flood_s + 60 for p in by_quota)

    # Ground truth: every accepted id once in the register and on the topic, nothing refused anywhere.
    ctx = ParseContext(default_la="383")
    for p in flood_accepted[:3]:  # the ids the API gave are the connector's own reading of the payload
        assert tuple(str(e["event_id"]) for e in parse_file(p.body, p.file_name, "schools", ctx).events) == p.event_ids
    refused_ids = {str(e["event_id"]) for p in refused for e in parse_file(p.body, p.file_name, "schools", ctx).events}
    assert len(refused_ids) == len(refused) and len(set(ids)) == len(ids)
    codec = default_codec()
    log = [str(codec.decode(m.value)["event_id"])
           for m in side_topic(kafka_bootstrap, harness.prefix + "cme.notifications.school", expected=len(ids))]
    assert sorted(log) == sorted(ids), "the topic holds each accepted push once and nothing else"
    processed, notifications = register.counts("processed_event"), register.counts("notification")
    held = register.counts("review_item")  # committed, waiting for a person: none expected, counted if any
    assert not set(processed) & set(held)
    assert set(processed) | set(held) == set(ids), "an accepted push is not in the register"
    assert set((processed + held).values()) == {1}, "an accepted push applied twice"
    assert set(notifications) == set(processed) and set(notifications.values()) == {1}
    assert not refused_ids & (set(processed) | set(held) | set(log)), "a push answered 429 was applied"

    latencies = [p.seconds for p in during]
    before = [p.seconds for p in baseline]
    recovery_report("flood requests", len(flood.pushes))
    recovery_report("flood requests/s", len(flood.pushes) / flood_s)
    recovery_report("flood 429 (rate limit)", len(by_rate))
    recovery_report("flood 429 (daily quota)", len(by_quota))
    recovery_report("flood accepted", len(flood_accepted))
    recovery_report("other partner pushes during the flood (all 202)", len(during))
    recovery_report("other partner latency p50 s before the flood", statistics.median(before))
    recovery_report("other partner latency p50 s during the flood", statistics.median(latencies))
    recovery_report("other partner latency p99 s during the flood", _percentile(latencies, 99))
    recovery_report("other partner latency max s during the flood", max(latencies))
    recovery_report("accepted notifications in the register once", len(ids))
    recovery_report("of which held for review", len(held))
    recovery_report("recovery s (flood ended -> every accepted push committed)", max(0.0, caught_up - flood_ended))

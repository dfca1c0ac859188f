"""Whereabouts enquiries over HTTP against a 100,000-child register at a fixed arrival rate.

    .venv/bin/python bench/bench_api.py [--children 100000] [--rate 200] [--seconds 30]
                                        [--server postgresql+psycopg://cmehub@127.0.0.1:15432/cmehub]
                                        [--keep] [--write-docs]

Creates its own database (``cmehub_bench_api``) on the PostgreSQL server, migrates the register and
the API tables, loads a synthetic register (``services.matching.synthetic``: households, twins,
namesakes, moves) with COPY, starts the API as its own process (``cmehub api``) and waits until its
enquiry index is built. Then, from a load generator on loopback (one asyncio process, open loop:
requests are sent on schedule whether or not earlier ones have finished, and latency is measured
from the scheduled time so queueing is not hidden), it measures in the same run:

- baseline: ``GET /.well-known/jwks.json`` at the same rate (HTTP, auth-free, no database: the floor);
- enquiries: ``POST /v1/enquiries`` with synthetic partner records (typos, nicknames, moves, swapped
  dates, unregistered children) and a purpose; each is linked, answered, audited in the hash chain
  and recorded in the register, exactly as in production.

Reports p50, p95, p99 and max latency, achieved rate, errors and the answers given. Target: p99 under
50 ms with no errors at 200 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import os
import platform
import pstats
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docs_section import write_section  # noqa: E402  (bench/: leaves every other section as it is)

from services.api.clients import ClientInfo, ClientRegistry  # noqa: E402
from services.api.database import migrate as migrate_api  # noqa: E402
from services.matching.records import PersonRecord  # noqa: E402
from services.matching.synthetic import generate  # noqa: E402
from services.register.database import make_engine, session_factory  # noqa: E402
from services.register.database import migrate as migrate_register  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
SERVER = "postgresql+psycopg://cmehub@127.0.0.1:15432/cmehub"
DATABASE = "cmehub_bench_api"
TARGET_P99_MS = 50.0
PURPOSE = {"code": "cme_whereabouts", "text": "deleted under 9(1)(i), destination unknown; benchmark"}


def _copy(conn: sa.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    raw = conn.connection.driver_connection
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def load_register(url: str, register: list[PersonRecord]) -> int:
    """The synthetic children as register rows (identity, identifiers, addresses, an open case for one in ten)."""
    children: list[tuple[Any, ...]] = []
    identities: list[tuple[Any, ...]] = []
    identifiers: list[tuple[Any, ...]] = []
    addresses: list[tuple[Any, ...]] = []
    cases: list[tuple[Any, ...]] = []
    transitions: list[tuple[Any, ...]] = []
    for i, p in enumerate(register):
        children.append((p.id, "383", None, False, False, False, p.date_of_birth, None))
        identities.append((p.id, 0, p.given_name, p.middle_names, p.surname, json.dumps(list(p.former_surnames)),
                           p.date_of_birth, "day", p.sex or "U", None, None))
        if p.upn:
            identifiers.append((p.id, "upn", p.upn))
        if p.nhs_number:
            identifiers.append((p.id, "nhs_number", p.nhs_number))
        for seq, a in enumerate(p.addresses):
            addresses.append((p.id, seq, json.dumps([a.text or ""]), None, a.postcode, a.uprn,
                              "home" if a.current else "previous", None, None, None, None))
        if i % 10 == 0:
            case_id = f"case-{p.id}"
            cases.append((case_id, p.id, "enquiries", "school", "2025-10-01", "whereabouts_unknown", None, False,
                          False, False, None, None, None, None, None, None, None))
            transitions.append((case_id, 0, None, "referred", "refer", "2025-10-01", "bench", "deletion return"))
            transitions.append((case_id, 1, "referred", "enquiries", "start_enquiries", "2025-10-01", "bench",
                                "started"))
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _copy(conn, "child", ("id", "la_code", "current_school", "restricted", "ever_looked_after", "ever_ehcp",
                                  "date_of_birth", "created_on"), children)
            _copy(conn, "child_identity", ("child_id", "seq", "given_name", "middle_names", "surname",
                                           "former_surnames", "date_of_birth", "date_of_birth_precision", "sex",
                                           "recorded_on", "source_event_id"), identities)
            _copy(conn, "child_identifier", ("child_id", "scheme", "value"), identifiers)
            _copy(conn, "child_address", ("child_id", "seq", "lines", "town", "postcode", "uprn", "kind",
                                          "valid_from", "valid_to", "recorded_on", "source_event_id"), addresses)
            _copy(conn, "cme_case", ("id", "child_id", "status", "referral_source", "referred_on", "dfe_reason",
                                     "date_last_seen", "whereabouts_known", "new_to_area", "new_to_country",
                                     "last_school", "destination_code", "located_la", "provision_on", "cme_ended_on",
                                     "closed_on", "closure_reason"), cases)
            _copy(conn, "case_transition", ("case_id", "seq", "from_status", "to_status", "trigger", '"on"', "cause",
                                            "reason"), transitions)
        # A register of this size in service has long been vacuumed and checkpointed. Without this the
        # run measures the bulk load's aftermath: autovacuum visiting every new row, first reads
        # writing hint bits, and a checkpoint flushing the load, all during the timed half minute.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("vacuum (freeze, analyze)"))
            conn.execute(sa.text("checkpoint"))
    finally:
        engine.dispose()
    return len(children)


def enquiry_body(p: PersonRecord, n: int) -> dict[str, Any]:
    """An enquiry about a partner's record (what another authority would know of the child)."""
    child: dict[str, Any] = {"given_name": p.given_name or "Unknown", "surname": p.surname or "Unknown",
                             "date_of_birth": (p.date_of_birth.isoformat() if p.date_of_birth else "2015-01-01"),
                             "sex": p.sex if p.sex in ("M", "F") else "U"}
    if p.upn:
        child["upn"] = p.upn
    if p.nhs_number:
        child["nhs_number"] = p.nhs_number
    current = [a for a in p.addresses if a.current and a.postcode]
    if current:
        child["postcode"] = current[0].postcode
    return {"child": child, "purpose": PURPOSE, "reference": f"bench-{n}"}


@dataclass
class Run:
    """One open-loop run's outcome."""

    name: str
    rate: float
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per request: generator, api, database
    slow_by_second: Counter[int] = field(default_factory=Counter)  # requests over the target, by second sent
    server: dict[str, tuple[int, int]] = field(default_factory=dict)  # per worker: (within target, all) by the API

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.statuses.items() if not s.startswith("2")) + sum(self.errors.values())


class Connection:
    """One keep-alive HTTP/1.1 connection: pre-built request bytes out, status and body back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
            elif line.lower().startswith(b"transfer-encoding:"):
                raise ValueError("chunked responses are not expected from this API")
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        self.writer.close()


def http_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes | None = None) -> bytes:
    """The bytes of one HTTP/1.1 request, built before the clock starts."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def open_loop(name: str, base: str, rate: float, seconds: float, method: str, path: str,
                    bodies: list[dict[str, Any]] | None, headers: dict[str, str], connections: int = 64,
                    api_pids: Sequence[int] = (), database_url: str | None = None) -> Run:
    """Send ``rate`` requests per second for ``seconds``; latency counts from each request's scheduled time.

    Requests are started by a scheduler at their due times (never all at once) over at most
    ``connections`` keep-alive connections; a request that must wait for a free connection still
    counts its wait, so an overloaded server shows up as latency, not as a lower offered rate.
    The generator is lean (raw HTTP/1.1 over asyncio streams, every request's bytes built
    beforehand) and its own CPU time is reported, with the API's and the database's.
    """
    run = Run(name, rate, seconds)
    total = int(rate * seconds)
    url = httpx.URL(base)
    host, port = url.host, int(url.port or 80)
    hostport = f"{host}:{port}"
    if bodies is not None:
        requests = [http_request(method, path, hostport, headers, json.dumps(b).encode()) for b in bodies]
    else:
        requests = [http_request(method, path, hostport, headers)]
    idle: list[Connection] = [await Connection.open(host, port) for _ in range(min(8, connections))]
    opened = len(idle)
    freed = asyncio.Condition()

    async def take() -> Connection:
        nonlocal opened
        async with freed:
            while not idle and opened >= connections:
                await freed.wait()
            if idle:
                return idle.pop()
            opened += 1
        return await Connection.open(host, port)

    async def give(conn: Connection | None) -> None:
        nonlocal opened
        async with freed:
            if conn is None:
                opened -= 1
            else:
                idle.append(conn)
            freed.notify()

    async def one(i: int, due: float) -> None:
        conn = await take()
        request = requests[i % len(requests)]
        try:
            try:
                status, body = await asyncio.wait_for(conn.exchange(request), 60)
            except (asyncio.IncompleteReadError, ConnectionResetError):
                # The server closed this keep-alive connection while it sat idle (uvicorn does after
                # 5 s): as any HTTP client does, open a fresh one and send the request again, once.
                conn.close()
                conn = await Connection.open(host, port)
                status, body = await asyncio.wait_for(conn.exchange(request), 60)
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            run.errors[type(exc).__name__] += 1
            conn.close()
            await give(None)
            return
        latency_ms = (time.perf_counter() - due) * 1000
        run.latencies_ms.append(latency_ms)
        if latency_ms > TARGET_P99_MS:
            run.slow_by_second[int(due - start)] += 1
        run.statuses[str(status)] += 1
        if bodies is not None and status == 201:
            run.answers[json.loads(body).get("status", "?")] += 1
        await give(conn)

    cpu = _Cpu(api_pids, database_url)
    gc.disable()  # no collector pause in the generator mid-run (it would count as the API's latency)
    start = time.perf_counter() + 0.1
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    run.elapsed = time.perf_counter() - start
    gc.enable()
    run.cpu_ms = cpu.per_request(max(run.sent, 1))
    for conn in idle:
        conn.close()
    return run


def _ticks(pid: int) -> int:
    """CPU clock ticks (user + system) used so far by one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it (the API's workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


class _Cpu:
    """CPU used during a run by this generator, the API's processes and this database's backends.

    Backends that connect during the run (the pool growing) are counted from zero; one that
    disconnects before the end is left out rather than counted negative.
    """

    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self, api_pids: Sequence[int], database_url: str | None) -> None:
        self.database_url = database_url
        self.generator = time.process_time()
        self.api = {p: _ticks(p) for p in api_pids}
        self.db = {p: _ticks(p) for p in database_backends(database_url)} if database_url else {}

    def _used(self, before: dict[int, int], now: Sequence[int]) -> float:
        after = {p: _ticks(p) for p in {*before, *now}}
        return sum(t - before.get(p, 0) for p, t in after.items() if t >= before.get(p, 0)) * 1000 / self.HZ

    def per_request(self, n: int) -> dict[str, float]:
        out = {"generator": (time.process_time() - self.generator) * 1000 / n}
        if self.api:
            out["api"] = self._used(self.api, list(self.api)) / n
            for pid, before in self.api.items():  # each process's share (are the workers evenly loaded?)
                out[f"api:{pid}"] = (_ticks(pid) - before) * 1000 / self.HZ / n
        if self.database_url:
            out["database"] = self._used(self.db, database_backends(self.database_url)) / n
        return out


def database_backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the benchmark database now (the API's pooled connections)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [int(pid) for (pid,) in conn.execute(sa.text(
                "select pid from pg_stat_activity where datname = :d and pid <> pg_backend_pid()"), {"d": DATABASE})]
    finally:
        engine.dispose()


def _asgi_request(app: Any, method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
                  ) -> Any:
    """One request straight into the ASGI app (no HTTP client or socket), returning (status, body)."""

    async def call() -> tuple[int, bytes]:
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": [*headers, (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}
        await app(scope, receive, send)
        return status, b"".join(chunks)

    return call()


class ThreadProfiles:
    """cProfile (CPU time per thread) in every thread started while it is on: threadpool, group commit."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []

    def __enter__(self) -> ThreadProfiles:
        def start(frame: Any, event: str, arg: Any) -> None:
            profile = cProfile.Profile(time.thread_time)
            self.profiles.append(profile)
            sys.setprofile(None)
            profile.enable()

        threading.setprofile(start)
        main = cProfile.Profile(time.thread_time)
        self.profiles.append(main)
        main.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        threading.setprofile(None)
        self.profiles[0].disable()

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            with contextlib.suppress(TypeError):  # a thread that never ran a profiled call
                stats.add(profile)
        return stats


def in_process(url: str, state: Path, bodies: list[dict[str, Any]], client: ClientInfo, n: int,
               concurrency: int, profile_top: int, profile_out: str = "") -> dict[str, float]:
    """CPU per request inside one API process (all its threads), then a cProfile of the enquiries.

    Requests go straight into the ASGI app (no sockets, no HTTP client), ``concurrency`` at a time.
    The profile runs on a fresh event loop after start-up so that every thread serving it (the
    threadpool's, the group commit's) starts under the profiler.
    """
    from services.api.app import create_app
    from services.logs import configure_logging
    from services.settings import Settings

    configure_logging("INFO")

    settings = Settings(database_url=url, state_dir=state, la_code="383", la_name="Leeds",
                        kafka_bootstrap=os.environ.get("CMEHUB_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
    app = create_app(settings)
    token, _ = app.state.hub.tokens.issue(client.client_id, client.home_la, list(client.scopes), [],
                                          client.generation)
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")]
    payloads = [json.dumps(b).encode() for b in bodies]

    async def batch(method: str, path: str, tag: str, count: int) -> Counter[int]:
        statuses: Counter[int] = Counter()
        for start in range(0, count, concurrency):
            got = await asyncio.gather(*(
                _asgi_request(app, method, path, payloads[i % len(payloads)].replace(
                    b'"reference": "', f'"reference": "{tag}-'.encode()) if method == "POST" else b"", headers)
                for i in range(start, min(count, start + concurrency))))
            statuses.update(status for status, _ in got)
        return statuses

    out: dict[str, float] = {}

    hub = app.state.hub

    async def drained(timeout_s: float = 600) -> None:
        """Wait until the register has recorded every answered enquiry (the outbox is empty)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            waiting = await asyncio.to_thread(hub.enquiries.readiness)
            if waiting["detail"].startswith("0 "):
                return
            await asyncio.sleep(0.5)
        raise SystemExit("the register did not record the enquiries in time")

    collections: list[tuple[int, float]] = []
    started: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            collections.append((info["generation"], time.perf_counter() - started[0]))

    gc.callbacks.append(on_gc)

    async def measure() -> None:
        async with app.router.lifespan_context(app):
            await batch("POST", "/v1/enquiries", f"warm{os.getpid()}", min(n, 200))
            await drained()
            for name, method, path in (("jwks", "GET", "/.well-known/jwks.json"),
                                       ("enquiry", "POST", "/v1/enquiries")):
                collections.clear()
                cpu, wall = time.process_time(), time.perf_counter()
                statuses = await batch(method, path, f"cpu{os.getpid()}", n)
                out[f"{name}_cpu_ms"] = (time.process_time() - cpu) * 1000 / n
                out[f"{name}_wall_ms"] = (time.perf_counter() - wall) * 1000 / n
                by_gen = {g: (sum(1 for x, _ in collections if x == g), sum(t for x, t in collections if x == g))
                          for g in (0, 1, 2)}
                print(f"{name}: {out[f'{name}_cpu_ms']:.2f} ms CPU per request (all threads), "
                      f"{out[f'{name}_wall_ms']:.2f} ms wall; statuses {dict(statuses)}; garbage collections "
                      + ", ".join(f"gen{g} {c} ({t * 1000:.0f} ms)" for g, (c, t) in by_gen.items()), file=sys.stderr)
            cpu = time.process_time()
            await drained()
            out["record_cpu_ms"] = (time.process_time() - cpu) * 1000 / n
            print(f"recording them in the register afterwards (outbox): {out['record_cpu_ms']:.2f} ms CPU per "
                  "enquiry", file=sys.stderr)

    asyncio.run(measure())
    if profile_top or profile_out:
        # The hub's objects outlive the lifespan (the index stays in memory; the engine reconnects).
        with ThreadProfiles() as profiles:
            asyncio.run(batch("POST", "/v1/enquiries", f"prof{os.getpid()}", n))
        app.state.hub.enquiries.writer.stop()
        stats = profiles.stats()
        if profile_out:
            stats.dump_stats(profile_out)
        stats.sort_stats("tottime").print_stats(profile_top)
        stats.sort_stats("cumulative").print_stats(profile_top)
    return out


def _register_size(admin: sa.Engine, url: str) -> int | None:
    """Children in a kept benchmark database (None when there is none)."""
    with admin.connect() as conn:
        if conn.execute(sa.text("select 1 from pg_database where datname = :d"), {"d": DATABASE}).first() is None:
            return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("select count(*) from child")).scalar_one())
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _cpu_busy_share(seconds: float) -> float:
    """The share of all CPU time spent busy over the next ``seconds`` (from /proc/stat)."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle and waiting for I/O
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


def quiet_machine(limit_s: float = 180.0) -> float:
    """Wait until the machine is quiet (under 10 % busy and no I/O wait for 5 s) after loading; returns the wait.

    Loading and vacuuming 100,000 children leaves the kernel and PostgreSQL writing for a while after
    the statements return; a run started then measures that, not the API.
    """
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        if _cpu_busy_share(5.0) < 0.10:
            break
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(url: str, state: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CMEHUB_DATABASE_URL": url, "CMEHUB_STATE_DIR": str(state), "CMEHUB_LA_CODE": "383",
           "CMEHUB_LA_NAME": "Leeds", "CMEHUB_KAFKA_BOOTSTRAP": os.environ.get("CMEHUB_KAFKA_BOOTSTRAP",
                                                                               "127.0.0.1:19092")}
    with (state / "api.log").open("ab") as log:  # read by wait_ready: every worker logs its index build
        return subprocess.Popen([sys.executable, "-m", "services.cli", "api", "--host", "127.0.0.1", "--port",
                                 str(port), "--workers", str(workers)], env=env, cwd=ROOT, start_new_session=True,
                                stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, workers: int = 1,
               timeout_s: float = 600) -> float:
    """Seconds until /readyz answers 200 and every worker has built its enquiry index."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        text = log.read_text(errors="replace") if log.exists() else ""
        if process.poll() is not None:
            raise SystemExit(f"the API exited with {process.returncode} before it was ready:\n{text[-3000:]}")
        try:
            if text.count("enquiry index built") >= workers and \
                    httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the API was not ready within {timeout_s:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def row(run: Run) -> str:
    cpu = run.cpu_ms
    return (f"| {run.name} | {run.sent / run.elapsed:,.0f} | {run.pct(50):.1f} | {run.pct(95):.1f} | "
            f"{run.pct(99):.1f} | {max(run.latencies_ms, default=float('nan')):.1f} | {run.failed} | "
            f"{cpu.get('api', float('nan')):.2f} | {cpu.get('database', float('nan')):.2f} | "
            f"{cpu.get('generator', float('nan')):.2f} |")


def _loads(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def report(args: argparse.Namespace, facts: dict[str, Any], base_run: Run, enquiries: Run,
           sweep: list[Run]) -> str:
    sweep_rows = "".join("\n" + row(r) for r in sweep)
    meets = enquiries.pct(99) < TARGET_P99_MS and enquiries.failed == 0
    command = ".venv/bin/python bench/bench_api.py " + " ".join(
        a for a in sys.argv[1:] if a not in ("--write-docs", "--keep", "--reuse"))
    answers = ", ".join(f"{k} {v:,}" for k, v in sorted(enquiries.answers.items()))
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(enquiries.statuses.items()))
    drain = facts["drain"]
    slow = sum(enquiries.slow_by_second.values())
    slow_seconds = ", ".join(f"{k}: {v}" for k, v in sorted(enquiries.slow_by_second.items()))
    within = sum(w for w, _ in enquiries.server.values())
    timed = sum(n for _, n in enquiries.server.values())
    server = (f"; timed by the API itself (its workers' counts since start, warm-ups included), "
              f"{within:,} of {timed:,} were answered within {TARGET_P99_MS:g} ms") if timed else ""
    workers = f"{args.workers} worker processes" if args.workers > 1 else "one process"
    return f"""## API

Command: `{command.strip()}` (PostgreSQL at 127.0.0.1:15432; the API as `cmehub api --workers {args.workers}`).

Whereabouts enquiries (`POST /v1/enquiries`) against a register of **{facts['children']:,} synthetic
children** (households, twins, namesakes, moves; one in ten with an open case), sent open-loop at
**{args.rate:g} requests/s for {args.seconds:g} s** from a load generator on loopback (raw HTTP/1.1 over
keep-alive connections, every request's bytes built beforehand, one token issued beforehand, its own
garbage collector kept out of the run so that its pauses are not counted as the API's). Latency
is measured from each request's scheduled send time (queueing included). Each enquiry is linked by
the engine over the in-memory index, answered with least disclosure and written with its audit
entries to the hash-chained log (group commit). The API ran as {workers}, each with its own index
(ready after {facts['ready_s']:.0f} s). CPU columns are milliseconds of CPU per request, read from
`/proc` for the API's processes, this database's PostgreSQL backends and the generator itself:
unlike latency, they hardly change with other load on the machine.

| requests | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors | CPU ms: API | database | generator |
|---|---|---|---|---|---|---|---|---|---|
{row(base_run)}
{row(enquiries)}{sweep_rows}

Answers: {answers}. Status codes: {statuses}.
Target p99 < {TARGET_P99_MS:g} ms with no errors: **{'met' if meets else 'not met'}** in this run.
Enquiries over {TARGET_P99_MS:g} ms: {slow:,} of {enquiries.sent:,}, by second of the run they were sent in:
{slow_seconds or 'none'}{server}.

How the answer is kept cheap (`bench_api.py --profile 300` shows where the CPU goes): the enquiry
index is frozen out of the garbage collector (a full collection over it stalled every request for
3.5 s); a verified token is remembered until it expires; dependencies and the answer itself run on
the event loop (handing each answer to a thread and back cost 1 ms of CPU), which then awaits the
group commit without holding a thread; the answer's reads share one connection outside a
transaction, child and case in one statement, and they and the group commit (a locked read of the
audit chain's head, then the inserts, the head's move and COMMIT in one pipelined round trip) go
straight to psycopg, compiled once from their SQLAlchemy form; pooled connections are pinged only
after idling. The audit log and the enquiries are analysed every 100,000 rows from a small sample
(autovacuum's analysis of each, about once a minute under load at 0.5 s of a core, stalled answers
by up to 200 ms).

The register's own record of each answer (an `la.enquiry` notification through the register's
handler) is written from a durable outbox once requests pause (or after a minute of continuous
load), 50 at a time through the register's set-based batch writer: {enquiries.sent:,} took
{drain['seconds']:.0f} s after the run, {drain['api_cpu_ms']:.2f} ms API CPU and
{drain['database_cpu_ms']:.2f} ms database CPU per enquiry (one at a time through the ORM it was 5.8 and 1.5 ms,
more than the answer, and bounded the rate the hub could sustain).

Python {platform.python_version()}, {platform.machine()}; the machine's 2 cores are shared by the
API, PostgreSQL, the load generator and other work (load average 1/5/15 min before the run
{_loads(facts['load'])}, after {_loads(facts['load_after'])}), so latencies vary between runs; the
baseline row, measured in the same run, shows the floor. `--profile N` instead measures CPU per
request inside one API process (requests straight into the ASGI app) and prints a cProfile of the
enquiries.
"""


def write_docs(section: str) -> None:
    write_section("API", section, DOCS)


def _event_loop() -> Any:
    """asyncio.run, on uvloop when it is installed (it costs the generator less CPU per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


async def _outbox(base: str) -> int:
    """Answered enquiries the register has not recorded yet (from /readyz)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        detail = (await client.get("/readyz")).json()["checks"]["enquiries"]["detail"]
    return int(detail.split()[0])


async def _server_latency(base: str, tries: int = 12) -> dict[str, tuple[int, int]]:
    """Per worker (told apart by its counts): enquiries answered within the target, and all, as the API
    itself timed them (from its /metrics): what the generator adds on top is the network and itself."""
    seen: dict[str, tuple[int, int]] = {}
    pattern = re.compile(r'cmehub_api_request_seconds_bucket\{le="([^"]+)",route="/v1/enquiries"\} ([0-9.e+]+)')
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for _ in range(tries):  # each request on a new connection, which lands on one worker or another
            text = (await client.get("/metrics")).text
            buckets = {le: int(float(n)) for le, n in pattern.findall(text)}
            if buckets:
                seen[str(buckets.get("+Inf", 0))] = (buckets.get(f"{TARGET_P99_MS / 1000:g}", 0),
                                                     buckets.get("+Inf", 0))
    return seen


async def measure_http(args: argparse.Namespace, base: str, url: str, api_pid: int, headers: dict[str, str],
                       bodies: list[dict[str, Any]]) -> tuple[Run, Run, list[Run], dict[str, float]]:
    """Warm-up, the baseline and the enquiries at the same rate, lower rates, then the outbox draining."""
    api = process_tree(api_pid)
    await open_loop("warm-up", base, min(args.rate, 50), 4, "POST", "/v1/enquiries",
                    [{**b, "reference": f"warm-{i}"} for i, b in enumerate(bodies[:200])], headers)
    while await _outbox(base):  # start from an empty outbox
        await asyncio.sleep(1)
    base_run = await open_loop("baseline: GET /.well-known/jwks.json", base, args.rate, args.seconds, "GET",
                               "/.well-known/jwks.json", None, headers, api_pids=api, database_url=url)
    # Warm again at the full rate just before (after the baseline's half minute the enquiry path has idled:
    # its threads have exited, and the busier rate opens the database sessions a running hub keeps).
    await open_loop("warm-up at the full rate", base, args.rate, 3, "POST", "/v1/enquiries",
                    [{**b, "reference": f"warm2-{i}"} for i, b in enumerate(bodies[-1000:])], headers)
    while await _outbox(base):
        await asyncio.sleep(0.5)
    enquiries = await open_loop("POST /v1/enquiries", base, args.rate, args.seconds, "POST", "/v1/enquiries",
                                bodies, headers, api_pids=api, database_url=url)
    enquiries.server = await _server_latency(base)
    # The register's record of each answer (an outbox drained once requests pause): its cost per enquiry.
    cpu, started, waiting = _Cpu(api, url), time.perf_counter(), enquiries.sent
    while await _outbox(base):
        await asyncio.sleep(1)
    drained = cpu.per_request(max(waiting, 1))
    drain = {"seconds": time.perf_counter() - started, "api_cpu_ms": drained.get("api", 0.0),
             "database_cpu_ms": drained.get("database", 0.0)}
    sweep: list[Run] = []
    for rate in args.sweep:
        while await _outbox(base):
            await asyncio.sleep(1)
        offset = len(sweep) + 1
        fresh = [{**b, "reference": f"sweep{offset}-{i}"} for i, b in enumerate(bodies)]
        sweep.append(await open_loop(f"POST /v1/enquiries at {rate:g}/s", base, rate, args.sweep_seconds, "POST",
                                     "/v1/enquiries", fresh, headers, api_pids=api, database_url=url))
    return base_run, enquiries, sweep, drain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--workers", type=int, default=1, help="API worker processes (cmehub api --workers)")
    parser.add_argument("--sweep", type=float, nargs="*", default=[],
                        help="lower enquiry rates measured after the main run (requests/s)")
    parser.add_argument("--sweep-seconds", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--write-docs", action="store_true", help=f"update the API section of {DOCS.name}")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a register of the same size kept by an earlier --keep run")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="instead of the HTTP run: N requests straight into an in-process app, CPU per "
                             "request, then a cProfile of N enquiries")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight with --profile")
    parser.add_argument("--profile-out", default="", help="also save the --profile statistics (pstats) here")
    parser.add_argument("--profile-top", type=int, default=40, help="functions listed by --profile (0: none)")
    args = parser.parse_args()

    admin = sa.create_engine(args.server, isolation_level="AUTOCOMMIT")
    url = sa.make_url(args.server).set(database=DATABASE).render_as_string(hide_password=False)
    reuse = args.reuse and _register_size(admin, url) == args.children
    if not reuse:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{DATABASE}" with (force)'))
            conn.execute(sa.text(f'create database "{DATABASE}"'))
    process = None
    try:
        migrate_register(url)
        migrate_api(url)
        t0 = time.perf_counter()
        records_wanted = int(args.rate * args.seconds)
        synthetic = generate(register_size=args.children, records=min(records_wanted, 20_000), seed=11)
        if reuse:
            children = args.children
            print(f"register: reusing the {children:,} children of {DATABASE}", file=sys.stderr)
        else:
            children = load_register(url, synthetic.register)
            print(f"register: {children:,} children loaded in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            print(f"machine quiet again after {quiet_machine():.0f} s (the load's writes flushed)", file=sys.stderr)
        engine = make_engine(url)
        info, secret = ClientRegistry(session_factory(engine)).add(
            "bench LA 384", "384", ["authority"], rate_per_s=1e6, burst=10**6, daily_quota=10**9)
        engine.dispose()
        if args.profile:
            with tempfile.TemporaryDirectory() as state:
                in_process(url, Path(state), [enquiry_body(p, n) for n, p in enumerate(synthetic.records)], info,
                           args.profile, args.concurrency, args.profile_top, args.profile_out)
            return
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        load = os.getloadavg()
        with tempfile.TemporaryDirectory() as state:
            process = start_api(url, Path(state), port, args.workers)
            ready_s = wait_ready(base, process, Path(state) / "api.log", workers=args.workers)
            print(f"API ready in {ready_s:.0f} s", file=sys.stderr)
            token = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials",
                                                            "client_id": info.client_id,
                                                            "client_secret": secret}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            bodies = [enquiry_body(p, n) for n, p in enumerate(synthetic.records)]
            # The generator holds the whole synthetic register: a full garbage collection over it would
            # stall the generator itself and count as the API's latency. Frozen, it is never walked.
            del synthetic
            gc.collect()
            gc.freeze()
            runs = _event_loop()(measure_http(args, base, url, process.pid, headers, bodies))
            stop(process)
            process = None
            log_copy = Path(tempfile.gettempdir()) / "bench_api_server.log"
            log_copy.write_bytes((Path(state) / "api.log").read_bytes())
            print(f"the API's log: {log_copy}", file=sys.stderr)
        load_after = os.getloadavg()
    finally:
        if process is not None:
            stop(process)
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'drop database if exists "{DATABASE}" with (force)'))
        admin.dispose()

    base_run, enquiries, sweep, drain = runs
    facts = {"children": children, "ready_s": ready_s, "load": load, "load_after": load_after, "drain": drain}
    print(f"{'requests':<40} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>8} {'errors':>6} "
          f"{'CPU ms/request: API':>20} {'database':>8} {'generator':>9}")
    for r in (base_run, enquiries, *sweep):
        print(f"{r.name:<40} {r.sent / r.elapsed:7.0f} {r.pct(50):7.1f} {r.pct(95):7.1f} {r.pct(99):7.1f} "
              f"{max(r.latencies_ms, default=0):8.1f} {r.failed:6d} {r.cpu_ms.get('api', 0):20.2f} "
              f"{r.cpu_ms.get('database', 0):8.2f} {r.cpu_ms.get('generator', 0):9.2f}")
    for r in (base_run, enquiries, *sweep):
        shares = " ".join(f"{k[4:]}={v:.2f}" for k, v in r.cpu_ms.items() if k.startswith("api:"))
        print(f"{r.name}: statuses {dict(r.statuses)}; errors {dict(r.errors)}; API CPU ms/request by process "
              f"{shares}; over {TARGET_P99_MS:g} ms by second of the run: {dict(sorted(r.slow_by_second.items()))}")
    print(f"answers: {dict(enquiries.answers)}")
    within = sum(w for w, _ in enquiries.server.values())
    timed = sum(n for _, n in enquiries.server.values())
    print(f"as the API timed them (all enquiries since start, {len(enquiries.server)} workers seen): {within:,} of "
          f"{timed:,} within {TARGET_P99_MS:g} ms")
    print(f"recording the answered enquiries in the register afterwards: {drain['seconds']:.0f} s, "
          f"{drain['api_cpu_ms']:.2f} ms API CPU and {drain['database_cpu_ms']:.2f} ms database CPU per enquiry")
    print(f"load average before {' '.join(f'{x:.2f}' for x in load)}, after {' '.join(f'{x:.2f}' for x in load_after)}")
    if args.write_docs:
        write_docs(report(args, facts, base_run, enquiries, sweep))
        print(f"updated {DOCS}")


if __name__ == "__main__":
    main()

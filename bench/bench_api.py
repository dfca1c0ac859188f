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
import statistics
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

import aiohttp
import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
            conn.execute(sa.text("analyze"))
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


async def open_loop(name: str, base: str, rate: float, seconds: float, method: str, path: str,
                    bodies: list[dict[str, Any]] | None, headers: dict[str, str], connections: int = 64) -> Run:
    """Send ``rate`` requests per second for ``seconds``; latency counts from each request's scheduled time.

    Requests are started by a scheduler at their due times (never all at once) over at most
    ``connections`` keep-alive connections; a request that must wait for a free connection still
    counts its wait, so an overloaded server shows up as latency, not as a lower offered rate.
    """
    run = Run(name, rate, seconds)
    total = int(rate * seconds)
    payloads = [json.dumps(b).encode() for b in bodies] if bodies is not None else None
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout,
                                     headers={**headers, "Content-Type": "application/json"}) as session:
        async with session.get("/healthz") as warm:  # open a connection before the clock starts
            await warm.read()

        async def one(i: int, due: float) -> None:
            try:
                data = payloads[i % len(payloads)] if payloads is not None else None
                async with session.request(method, path, data=data) as response:
                    body = await response.read()
                run.latencies_ms.append((time.perf_counter() - due) * 1000)
                run.statuses[str(response.status)] += 1
                if payloads is not None and response.status == 201:
                    run.answers[json.loads(body).get("status", "?")] += 1
            except (TimeoutError, aiohttp.ClientError) as exc:
                run.errors[type(exc).__name__] += 1

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
    return run


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(url: str, state: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CMEHUB_DATABASE_URL": url, "CMEHUB_STATE_DIR": str(state), "CMEHUB_LA_CODE": "383",
           "CMEHUB_LA_NAME": "Leeds", "CMEHUB_KAFKA_BOOTSTRAP": os.environ.get("CMEHUB_KAFKA_BOOTSTRAP",
                                                                               "127.0.0.1:19092")}
    return subprocess.Popen([sys.executable, "-m", "services.cli", "api", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=ROOT, start_new_session=True)


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout_s: float = 600) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
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
    return (f"| {run.name} | {run.sent / run.elapsed:,.0f} | {run.pct(50):.1f} | {run.pct(95):.1f} | "
            f"{run.pct(99):.1f} | {max(run.latencies_ms, default=float('nan')):.1f} | {run.failed} |")


def report(args: argparse.Namespace, facts: dict[str, Any], base_run: Run, enquiries: Run,
           sweep: list[Run]) -> str:
    sweep_rows = "\n".join(row(r) for r in sweep)
    meets = enquiries.pct(99) < TARGET_P99_MS and enquiries.failed == 0
    command = ".venv/bin/python bench/bench_api.py " + " ".join(
        a for a in sys.argv[1:] if a not in ("--write-docs", "--keep"))
    answers = ", ".join(f"{k} {v:,}" for k, v in sorted(enquiries.answers.items()))
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(enquiries.statuses.items()))
    return f"""## API

Command: `{command.strip()}` (PostgreSQL at 127.0.0.1:15432; the API as its own `cmehub api` process).

Whereabouts enquiries (`POST /v1/enquiries`) against a register of **{facts['children']:,} synthetic
children** (households, twins, namesakes, moves; one in ten with an open case), sent open-loop at
**{args.rate:g} requests/s for {args.seconds:g} s** from a load generator on loopback. Latency is
measured from each request's scheduled send time (queueing included). Each enquiry is linked by the
engine over the in-memory index, answered with least disclosure and written with its audit entries
to the hash-chained log (group commit); the register's own record of it (an `la.enquiry`
notification through the register's handler) follows from a durable outbox once requests pause.
Index build at start-up: {facts['ready_s']:.0f} s. Lower rates, measured after the main run, show
the rate this machine sustained within the target.

| requests | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors |
|---|---|---|---|---|---|---|
{row(base_run)}
{row(enquiries)}
{sweep_rows}

Answers: {answers}. Status codes: {statuses}.
Target p99 < {TARGET_P99_MS:g} ms with no errors: **{'met' if meets else 'not met'}** in this run.
Python {platform.python_version()}, {platform.machine()}; the machine's 2 cores are shared by the
API, PostgreSQL, the load generator and other work (load average at start {facts['load']:.1f}), so
absolute figures vary between runs; the baseline row, measured in the same run, shows the floor.
"""


def write_docs(section: str) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## API\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--sweep", type=float, nargs="*", default=[25.0, 50.0, 100.0],
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
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as state:
            process = start_api(url, Path(state), port)
            ready_s = wait_ready(base, process)
            print(f"API ready in {ready_s:.0f} s", file=sys.stderr)
            token = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials",
                                                            "client_id": info.client_id,
                                                            "client_secret": secret}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            bodies = [enquiry_body(p, n) for n, p in enumerate(synthetic.records)]
            # Warm up (connections, caches), then the baseline and the enquiries at the same rate.
            asyncio.run(open_loop("warm-up", base, min(args.rate, 50), 2, "POST", "/v1/enquiries",
                                  [{**b, "reference": f"warm-{i}"} for i, b in enumerate(bodies[:200])], headers))
            base_run = asyncio.run(open_loop("baseline: GET /.well-known/jwks.json", base, args.rate, args.seconds,
                                             "GET", "/.well-known/jwks.json", None, headers))
            enquiries = asyncio.run(open_loop("POST /v1/enquiries", base, args.rate, args.seconds, "POST",
                                              "/v1/enquiries", bodies, headers))
            sweep: list[Run] = []
            for rate in args.sweep:
                time.sleep(5)  # let the previous run's queue drain
                offset = len(sweep) + 1
                fresh = [{**b, "reference": f"sweep{offset}-{i}"} for i, b in enumerate(bodies)]
                sweep.append(asyncio.run(open_loop(f"POST /v1/enquiries at {rate:g}/s", base, rate,
                                                   args.sweep_seconds, "POST", "/v1/enquiries", fresh, headers)))
            stop(process)
            process = None
    finally:
        if process is not None:
            stop(process)
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'drop database if exists "{DATABASE}" with (force)'))
        admin.dispose()

    facts = {"children": children, "ready_s": ready_s, "load": load}
    print(f"{'requests':<40} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>8} {'errors':>6}")
    for r in (base_run, enquiries, *sweep):
        print(f"{r.name:<40} {r.sent / r.elapsed:7.0f} {r.pct(50):7.1f} {r.pct(95):7.1f} {r.pct(99):7.1f} "
              f"{max(r.latencies_ms, default=0):8.1f} {r.failed:6d}")
    print(f"answers: {dict(enquiries.answers)}; statuses: {dict(enquiries.statuses)}; errors: {dict(enquiries.errors)}")
    ratio = statistics.median(enquiries.latencies_ms) / max(statistics.median(base_run.latencies_ms), 1e-6)
    print(f"median latency ratio enquiries/baseline: {ratio:.1f}x")
    if args.write_docs:
        write_docs(report(args, facts, base_run, enquiries, sweep))
        print(f"updated {DOCS}")


if __name__ == "__main__":
    main()

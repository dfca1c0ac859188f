"""Register query budget: the case view and the dashboard measures over 100,000 children on PostgreSQL.

    .venv/bin/python bench/bench_register.py [--children 100000] [--server postgresql+psycopg://cmehub@127.0.0.1:15432/cmehub]
                                              [--keep] [--write-docs]

Creates its own database (``cmehub_bench_register``) on the server, migrates it with the register's
own migrations, loads synthetic children (identities, identifiers, addresses, one CME episode each
with transitions, tasks, risk flags and two notifications) with COPY, runs ANALYZE, then times in
the same run:

- baseline: a bare ``select count(*) from cme_case`` (the floor of any query on the table);
- the case view: ``views.child_timeline`` by case id, for distinct random cases, fresh session state;
- the dashboard: ``views.dashboard`` (every measure) as of today over the school year.

Target: case view and dashboard each under 100 ms (median and p95 reported). Also reports how long
the matcher's bulk load of the blocking index (``iter_candidates``) takes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docs_section import write_section  # noqa: E402

from services.register.database import make_engine, migrate, session_factory  # noqa: E402
from services.register.measures import Period, school_year_of  # noqa: E402
from services.register.model import CME_STATUSES, CaseStatus, RiskFlag, risk_mask  # noqa: E402
from services.register.repository import RegisterRepository  # noqa: E402
from services.register.views import child_timeline, dashboard  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
SERVER = "postgresql+psycopg://cmehub@127.0.0.1:15432/cmehub"
DATABASE = "cmehub_bench_register"
BUDGET_MS = 100.0
TODAY = dt.date.today()

GIVEN = [
    "Amelia",
    "Oliver",
    "Isla",
    "Muhammad",
    "Ava",
    "Noah",
    "Lily",
    "Leo",
    "Freya",
    "Jack",
    "Maryam",
    "Ali",
    "Zofia",
    "Jakub",
    "Ayaan",
    "Aisha",
    "Tomasz",
    "Grace",
    "Harry",
    "Ivy",
    "Yusuf",
    "Evie",
    "Oscar",
    "Mia",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Khan",
    "Hussain",
    "Begum",
    "Nowak",
    "Kowalski",
    "Patel",
    "Okafor",
    "Walker",
    "Wright",
    "Ahmed",
    "Ali",
    "Wilson",
    "Evans",
    "Thomas",
    "Roberts",
    "Green",
]
OPEN_MIX = [
    (CaseStatus.REFERRED, 500),
    (CaseStatus.ENQUIRIES, 500),
    (CaseStatus.LOCATED_LOCAL, 700),
    (CaseStatus.NOT_FOUND, 300),
    (CaseStatus.ESCALATED, 200),
    (CaseStatus.LOST_PUPIL, 800),
    (CaseStatus.IN_PROVISION, 2000),
    (CaseStatus.LOCATED_OTHER_LA, 400),
    (CaseStatus.LOCATED_ABROAD, 100),
]
REASONS = [
    "awaiting_school_place",
    "whereabouts_unknown",
    "new_arrival",
    "unsuitable_ehe",
    "permanently_excluded",
    "missing_episode",
    "other",
]


def _copy(conn: sa.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into a table through psycopg (the fastest way PostgreSQL takes bulk data)."""
    raw = conn.connection.driver_connection
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def load(conn: sa.Connection, children: int, seed: int = 7) -> dict[str, int]:
    """Synthetic register: every child with identities, identifiers, addresses and one episode."""
    rng = random.Random(seed)
    statuses: list[CaseStatus] = [s for s, n in OPEN_MIX for _ in range(n * children // 100_000)]
    statuses += [CaseStatus.CLOSED] * (children - len(statuses))
    rng.shuffle(statuses)
    rows: dict[str, list[tuple[Any, ...]]] = {
        k: []
        for k in (
            "child",
            "child_identity",
            "child_identifier",
            "child_address",
            "cme_case",
            "case_risk_flag",
            "case_transition",
            "task",
            "notification",
        )
    }
    now = dt.datetime.now(dt.UTC)
    for i in range(children):
        cid, case_id = f"c{i:07d}-{uuid.UUID(int=rng.getrandbits(128))}"[:36], str(uuid.UUID(int=rng.getrandbits(128)))
        dob = _day(rng, dt.date(2008, 9, 1), dt.date(2021, 8, 31))
        looked_after, ehcp = rng.random() < 0.04, rng.random() < 0.06
        rows["child"].append((cid, "383", None, False, looked_after, ehcp, dob, TODAY))
        surname = rng.choice(SURNAMES)
        given = rng.choice(GIVEN)
        rows["child_identity"].append((cid, 0, given, None, surname, "[]", dob, "day", rng.choice("MF"), TODAY, None))
        if rng.random() < 0.3:
            rows["child_identity"].append(
                (
                    cid,
                    1,
                    given,
                    None,
                    rng.choice(SURNAMES),
                    json.dumps([surname]),
                    dob,
                    "day",
                    rng.choice("MF"),
                    TODAY,
                    None,
                )
            )
        if rng.random() < 0.9:
            rows["child_identifier"].append((cid, "upn", f"H{rng.randrange(10**12):012d}"))
        if rng.random() < 0.6:
            rows["child_identifier"].append((cid, "nhs_number", f"9{rng.randrange(10**9):09d}"))
        for seq in range(1 if rng.random() < 0.5 else 2):
            postcode = (
                f"LS{rng.randrange(1, 29)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            )
            rows["child_address"].append(
                (
                    cid,
                    seq,
                    json.dumps([f"{rng.randrange(1, 200)} Example Street"]),
                    "Leeds",
                    postcode,
                    None,
                    "home",
                    None,
                    None,
                    TODAY,
                    None,
                )
            )
        status = statuses[i]
        if status is CaseStatus.CLOSED:
            referred = _day(rng, dt.date(2022, 9, 1), TODAY - dt.timedelta(days=30))
        else:
            referred = _day(rng, TODAY - dt.timedelta(days=180), TODAY - dt.timedelta(days=1))
        ended = None if status in CME_STATUSES else min(referred + dt.timedelta(days=rng.randrange(1, 200)), TODAY)
        provision = ended if status is CaseStatus.IN_PROVISION or (ended and rng.random() < 0.7) else None
        closed = ended if status is CaseStatus.CLOSED else None
        whereabouts = (
            status
            not in (
                CaseStatus.REFERRED,
                CaseStatus.ENQUIRIES,
                CaseStatus.NOT_FOUND,
                CaseStatus.ESCALATED,
                CaseStatus.LOST_PUPIL,
            )
            or rng.random() < 0.3
        )
        flags = set(rng.sample(list(RiskFlag), k=rng.choice([0, 0, 0, 1, 2])))
        rows["cme_case"].append(
            (
                case_id,
                cid,
                status.value,
                rng.choice(["school", "police", "health", "border"]),
                referred,
                rng.choice(REASONS),
                referred - dt.timedelta(days=3),
                whereabouts,
                rng.random() < 0.2,
                rng.random() < 0.08,
                "3832001",
                None,
                None,
                provision,
                ended,
                closed,
                "in_provision" if closed else None,
                risk_mask(flags),
            )
        )
        for flag in sorted(flags):
            rows["case_risk_flag"].append((case_id, flag.value))
        path = ["referred", "enquiries", status.value] if status is not CaseStatus.REFERRED else ["referred"]
        prev = None
        for seq, to in enumerate(path):
            rows["case_transition"].append((case_id, seq, prev, to, "synthetic", referred, "bench", "synthetic step"))
            prev = to
        is_open = status is not CaseStatus.CLOSED
        for kind, offset in (("home_visit", 7), ("follow_up", 28)):
            due = referred + dt.timedelta(days=offset)
            state = "open" if is_open and status in CME_STATUSES else "done"
            rows["task"].append(
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    case_id,
                    kind,
                    referred,
                    due,
                    state,
                    None if state == "open" else due,
                    None,
                    None,
                    "",
                )
            )
        for n in range(2):
            eid = str(uuid.UUID(int=rng.getrandbits(128)))
            occurred = dt.datetime.combine(referred + dt.timedelta(days=n * 5), dt.time(9), dt.UTC)
            payload = json.dumps({"event_id": eid, "event_type": "school.deletion_return", "n": n})
            rows["notification"].append(
                (
                    eid,
                    "school.deletion_return",
                    cid,
                    case_id,
                    "school-3832001",
                    "school",
                    None,
                    "383",
                    occurred,
                    now,
                    "Education Act 1996 s436A",
                    payload,
                )
            )
    cols = {
        "child": (
            "id",
            "la_code",
            "current_school",
            "restricted",
            "ever_looked_after",
            "ever_ehcp",
            "date_of_birth",
            "created_on",
        ),
        "child_identity": (
            "child_id",
            "seq",
            "given_name",
            "middle_names",
            "surname",
            "former_surnames",
            "date_of_birth",
            "date_of_birth_precision",
            "sex",
            "recorded_on",
            "source_event_id",
        ),
        "child_identifier": ("child_id", "scheme", "value"),
        "child_address": (
            "child_id",
            "seq",
            "lines",
            "town",
            "postcode",
            "uprn",
            "kind",
            "valid_from",
            "valid_to",
            "recorded_on",
            "source_event_id",
        ),
        "cme_case": (
            "id",
            "child_id",
            "status",
            "referral_source",
            "referred_on",
            "dfe_reason",
            "date_last_seen",
            "whereabouts_known",
            "new_to_area",
            "new_to_country",
            "last_school",
            "destination_code",
            "located_la",
            "provision_on",
            "cme_ended_on",
            "closed_on",
            "closure_reason",
            "risk_mask",
        ),
        "case_risk_flag": ("case_id", "flag"),
        "case_transition": ("case_id", "seq", "from_status", "to_status", "trigger", '"on"', "cause", "reason"),
        "task": (
            "id",
            "case_id",
            "kind",
            "opened_on",
            "due_on",
            "state",
            "closed_on",
            "closed_by",
            "escalated_on",
            "note",
        ),
        "notification": (
            "event_id",
            "event_type",
            "child_id",
            "case_id",
            "source_partner",
            "source_kind",
            "source_reference",
            "responsible_la",
            "occurred_at",
            "received_at",
            "lawful_basis",
            "payload",
        ),
    }
    return {table: _copy(conn, table, cols[table], rows[table]) for table in cols}


def _timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "runs": len(ordered),
    }


def _reusable(server: str, children: int) -> bool:
    """True when a kept benchmark database already holds ``children`` children."""
    url = sa.make_url(server).set(database=DATABASE)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("select count(*) from child")).scalar() == children
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def run(children: int, server: str, keep: bool, reuse: bool = False) -> dict[str, Any]:
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    fresh = not (reuse and _reusable(server, children))
    if fresh:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{DATABASE}" with (force)'))
            conn.execute(sa.text(f'create database "{DATABASE}"'))
    url = sa.make_url(server).set(database=DATABASE).render_as_string(hide_password=False)
    engine = make_engine(url)
    figures: dict[str, Any] = {"children": children}
    try:
        migrate(engine)
        start = time.perf_counter()
        if fresh:
            with engine.begin() as conn:
                figures["rows"] = load(conn, children)
        else:
            with engine.connect() as conn:
                figures["rows"] = {t: conn.execute(sa.text(f"select count(*) from {t}")).scalar() for t in (
                    "child", "child_identity", "child_identifier", "child_address", "cme_case", "case_risk_flag",
                    "case_transition", "task", "notification")}
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum does on a live register: statistics and the visibility map.
            conn.execute(sa.text("vacuum analyze"))
        figures["load_s"] = time.perf_counter() - start
        sessions = session_factory(engine)
        with sessions() as session:
            case_ids = list(session.scalars(sa.text("select id from cme_case order by random() limit 320")))
            open_ids = list(
                session.scalars(sa.text("select id from cme_case where status <> 'closed' order by random() limit 100"))
            )
            for _ in range(20):  # warm the pool and the server's caches
                session.execute(sa.text("select count(*) from cme_case")).scalar()
            baseline = _timed(lambda: session.execute(sa.text("select count(*) from cme_case")).scalar(), 50)
            for warm in case_ids[:20]:  # warm-up: statement cache and buffers
                child_timeline(session, warm)
            case_ids = case_ids[20:]
            ids = iter(case_ids + open_ids)

            def one_view() -> object:
                session.expunge_all()  # no help from objects an earlier view loaded
                return child_timeline(session, next(ids))

            views = _timed(one_view, len(case_ids) + len(open_ids))
            period = Period(school_year_of(TODAY).start, TODAY)
            for _ in range(5):  # warm-up: statement cache, plans, buffers
                measures = dashboard(session, TODAY, period)
            dashboards = _timed(lambda: dashboard(session, TODAY, period), 50)
            start = time.perf_counter()
            loaded = sum(1 for _ in RegisterRepository(session).iter_candidates())
            figures["candidates_s"] = time.perf_counter() - start
            figures["candidates"] = loaded
        figures.update(
            baseline=_stats(baseline),
            case_view=_stats(views),
            dashboard=_stats(dashboards),
            cme_now=measures.cme_now,
            overdue=measures.overdue_tasks,
        )
        figures["load_average"] = os.getloadavg()
        figures["server"] = ".".join(str(x) for x in engine.dialect.server_version_info or ())
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'drop database if exists "{DATABASE}" with (force)'))
        admin.dispose()
    return figures


def docs_section(f: dict[str, Any], command: str) -> str:
    """The "## Register" section of docs/benchmarks.md."""
    rows = sum(f["rows"].values())
    medians = max(f["case_view"]["median"], f["dashboard"]["median"]) < BUDGET_MS
    p95s = max(f["case_view"]["p95"], f["dashboard"]["p95"]) < BUDGET_MS
    verdict = (
        f"medians {'under' if medians else 'OVER'} 100 ms, p95 {'under' if p95s else 'OVER'} 100 ms"
    )
    load = ", ".join(f"{x:.1f}" for x in f["load_average"])
    lines = [
        "## Register",
        "",
        f"Command: `{command}`",
        "",
        f"PostgreSQL {f['server']} on 127.0.0.1:15432, own database, migrated with the "
        f"register's Alembic migrations; {f['children']:,} synthetic children ({rows:,} rows: identities, "
        f"identifiers, addresses, one episode each with transitions, tasks, risk flags, two notifications), "
        f"loaded with COPY and VACUUM ANALYZE in {f['load_s']:.0f} s. {f['cme_now']:,} children CME today.",
        "",
        "| query | median ms | p95 ms | runs |",
        "|---|---|---|---|",
        f"| baseline: `select count(*) from cme_case` | {f['baseline']['median']:.1f} | {f['baseline']['p95']:.1f} "
        f"| {f['baseline']['runs']} |",
        f"| case view (`views.child_timeline`, distinct random cases) | {f['case_view']['median']:.1f} | "
        f"{f['case_view']['p95']:.1f} | {f['case_view']['runs']} |",
        f"| dashboard (`views.dashboard`, every measure) | {f['dashboard']['median']:.1f} | "
        f"{f['dashboard']['p95']:.1f} | {f['dashboard']['runs']} |",
        "",
        f"Budget 100 ms each: **{verdict}**; load average during the run {load} on 2 cores. The matcher's bulk "
        f"load of the whole "
        f"blocking index (`RegisterRepository.iter_candidates`, {f['candidates']:,} children with every identity, "
        f"identifier and address) took {f['candidates_s']:.1f} s. Python {platform.python_version()}; the machine's "
        "2 cores are shared with other work, so compare each line with the baseline of the same run.",
    ]
    return "\n".join(lines) + "\n"


def write_docs(section: str) -> None:
    """Replace (or append) only the "## Register" section of docs/benchmarks.md."""
    write_section("Register", section, DOCS)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--server", default=SERVER, help="maintenance database URL of the PostgreSQL server")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database of the same size (no reload)")
    parser.add_argument("--write-docs", action="store_true", help="update the Register section of docs/benchmarks.md")
    args = parser.parse_args()
    f = run(args.children, args.server, args.keep or args.reuse, args.reuse)
    print(f"loaded {f['children']:,} children ({sum(f['rows'].values()):,} rows) in {f['load_s']:.1f} s")
    for name in ("baseline", "case_view", "dashboard"):
        s = f[name]
        print(f"{name:<10} median {s['median']:7.1f} ms   p95 {s['p95']:7.1f} ms   ({s['runs']} runs)")
    print(f"candidates {f['candidates']:,} children bulk-loaded in {f['candidates_s']:.1f} s")
    ok = max(f["case_view"]["median"], f["dashboard"]["median"]) < BUDGET_MS
    p95 = max(f["case_view"]["p95"], f["dashboard"]["p95"]) < BUDGET_MS
    print(f"budget {BUDGET_MS:.0f} ms: medians {'met' if ok else 'MISSED'}, p95 {'met' if p95 else 'missed'}"
          f" (load average {os.getloadavg()[0]:.1f})")
    if args.write_docs:
        kept = [a for a in sys.argv[1:] if a not in ("--write-docs", "--reuse", "--keep")]
        command = ".venv/bin/python bench/bench_register.py " + " ".join(kept)
        write_docs(docs_section(f, command.strip() + " --write-docs"))
        print(f"wrote the Register section of {DOCS}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

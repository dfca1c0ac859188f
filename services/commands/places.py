"""`cmehub places|transitions|s2s|watchlist`: school places, transition points, the S2S workflow and prevention.

Register in services/cli.py::

    from services.commands import places
    app.add_typer(places.app, name="places")
    app.add_typer(places.transitions_app, name="transitions")
    app.add_typer(places.s2s_app, name="s2s")
    app.add_typer(places.watchlist_app, name="watchlist")
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from connectors.common.parsing import ParseContext
from connectors.common.producer import DeliveryError, EventProducer
from connectors.common.quarantine import ParseResult
from connectors.ingest import deliver, iter_files
from connectors.places.csv_files import parse_places_file
from services.places.geo import CentroidFileError, Centroids, load_centroids
from services.places.proposals import CannotPropose, Proposal, proposals_for_case, propose_places
from services.places.store import apply_from_register, apply_places_events
from services.register.database import RegisterDatabaseError, migrate
from services.register.unit_of_work import UnitOfWorkFactory, unit_of_work_factory
from services.settings import get_settings
from services.transitions.lost_pupil import write_lost_pupil_ctfs
from services.transitions.s2s import S2sInputError, ingest_s2s, s2s_results
from services.transitions.watch import TransitionPolicy, open_tasks, run_watch
from services.transitions.watchlist import record_review, watch_list, watch_list_counts

app = typer.Typer(help="School vacancies and alternative provision; places proposed for a found child.",
                  no_args_is_help=True)
transitions_app = typer.Typer(help="Transition points: offers, expected starts, no-shows and missing returns.",
                              no_args_is_help=True)
s2s_app = typer.Typer(help="S2S: bulk search of lost-pupil (XXX) and outside-sector (MMM) CTFs; lost-pupil CTFs.",
                      no_args_is_help=True)
watchlist_app = typer.Typer(help="Prevention: children on roll at increased risk, ranked with reasons.",
                            no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: CMEHUB_DATABASE_URL or the demo SQLite)")
]
La = Annotated[str | None, typer.Option("--la", help="3-digit LA code (default: CMEHUB_LA_CODE)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _uows(url: str | None) -> UnitOfWorkFactory:
    target = url or get_settings().register_url
    try:
        migrate(target)
    except RegisterDatabaseError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    return unit_of_work_factory(target)


def _day(value: str | None, name: str) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD", param_hint=name) from None


def _centroids() -> Centroids:
    configured = get_settings().places_postcode_centroids
    try:
        return load_centroids(configured) if configured else load_centroids()
    except CentroidFileError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


# -- places ---------------------------------------------------------------------------------------


@app.command("ingest")
def places_ingest(
    paths: Annotated[list[Path], typer.Argument(help="CSV files or folders (vacancies or providers)")],
    database_url: DatabaseUrl = None,
    la: La = None,
    kafka: Annotated[bool, typer.Option("--kafka", help="also send the events to cme.notifications.places")] = False,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers")] = None,
) -> None:
    """Read vacancy and provider CSVs; keep the latest picture in the register (and on Kafka with --kafka)."""
    settings = get_settings()
    ctx = ParseContext(default_la=la or settings.la_code)
    results: list[ParseResult] = []
    for path in iter_files(paths):
        results.append(parse_places_file(path.read_bytes(), path.name, ctx))
    uows = _uows(database_url)
    try:
        applied = apply_places_events(uows, [e for r in results for e in r.events])
    finally:
        uows.dispose()
    if kafka:
        try:
            with EventProducer(bootstrap or settings.bootstrap_servers, topic_prefix=settings.topic_prefix) as sink:
                for result in results:
                    deliver(result, sink, ctx)
        except DeliveryError as exc:
            err.print(f"[red]cmehub places ingest: {exc}[/red]")
            raise typer.Exit(3) from exc
    records = sum(r.records for r in results)
    events = sum(len(r.events) for r in results)
    quarantined = [q for r in results for q in r.quarantined]
    for q in quarantined:
        err.print(f"quarantined {q.file_name} {q.position}: {'; '.join(q.reasons)}")
    console.print(f"{len(results)} file(s), {records} record(s): {events} event(s), {len(quarantined)} quarantined; "
                  f"register: {applied.applied} applied, {applied.older_ignored} older than held")
    raise typer.Exit(1 if quarantined else 0)


@app.command("sync")
def places_sync(database_url: DatabaseUrl = None) -> None:
    """Apply the places events the matcher recorded from cme.notifications.places (run after the stream)."""
    uows = _uows(database_url)
    try:
        summary = apply_from_register(uows)
    finally:
        uows.dispose()
    _json(summary.as_dict())


def _print_proposal(proposal: Proposal, as_json: bool) -> None:
    if as_json:
        _json(proposal.to_dict())
        return
    console.print(proposal.message)
    for title, options in (("Schools", proposal.schools), ("Providers", proposal.providers)):
        if not options:
            continue
        table = Table(title=title)
        for col in ("km", "id", "name", "detail", "free", "as of"):
            table.add_column(col)
        for o in options:
            table.add_row(f"{o.distance_km:.1f}", o.id, o.name, o.detail, str(o.free_places), o.as_of.isoformat())
        console.print(table)


@app.command("propose")
def places_propose(
    year_group: Annotated[str, typer.Option("--year-group", help="R, Y1 ... Y13")],
    postcode: Annotated[str, typer.Option("--postcode", help="the child's postcode")],
    age: Annotated[int | None, typer.Option(help="the child's age, for providers")] = None,
    send: Annotated[bool, typer.Option("--send", help="only SEND-suitable providers")] = False,
    max_km: Annotated[float | None, typer.Option("--max-km")] = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Schools with a vacancy in the year group and providers with a free place near a postcode, nearest first."""
    settings = get_settings()
    centroids = _centroids()
    uows = _uows(database_url)
    try:
        proposal = propose_places(uows, year_group, postcode, age=age, needs_send=send,
                                  max_km=max_km or settings.places_max_distance_km, centroids=centroids)
    finally:
        uows.dispose()
    _print_proposal(proposal, as_json)


@app.command("propose-case")
def places_propose_case(
    case_id: Annotated[str, typer.Argument(help="a case id")],
    on: Annotated[str | None, typer.Option(help="date for the year group (default today)")] = None,
    max_km: Annotated[float | None, typer.Option("--max-km")] = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Proposals for a case's child: year group from the date of birth, distance from the home postcode."""
    settings = get_settings()
    uows = _uows(database_url)
    try:
        proposal = proposals_for_case(uows, case_id, on=_day(on, "--on"),
                                      max_km=max_km or settings.places_max_distance_km, centroids=_centroids())
    except CannotPropose as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        uows.dispose()
    _print_proposal(proposal, as_json)


# -- transitions ----------------------------------------------------------------------------------


@transitions_app.command("check")
def transitions_check(
    today: Annotated[str | None, typer.Option("--today", help="YYYY-MM-DD (default today)")] = None,
    la: La = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Settle expectations due by today: arrivals, no-show referrals, admission-return tasks (run daily)."""
    settings = get_settings()
    policy = TransitionPolicy(no_show_school_days=settings.transitions_no_show_school_days,
                              admission_return_school_days=settings.transitions_admission_return_school_days)
    uows = _uows(database_url)
    try:
        summary = run_watch(uows, la or settings.la_code, _day(today, "--today"), policy=policy)
    finally:
        uows.dispose()
    _json(summary.as_dict())


@transitions_app.command("tasks")
def transitions_tasks(la: La = None, database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
    """Admission returns schools owe (a deletion return named them; none came in time)."""
    uows = _uows(database_url)
    try:
        tasks = open_tasks(uows, la or get_settings().la_code)
    finally:
        uows.dispose()
    if as_json:
        _json([dataclasses.asdict(t) for t in tasks])
        return
    table = Table(title=f"{len(tasks)} open transition task(s)")
    for col in ("task", "child", "school", "start", "due", "note"):
        table.add_column(col)
    for t in tasks:
        table.add_row(t.expectation_id[:8], t.child_id, t.school_laestab, t.expected_start.isoformat(),
                      t.due_on.isoformat(), t.note)
    console.print(table)


# -- S2S --------------------------------------------------------------------------------------------


@s2s_app.command("ingest")
def s2s_ingest(
    path: Annotated[Path, typer.Argument(help="a folder or a zip of CTFs downloaded from S2S (XXX and MMM files)")],
    la: La = None,
    database_url: DatabaseUrl = None,
    show: Annotated[int, typer.Option(help="matches and possible matches to print")] = 50,
    as_json: AsJson = False,
) -> None:
    """Search every pupil of every CTF against the register; list matches and possible matches with weights."""
    settings = get_settings()
    uows = _uows(database_url)
    try:
        summary = ingest_s2s(uows, path, la=la or settings.la_code)
    except S2sInputError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        uows.dispose()
    hits = sorted((r for r in summary.results if r.decision in ("match", "possible_match")),
                  key=lambda r: -(r.match_weight or 0.0))
    if as_json:
        _json({**summary.as_dict(), "results": [r.to_dict() for r in hits]})
        return
    administrator = settings.s2s_administrator or "not set (CMEHUB_S2S_ADMINISTRATOR)"
    console.print(f"S2S batch {summary.batch_id} (S2S administrator: {administrator})")
    console.print(json.dumps(summary.as_dict()))
    table = Table(title="matches and possible matches, heaviest first")
    for col in ("file", "pupil", "decision", "child", "weight", "probability", "reason"):
        table.add_column(col)
    for r in hits[:show]:
        table.add_row(r.file_name, r.position, r.decision, r.child_id or "-", f"{r.match_weight:.1f}"
                      if r.match_weight is not None else "-", f"{r.match_probability:.3f}"
                      if r.match_probability is not None else "-", r.reason)
    console.print(table)
    for r in summary.results:
        if r.decision == "quarantined":
            err.print(f"quarantined {r.file_name} {r.position}: {r.reason}")


@s2s_app.command("results")
def s2s_results_command(
    batch: Annotated[str | None, typer.Option(help="one batch id (default: all)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Stored matches and possible matches of S2S searches, heaviest first (JSON)."""
    uows = _uows(database_url)
    try:
        _json([r.to_dict() for r in s2s_results(uows, batch)])
    finally:
        uows.dispose()


@s2s_app.command("lost-pupil-ctf")
def s2s_lost_pupil_ctf(
    out: Annotated[Path, typer.Option("--out", help="folder for the files to upload to S2S")],
    la: La = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write one lost-pupil CTF (XXX/XXXX) per child whose whereabouts stay unknown after enquiries."""
    settings = get_settings()
    uows = _uows(database_url)
    try:
        written, refused = write_lost_pupil_ctfs(uows, la or settings.la_code, out)
    finally:
        uows.dispose()
    for reason in refused:
        err.print(f"not written: {reason}")
    administrator = settings.s2s_administrator or "the LA's S2S administrator (set CMEHUB_S2S_ADMINISTRATOR)"
    console.print(f"{len(written)} lost-pupil CTF(s) in {out}; upload them to S2S: {administrator}")
    raise typer.Exit(1 if refused else 0)


# -- watch list -------------------------------------------------------------------------------------


@watchlist_app.command("list")
def watchlist_list(
    today: Annotated[str | None, typer.Option("--today")] = None,
    min_score: Annotated[int, typer.Option("--min-score")] = 3,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    la: La = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Children on roll at increased risk of missing education, ranked, with the reason shown."""
    uows = _uows(database_url)
    try:
        entries = watch_list(uows, la or get_settings().la_code, _day(today, "--today"), min_score=min_score)
    finally:
        uows.dispose()
    if as_json:
        _json({"counts": watch_list_counts(entries), "entries": [e.to_dict() for e in entries[:limit]]})
        return
    table = Table(title=f"watch list: {json.dumps(watch_list_counts(entries))}")
    for col in ("rank", "child", "school", "score", "reason", "last review"):
        table.add_column(col)
    for rank, e in enumerate(entries[:limit], start=1):
        table.add_row(str(rank), e.child_id, e.current_school or "-", str(e.score), e.reason,
                      f"{e.last_reviewed_on} {e.last_review_outcome}" if e.last_reviewed_on else "never")
    console.print(table)


@watchlist_app.command("review")
def watchlist_review(
    child_id: Annotated[str, typer.Argument()],
    reviewer: Annotated[str, typer.Option(help="officer id")],
    outcome: Annotated[str, typer.Option(help="e.g. no_action, school_contacted, referred")],
    note: Annotated[str, typer.Option()] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Record an officer's review of a child on the watch list."""
    uows = _uows(database_url)
    try:
        record_review(uows, child_id, reviewer=reviewer, outcome=outcome, on=dt.date.today(), note=note)
    finally:
        uows.dispose()
    print(f"review recorded for {child_id}", file=sys.stderr)

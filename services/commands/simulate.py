"""`cmehub simulate`: a synthetic authority and its neighbour, their partner traffic and its ground truth.

``cmehub simulate --seed 1 --out DIR`` writes a term of partner files (CTF, returns, FHIR, NEMS,
police JSON, PAXLST) beside the truth; ``stats`` prints the population's statistics against their
targets; ``stream DIR`` feeds the files through the connectors into Kafka in accelerated time.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.simulation.config import ScenarioConfig, ScenarioError
from services.simulation.stats import PopulationStats

app = typer.Typer(
    help="Simulate a living authority and its neighbour: partner files in their real formats, with ground truth.",
    no_args_is_help=True,
    invoke_without_command=True,
)
console = Console(stderr=True)

SeedOpt = typer.Option(1, "--seed", help="Random seed: the same seed writes byte-identical output.")
ChildrenOpt = typer.Option(51_000, "--children", help="School-age children in the home authority (average: 51,000).")
NeighbourOpt = typer.Option(None, "--neighbour-children", help="Children in the neighbour (default 60% of --children).")
StartOpt = typer.Option("2025-09-01", "--start", help="First day of the period (YYYY-MM-DD).")
EndOpt = typer.Option("2025-12-19", "--end", help="Last day of the period (YYYY-MM-DD).")
HomeOpt = typer.Option("383", "--home-la", help="3-digit code of the home authority.")
NeighbourLaOpt = typer.Option("384", "--neighbour-la", help="3-digit code of the neighbouring authority.")
OutOpt = typer.Option(None, "--out", help="Folder to write the scenario to.")
StatsFolderArg = typer.Argument(None, help="A written scenario (reads its truth/stats.json).")
StreamFolderArg = typer.Argument(..., help="A scenario written by `cmehub simulate --out`.", exists=True)
MinutesOpt = typer.Option(3.0, "--minutes", help="Squeeze the whole period into this many minutes.")
RateOpt = typer.Option(None, "--rate", help="Send R files a second instead (load tests); 0: no pause.")
BootstrapOpt = typer.Option(None, "--bootstrap", help="Kafka bootstrap servers (default: settings).")
WallClockOpt = typer.Option(False, "--wall-clock", help="Stamp received_at now, not the simulated time.")
TopicPrefixOpt = typer.Option("", "--topic-prefix", hidden=True)
PoisonOpt = typer.Option(0, "--poison", help="Also send N messages no consumer can decode (they end as dead letters).")
DemoPoisonOpt = typer.Option(1, "--poison", help="Messages no consumer can decode, for a dead letter to replay.")
JsonOpt = typer.Option(False, "--json", help="Print the statistics as JSON on stdout.")
DemoFolderOpt = typer.Option(None, "--folder", help="Where the demo scenario lives (default: under the state folder).")
EvalFolderArg = typer.Argument(..., help="The scenario that was streamed into the hub.", exists=True)
DatabaseOpt = typer.Option(None, "--database-url", help="The register's URL (default: the hub's settings).")
LaCodeOpt = typer.Option(None, "--la", help="The authority whose open cases are checked (default: settings).")


def _config(
    seed: int, children: int, neighbour: int | None, start: str, end: str, home: str, other: str
) -> ScenarioConfig:
    try:
        return ScenarioConfig(
            seed=seed, children=children, neighbour_children=neighbour, start=date.fromisoformat(start),
            end=date.fromisoformat(end), home_la=home, neighbour_la=other,
        )
    except ValueError as exc:  # ScenarioError and bad ISO dates alike
        console.print(f"[red]cmehub simulate: {exc}[/red]")
        raise typer.Exit(2) from exc


def _stats_table(stats: list[PopulationStats]) -> Table:
    table = Table(title="Simulated population against its targets")
    table.add_column("LA")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("ok")
    for s in stats:
        for f in s.figures:
            table.add_row(s.la, f.name, f"{f.value:.4f}", f"{f.target:.4f}", "yes" if f.within else "[red]no[/red]")
        table.add_row(s.la, "children on census day", str(s.children_census_day), "", "")
        table.add_row(s.la, "CME on census day", str(s.cme_census_day), "", "")
        table.add_row(s.la, "CME episodes started in the period", f"{s.episodes_in_period} in {s.period_days} days", "",
                      "")
        table.add_row(s.la, "scaled to an average authority", f"{s.scaled_census_day:.0f} on census day, "
                      f"{s.scaled_episodes_per_year:.0f} episodes a year", "250 / 900-1,000", "")
    return table


@app.callback()
def generate(
    ctx: typer.Context,
    seed: int = SeedOpt,
    out: Path | None = OutOpt,
    children: int = ChildrenOpt,
    neighbour_children: int | None = NeighbourOpt,
    start: str = StartOpt,
    end: str = EndOpt,
    home_la: str = HomeOpt,
    neighbour_la: str = NeighbourLaOpt,
) -> None:
    """Write the default scenario (an authority and its neighbour, one autumn term) to --out."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        console.print("[red]cmehub simulate: give --out DIR (the folder to write the scenario to)[/red]")
        raise typer.Exit(2)
    from services.simulation.scenario import simulate, write_scenario

    config = _config(seed, children, neighbour_children, start, end, home_la, neighbour_la)
    began = time.monotonic()
    with console.status("simulating the population and its term"):
        scenario = simulate(config)
    simulated = time.monotonic() - began
    try:
        with console.status(f"writing {len(scenario.files)} partner files and the ground truth"):
            counts = write_scenario(scenario, out)
    except ScenarioError as exc:
        console.print(f"[red]cmehub simulate: {exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(_stats_table([scenario.stats(la) for la in config.size_of]))
    console.print(
        f"wrote {counts['files']} partner files ({counts['records']} records) for {counts['children']} children and "
        f"{counts['episodes']} CME episodes to {out} in {time.monotonic() - began:.1f} s "
        f"(simulation {simulated:.1f} s)"
    )


@app.command("stats")
def stats_command(
    folder: Path | None = StatsFolderArg,
    seed: int = SeedOpt,
    children: int = ChildrenOpt,
    neighbour_children: int | None = NeighbourOpt,
    start: str = StartOpt,
    end: str = EndOpt,
    home_la: str = HomeOpt,
    neighbour_la: str = NeighbourLaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Print the population statistics (CME rate, episodes a year, share new to area, twins) against targets."""
    if folder is not None:
        path = folder / "truth" / "stats.json"
        if not path.is_file():
            console.print(f"[red]cmehub simulate stats: {path} not found; write a scenario with --out first[/red]")
            raise typer.Exit(2)
        sys.stdout.write(path.read_text(encoding="utf-8"))
        return
    from services.simulation.scenario import simulate, stats_as_json

    config = _config(seed, children, neighbour_children, start, end, home_la, neighbour_la)
    scenario = simulate(config)
    stats = [scenario.stats(la) for la in config.size_of]
    if as_json:
        sys.stdout.write(json.dumps({s.la: stats_as_json(s) for s in stats}, indent=1) + "\n")
    else:
        Console().print(_stats_table(stats))
    if not all(s.all_within for s in stats):
        raise typer.Exit(1)


@app.command("stream")
def stream_command(
    folder: Path = StreamFolderArg,
    minutes: float = MinutesOpt,
    rate: float | None = RateOpt,
    bootstrap: str | None = BootstrapOpt,
    wall_clock: bool = WallClockOpt,
    topic_prefix: str = TopicPrefixOpt,
    poison: int = PoisonOpt,
) -> None:
    """Feed the scenario's files through the connectors into Kafka, in accelerated time."""
    _stream(folder, minutes, rate, bootstrap, wall_clock, topic_prefix, poison)


@app.command("demo")
def demo_command(
    seed: int = SeedOpt,
    children: int = ChildrenOpt,
    minutes: float = MinutesOpt,
    bootstrap: str | None = BootstrapOpt,
    folder: Path | None = DemoFolderOpt,
    topic_prefix: str = TopicPrefixOpt,
    poison: int = DemoPoisonOpt,
) -> None:
    """Write the demo scenario once (under the hub's state folder) and stream its term into the running hub."""
    from services.settings import get_settings
    from services.simulation.scenario import simulate, write_scenario

    folder = folder or get_settings().state_dir / "demo" / f"seed-{seed}-children-{children}"
    if not (folder / "manifest.csv").is_file():
        config = _config(seed, children, None, StartOpt.default, EndOpt.default, HomeOpt.default,
                         NeighbourLaOpt.default)
        with console.status(f"simulating LA {config.home_la} and LA {config.neighbour_la} for the demo"):
            write_scenario(simulate(config), folder)
    console.print(f"streaming the demo term from {folder} over {minutes:g} minutes")
    _stream(folder, minutes, None, bootstrap, False, topic_prefix, poison)
    console.print(f"compare the register with the truth: cmehub simulate evaluate {folder}")


def _stream(
    folder: Path, minutes: float, rate: float | None, bootstrap: str | None, wall_clock: bool, topic_prefix: str,
    poison: int = 0,
) -> None:
    from connectors.common.producer import DeliveryError, EventProducer
    from services.settings import get_settings
    from services.simulation.stream import Delivery, ScenarioNotFound, StreamSummary, read_manifest, stream

    try:
        deliveries = read_manifest(folder)
    except ScenarioNotFound as exc:
        console.print(f"[red]cmehub simulate stream: {exc}[/red]")
        raise typer.Exit(2) from exc
    servers = bootstrap or get_settings().bootstrap_servers
    try:
        producer = EventProducer(servers, topic_prefix=topic_prefix or get_settings().topic_prefix)
    except DeliveryError as exc:
        console.print(f"[red]cmehub simulate stream: {exc}[/red]")
        raise typer.Exit(3) from exc
    totals: dict[str, int] = {}
    for d in deliveries:
        totals[d.partner] = totals.get(d.partner, 0) + 1
    progress = Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"), console=console,
    )
    with progress, producer:
        overall = progress.add_task("all files", total=len(deliveries), note="")
        tasks = {p: progress.add_task(p, total=n, note="") for p, n in sorted(totals.items())}

        def advance(delivery: Delivery, summary: StreamSummary) -> None:
            progress.advance(tasks[delivery.partner])
            progress.update(overall, advance=1, note=f"{delivery.delivered_at:%d %b %Y} · {summary.events} events, "
                                                     f"{summary.quarantined} quarantined")

        try:
            summary = stream(folder, producer, minutes=minutes, rate=rate if rate is None else (rate or 1e9),
                             wall_clock=wall_clock, on_file=advance)
            if poison:
                _send_poison(producer, poison, deliveries[0].la if deliveries else "383")
        except DeliveryError as exc:
            console.print(f"[red]cmehub simulate stream: {exc}[/red]")
            raise typer.Exit(3) from exc
    _print_summary(summary)
    if poison:
        console.print(f"sent {poison} undecodable message(s) to {producer.topic_prefix}{POISON_TOPIC}: "
                      "they should reach the "
                      "dead-letter topic, ready to inspect and replay")
    if summary.mismatched:
        raise typer.Exit(1)


POISON_TOPIC = "cme.notifications.school"
POISON = b"cmehub simulate: this message is deliberately not an Avro record, to exercise the dead-letter path"


def _send_poison(producer: Any, count: int, la: str) -> None:
    """Messages a consumer cannot decode: the matching worker must dead-letter them, not stop."""
    for n in range(count):
        producer.send_encoded(POISON_TOPIC, la.encode("ascii"), POISON + f" #{n + 1}".encode())
    producer.flush()


def _print_summary(summary: Any) -> None:
    console.print(
        f"sent {summary.files} files in {summary.elapsed_s:.1f} s: {summary.events} events, {summary.quarantined} "
        f"quarantined, {summary.out_of_scope} out of scope (adults); {summary.confirmed} records confirmed by Kafka"
    )
    if summary.mismatched:
        console.print(f"[red]{len(summary.mismatched)} files differed from the ground truth, e.g. "
                      f"{', '.join(summary.mismatched[:3])}[/red]")


@app.command("evaluate")
def evaluate_command(
    folder: Path = EvalFolderArg,
    database_url: str | None = DatabaseOpt,
    la: str | None = LaCodeOpt,
) -> None:
    """Compare the running register with the ground truth: false merges, missed matches, cases that should be open."""
    from services.register.database import make_engine
    from services.settings import get_settings
    from services.simulation.evaluate import evaluate
    from services.simulation.stream import ScenarioNotFound

    settings = get_settings()
    engine = make_engine(database_url or settings.register_url)
    try:
        result = evaluate(folder, engine, la or settings.la_code)
    except ScenarioNotFound as exc:
        console.print(f"[red]cmehub simulate evaluate: {exc}[/red]")
        raise typer.Exit(2) from exc
    except sa_errors() as exc:
        console.print(f"[red]cmehub simulate evaluate: the register cannot be read ({type(exc).__name__}); "
                      "start the hub (`cmehub up`) or give --database-url[/red]")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    table = Table(title="Register against the ground truth")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in result.lines():
        table.add_row(label, value)
    Console().print(table)
    if result.false_merges:
        raise typer.Exit(1)


def sa_errors() -> tuple[type[Exception], ...]:
    """The database errors that mean the register is missing or unreachable."""
    import sqlalchemy.exc

    return (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError)

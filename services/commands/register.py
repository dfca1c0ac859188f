"""`cmehub register`: a child's timeline, the measures, the DfE extract, retention and migrations."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.register import retention as retention_rules
from services.register.database import RegisterDatabaseError, migrate
from services.register.dfe_extract import build_extract
from services.register.handlers import escalate_overdue_tasks
from services.register.measures import Period, school_year_of
from services.register.unit_of_work import UnitOfWork, unit_of_work_factory
from services.register.views import NotFoundInRegister, child_timeline, dashboard
from services.settings import get_settings

app = typer.Typer(help="The CME register: timelines, measures, the DfE extract, retention.", no_args_is_help=True)
console = Console()

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: CMEHUB_DATABASE_URL or the demo SQLite)")
]


def _iso(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD", param_hint=name) from None


def _open(url: str | None) -> tuple[str, UnitOfWork]:
    target = url or get_settings().register_url
    try:
        migrate(target)
    except RegisterDatabaseError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    return target, unit_of_work_factory(target)()


@app.command("migrate")
def migrate_command(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the register's tables (the same migrations on PostgreSQL and SQLite)."""
    target = database_url or get_settings().register_url
    try:
        revision = migrate(target)
    except RegisterDatabaseError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"register at revision {revision}")


@app.command("show")
def show_command(
    child_or_case_id: Annotated[str, typer.Argument(help="A child id or a case id")],
    database_url: DatabaseUrl = None,
) -> None:
    """Print a child's identities, addresses, cases, tasks and timeline."""
    _, uow = _open(database_url)
    with uow:
        assert uow.session is not None
        try:
            view = child_timeline(uow.session, child_or_case_id)
        except NotFoundInRegister as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    child = view.child
    console.print(f"[bold]Child {child.id}[/bold]  LA {child.la_code}  on roll: {child.current_school or 'no'}"
                  + ("  [red]RESTRICTED: address withheld[/red]" if child.restricted else ""))
    for ident in child.identities:
        console.print(f"  identity  {ident.given_name or '?'} {ident.surname or '?'}  born {ident.date_of_birth or '?'}"
                      f"  sex {ident.sex}  (recorded {ident.recorded_on})")
    for number in sorted(child.identifiers, key=lambda i: i.scheme.value):
        console.print(f"  {number.scheme.value:<10}{number.value}")
    for addr in child.addresses:
        until = f" to {addr.valid_to}" if addr.valid_to else ""
        console.print(f"  address   {', '.join(addr.lines)} {addr.postcode or ''} ({addr.kind}{until})")
    for case in view.cases:
        flags = ", ".join(sorted(f.value for f in case.risk_flags)) or "none"
        console.print(f"[bold]Case {case.id}[/bold]  {case.status}  reason {case.dfe_reason}  referred "
                      f"{case.referred_on} by {case.referral_source}  last seen {case.date_last_seen or '?'}  "
                      f"risks: {flags}")
        for task in case.open_tasks():
            console.print(f"  open task {task.kind} due {task.due_on}" + (" [red]ESCALATED[/red]" if task.escalated_on
                                                                          else ""))
    table = Table("date", "what", "detail", title="Timeline")
    for entry in view.entries:
        table.add_row(entry.on.isoformat(), entry.what, entry.detail)
    console.print(table)


@app.command("stats")
def stats_command(
    as_of: Annotated[str | None, typer.Option(help="Date of the measures (default today)")] = None,
    since: Annotated[str | None, typer.Option(help="Start of the period (default: start of the school year)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the measures the DfE checklist asks an authority to monitor."""
    day = _iso(as_of, "--as-of") or dt.date.today()
    period = Period(_iso(since, "--since") or school_year_of(day).start, day)
    _, uow = _open(database_url)
    with uow:
        assert uow.session is not None
        m = dashboard(uow.session, day, period)
    if as_json:
        sys.stdout.write(json.dumps(asdict(m), default=str, indent=2) + "\n")
        return
    table = Table("measure", "value", title=f"CME register as of {day} (period {period.start} to {period.end})")
    for label, value in (
        ("CME now", m.cme_now),
        ("CME at any point in the period", m.cme_any_point),
        ("referred in the period", m.referred_in_period),
        ("new to the area", m.new_to_area),
        ("new to the country", m.new_to_country),
        ("whereabouts unknown", m.whereabouts_unknown),
        ("overdue tasks", m.overdue_tasks),
        ("overdue follow-ups", m.overdue_follow_ups),
        ("reached provision in the period", m.pace.cases),
        ("median days referral to provision", m.pace.median_days if m.pace.median_days is not None else "-"),
    ):
        table.add_row(label, str(value))
    for title, counts in (("by status", m.by_status), ("by reason", m.by_reason), ("by risk", m.by_risk),
                          ("closures by reason", m.closures_by_reason)):
        for key, count in sorted(counts.items()):
            table.add_row(f"{title}: {key}", str(count))
    console.print(table)


@app.command("export-dfe")
def export_dfe_command(
    census_date: Annotated[str, typer.Option("--census-date", help="Census day, YYYY-MM-DD")],
    out: Annotated[Path | None, typer.Option(help="CSV file to write ('-' for standard output)")] = None,
    la: Annotated[str | None, typer.Option(help="Authority code (default CMEHUB_LA_CODE)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the DfE CME collection extract (census-day and any-point counts) as CSV."""
    day = _iso(census_date, "--census-date")
    assert day is not None
    la_code = la or get_settings().la_code
    _, uow = _open(database_url)
    with uow:
        assert uow.session is not None
        extract = build_extract(uow.session, day, la_code)
    if out is not None and str(out) == "-":
        extract.write_csv(sys.stdout)
        return
    target = out or Path(f"dfe-cme-{la_code}-{day.isoformat()}.csv")
    extract.save(target)
    console.print(f"wrote {len(extract.rows)} rows to {target}: {extract.value('cme_on_census_date')} CME on {day}")


@app.command("retention")
def retention_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--apply", help="Show what would be removed (default), or remove it")
    ] = True,
    today: Annotated[str | None, typer.Option(help="Pretend today is this date")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show (or, with --apply, remove) records past their retention period."""
    day = _iso(today, "--today") or dt.date.today()
    _, uow = _open(database_url)
    with uow:
        assert uow.session is not None
        plan = retention_rules.plan(uow.session, day)
        table = Table("data class", "records", title=f"Retention on {day}" + (" (dry run)" if dry_run else ""))
        for label, count in plan.counts().items():
            table.add_row(label, str(count))
        console.print(table)
        if dry_run:
            console.print("nothing removed; run with --apply to remove these records")
            return
        removed = retention_rules.apply(uow.session, plan)
        uow.commit()
    console.print("removed: " + ", ".join(f"{k} {v}" for k, v in removed.items()))


@app.command("escalate")
def escalate_command(
    today: Annotated[str | None, typer.Option(help="Pretend today is this date")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Escalate every overdue task once (run daily: overdue work is visible and escalates)."""
    day = _iso(today, "--today") or dt.date.today()
    target, _ = _open(database_url)
    count = escalate_overdue_tasks(unit_of_work_factory(target)(), day)
    console.print(f"escalated {count} overdue task(s) as of {day}")

"""`cmehub audit`: check the API's hash-chained audit log."""

from __future__ import annotations

import typer

from services.api.audit import AuditLog
from services.api.database import migrate
from services.register.database import make_engine, session_factory
from services.settings import get_settings

app = typer.Typer(help="The audit log of every read and write of personal data.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Recompute the hash chain; exit 1 naming every changed, removed or reordered entry."""
    engine = make_engine(get_settings().register_url)
    try:
        migrate(engine)
        report = AuditLog(session_factory(engine)).verify()
    finally:
        engine.dispose()
    if report.ok:
        typer.echo(f"ok: {report.entries} entries, chain intact (head {report.head[:16]}…)")
        return
    typer.echo(typer.style("FAIL: ", fg="red", bold=True) + f"{report.entries} entries, the chain is broken:", err=True)
    for problem in report.problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(1)

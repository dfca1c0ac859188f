"""`cmehub schemas`: show the event contracts and check their evolution."""

from __future__ import annotations

import json

import typer
from fastavro.schema import to_parsing_canonical_form
from rich.console import Console
from rich.table import Table

from schemas import compat
from schemas.codec import schema_fingerprint
from schemas.events import EVENT_TYPES, UnknownEventType, encodable_names, schema_json, schema_version, to_jsonable
from schemas.examples import example_event, example_quarantine
from schemas.topics import topic_for

app = typer.Typer(help="Avro schemas of the hub's events (schemas/avro).", no_args_is_help=True)


@app.command("list")
def list_command() -> None:
    """Every record the hub writes, with its version, fingerprint and topic."""
    table = Table(title="Event schemas")
    for column in ("event type", "version", "fingerprint (CRC-64-AVRO)", "topic"):
        table.add_column(column)
    for name in encodable_names():
        topic = "cme.quarantine" if name not in EVENT_TYPES else topic_for(example_event(name))
        table.add_row(name, str(schema_version(name)), schema_fingerprint(schema_json(name)).hex(), topic)
    Console().print(table)


@app.command("show")
def show_command(
    event_type: str = typer.Argument(..., help="e.g. school.deletion_return, or QuarantineRecord"),
    canonical: bool = typer.Option(False, "--canonical", help="print the Parsing Canonical Form instead"),
    example: bool = typer.Option(False, "--example", help="print a fictional example event instead"),
) -> None:
    """Print a schema (named types inlined), its canonical form, or an example event, as JSON."""
    try:
        schema = schema_json(event_type)
    except UnknownEventType as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if example:
        record = example_quarantine() if event_type == "QuarantineRecord" else example_event(event_type)
        typer.echo(json.dumps(to_jsonable(record), indent=2, ensure_ascii=False))
    elif canonical:
        typer.echo(to_parsing_canonical_form(schema))
    else:
        typer.echo(json.dumps(schema, indent=2, ensure_ascii=False))


@app.command("check")
def check_command() -> None:
    """Fail when a schema change cannot read data written with a released version."""
    raise typer.Exit(compat.main([]))

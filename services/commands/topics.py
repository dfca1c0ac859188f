"""`cmehub topics`: make the broker match the topic catalogue, and show what it holds."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from schemas.topic_admin import TopicAdminError, apply_topics, describe_topics
from schemas.topics import CATALOGUE_FILE, catalogue
from services.settings import get_settings

app = typer.Typer(help="Kafka topics of the hub (catalogue: schemas/topics.yaml).", no_args_is_help=True)

BootstrapOption = typer.Option(None, "--bootstrap", help="Kafka bootstrap servers (default: the hub's settings).")


def _bootstrap(value: str | None) -> str:
    return value or get_settings().bootstrap_servers


@app.command("apply")
def apply_command(bootstrap: str | None = BootstrapOption) -> None:
    """Create missing topics and update partitions and configs (safe to run again)."""
    console = Console()
    try:
        changes = apply_topics(_bootstrap(bootstrap), catalogue(get_settings().topic_prefix))
    except TopicAdminError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    for change in changes:
        detail = f" ({'; '.join(change.details)})" if change.details else ""
        console.print(f"{change.topic}: {change.action}{detail}")
    created = sum(c.action == "created" for c in changes)
    updated = sum(c.action == "updated" for c in changes)
    console.print(
        f"{len(changes)} topics: {created} created, {updated} updated, {len(changes) - created - updated} unchanged"
    )


@app.command("list")
def list_command(bootstrap: str | None = BootstrapOption) -> None:
    """Show every catalogue topic with its partitions, end offsets and retention."""
    console = Console()
    try:
        states = describe_topics(_bootstrap(bootstrap), [s.name for s in catalogue(get_settings().topic_prefix)])
    except TopicAdminError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    specs = {s.name: s for s in catalogue(get_settings().topic_prefix)}
    table = Table(title=f"Hub topics ({CATALOGUE_FILE.name})")
    for column in ("topic", "partitions", "end offsets", "messages", "retention.ms", "cleanup", "key"):
        table.add_column(column)
    for state in states:
        spec = specs[state.name]
        if not state.exists:
            table.add_row(
                state.name, "[red]missing[/red]", "", "", str(spec.retention_ms), spec.cleanup_policy, spec.key
            )
            continue
        offsets = " ".join(f"{p}:{o}" for p, o in state.end_offsets.items())
        table.add_row(
            state.name,
            str(state.partitions),
            offsets,
            str(state.messages),
            state.configs.get("retention.ms", "?"),
            state.configs.get("cleanup.policy", "?"),
            spec.key,
        )
    console.print(table)
    missing = [s.name for s in states if not s.exists]
    if missing:
        console.print(f"[yellow]{len(missing)} topic(s) missing: run `cmehub topics apply`[/yellow]")

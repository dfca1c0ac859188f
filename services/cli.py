"""The ``cmehub`` command: thin, it calls the services below it.

Each area's sub-commands live in ``services/commands/<area>.py`` and are imported only when used,
so ``cmehub link`` does not pay for the API's or the simulation's imports.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.main import get_command

from services.commands.run import api_command, doctor_command, up_command

# name -> (module[:attribute], one line of help shown without importing it)
AREAS: dict[str, tuple[str, str]] = {
    "topics": ("services.commands.topics", "Kafka topics of the hub: apply the catalogue, list them."),
    "schemas": ("services.commands.schemas", "Event schemas: list, show, check compatibility."),
    "events": ("services.commands.events", "Read events from a topic (personal fields masked)."),
    "ingest": ("services.commands.ingest", "Partner files into the hub (schools, health, police, border)."),
    "register": ("services.commands.register", "The CME register: show, stats, DfE extract, retention."),
    "link": ("services.commands.link", "Link records to a register (CSV) and train the matcher."),
    "simulate": ("services.commands.simulate", "A synthetic authority: partner traffic, ground truth, demo."),
    "clients": ("services.commands.clients", "API clients: add, list, rotate, revoke."),
    "audit": ("services.commands.audit", "The audit log: verify its hash chain."),
    "console": ("services.commands.console", "Web console accounts: add, list, disable, enable."),
    "places": ("services.commands.places", "School vacancies and alternative provision: ingest, propose."),
    "transitions": ("services.commands.places:transitions_app", "Offers and expected starts: no-shows, tasks."),
    "s2s": ("services.commands.places:s2s_app", "S2S downloads searched against the register; lost-pupil CTFs."),
    "watchlist": ("services.commands.places:watchlist_app", "Children at increased risk, ranked with reasons."),
}


class AreaGroup(typer.core.TyperGroup):
    """The top-level group: the core commands, and each area's sub-app loaded on first use."""

    # typer vendors its own click: its types are private, so the hooks take them as Any.
    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *AREAS]

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in AREAS:
            return super().get_command(ctx, name)
        module_name, _, attribute = AREAS[name][0].partition(":")
        sub_app: Any = getattr(importlib.import_module(module_name), attribute or "app")
        # Mounted as add_typer would: a sub-app with one command stays a group.
        holder = typer.Typer()
        holder.add_typer(sub_app, name=name, help=sub_app.info.help or AREAS[name][1])
        return get_command(holder).commands[name]  # type: ignore[attr-defined]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, (self.commands[name].get_short_help_str(80))) for name in super().list_commands(ctx)]
        rows += [(name, help_text) for name, (_, help_text) in AREAS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    cls=AreaGroup,
    help="CME Hub: the multi-agency hub for finding children missing education.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("up")(up_command)
app.command("doctor")(doctor_command)
app.command("api")(api_command)


if __name__ == "__main__":
    app()

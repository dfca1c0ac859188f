"""The ``cmehub`` command: thin, it calls the services below it."""

from __future__ import annotations

import typer

from services.commands import audit, clients, events, ingest, link, register, schemas, simulate, topics
from services.commands.run import api_command, doctor_command, up_command

app = typer.Typer(
    help="CME Hub: the multi-agency hub for finding children missing education.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("up")(up_command)
app.command("doctor")(doctor_command)
app.command("api")(api_command)
app.add_typer(topics.app, name="topics")
app.add_typer(schemas.app, name="schemas")
app.add_typer(events.app, name="events")
app.add_typer(ingest.app, name="ingest")
app.add_typer(register.app, name="register")
app.add_typer(link.app, name="link")
app.add_typer(simulate.app, name="simulate")
app.add_typer(clients.app, name="clients")
app.add_typer(audit.app, name="audit")


if __name__ == "__main__":
    app()

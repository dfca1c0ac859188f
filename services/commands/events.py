"""`cmehub events`."""

import typer

app = typer.Typer(help="events", no_args_is_help=True)

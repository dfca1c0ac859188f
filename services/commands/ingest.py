"""`cmehub ingest`."""

import typer

app = typer.Typer(help="ingest", no_args_is_help=True)

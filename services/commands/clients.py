"""`cmehub clients`."""

import typer

app = typer.Typer(help="clients", no_args_is_help=True)

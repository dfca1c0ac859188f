"""`cmehub schemas`."""

import typer

app = typer.Typer(help="schemas", no_args_is_help=True)

"""`cmehub simulate`."""

import typer

app = typer.Typer(help="simulate", no_args_is_help=True)

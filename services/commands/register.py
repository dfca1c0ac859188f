"""`cmehub register`."""

import typer

app = typer.Typer(help="register", no_args_is_help=True)

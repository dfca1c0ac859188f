"""`cmehub link`."""

import typer

app = typer.Typer(help="link", no_args_is_help=True)

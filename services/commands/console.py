"""`cmehub console`: the web console's local accounts (officers, operators, auditors)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from services.api.console.database import ConsoleDatabaseError, migrate
from services.api.console.users import ConsoleUserError, ConsoleUsers, Role
from services.register.database import make_engine, session_factory
from services.settings import get_settings

_ROLES = ", ".join(r.value for r in Role)

app = typer.Typer(help="Web console accounts: add, list, disable and enable users.", no_args_is_help=True)


def _users() -> ConsoleUsers:
    engine = make_engine(get_settings().register_url)
    try:
        migrate(engine)
    except ConsoleDatabaseError as exc:
        _fail(str(exc))
    return ConsoleUsers(session_factory(engine))


def _fail(message: str) -> None:
    typer.echo(typer.style("error: ", fg="red", bold=True) + message, err=True)
    raise typer.Exit(1)


@app.command("add-user")
def add_user(
    username: Annotated[str, typer.Argument(help="Sign-in name: lower-case letters, digits, '.', '-', '_'.")],
    role: Annotated[str, typer.Option("--role", "-r", help=f"One of: {_ROLES}.")],
    name: Annotated[str, typer.Option("--name", help="The name shown in the console (default: the username).")] = "",
    password_env: Annotated[str | None, typer.Option(
        "--password-env", help="Read the password from this environment variable instead of asking.")] = None,
) -> None:
    """Add a console user; the password is asked for twice (or read from --password-env) and stored hashed."""
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            _fail(f"environment variable {password_env} is empty or not set")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = _users().add(username, name, role, password)
    except ConsoleUserError as exc:
        _fail(str(exc))
        return
    typer.echo(f"added {user.username} ({user.role.value}); they sign in at /console/login")


@app.command("list-users")
def list_users() -> None:
    """Every console user with their role, whether they are enabled and when they last signed in."""
    users = _users().list()
    if not users:
        typer.echo("no console users yet: add one with `cmehub console add-user NAME --role officer`")
        return
    typer.echo(f"{'username':<24} {'role':<9} {'state':<9} {'last sign-in':<20} name")
    for u in users:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        typer.echo(f"{u.username:<24} {u.role.value:<9} {'disabled' if u.disabled else 'enabled':<9} {last:<20} "
                   f"{u.display_name}")


@app.command("disable-user")
def disable_user(username: Annotated[str, typer.Argument(help="The user to stop.")]) -> None:
    """Stop a user signing in (their open session ends on their next click)."""
    try:
        _users().set_disabled(username, True)
    except ConsoleUserError as exc:
        _fail(str(exc))
    typer.echo(f"disabled {username}")


@app.command("enable-user")
def enable_user(username: Annotated[str, typer.Argument(help="The user to let back in.")]) -> None:
    """Let a disabled user sign in again."""
    try:
        _users().set_disabled(username, False)
    except ConsoleUserError as exc:
        _fail(str(exc))
    typer.echo(f"enabled {username}")

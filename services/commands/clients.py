"""`cmehub clients`: register partner systems, authorities, officers and operators as API clients."""

from __future__ import annotations

from typing import Annotated

import typer

from services.api.clients import ClientError, ClientRegistry, Scope, Source
from services.api.database import migrate
from services.register.database import make_engine, session_factory
from services.settings import get_settings

_SCOPES = ", ".join(s.value for s in Scope)
_SOURCES = ", ".join(s.value for s in Source)

app = typer.Typer(help="API clients: add, list, rotate secrets, revoke, rotate the token-signing key.",
                  no_args_is_help=True)


def _registry() -> ClientRegistry:
    engine = make_engine(get_settings().register_url)
    migrate(engine)
    return ClientRegistry(session_factory(engine))


def _fail(message: str) -> None:
    typer.echo(typer.style("error: ", fg="red", bold=True) + message, err=True)
    raise typer.Exit(1)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Who the client is, e.g. 'Leeds NHS CHIS' or 'LA 384 hub'.")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help=f"Repeat for each: {_SCOPES}.")],
    source: Annotated[list[str] | None, typer.Option("--source", help=f"Sources a partner may push: {_SOURCES}.")]
    = None,
    home_la: Annotated[str | None, typer.Option("--home-la", help="The client's authority (default: this hub's).")]
    = None,
    client_id: Annotated[str | None, typer.Option("--client-id", help="Choose the id (default: from the name).")]
    = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Requests per second (default: CMEHUB_API_RATE_PER_S).")]
    = None,
    quota: Annotated[int | None, typer.Option("--quota", help="Requests per day (default: CMEHUB_API_DAILY_QUOTA).")]
    = None,
    mtls_subject: Annotated[str | None, typer.Option("--mtls-subject", help="Required client certificate subject.")]
    = None,
) -> None:
    """Register a client; its secret is printed once and stored only as a hash."""
    try:
        info, secret = _registry().add(name, home_la or get_settings().la_code, scope, source or [],
                                       client_id=client_id, rate_per_s=rate, daily_quota=quota,
                                       mtls_subject=mtls_subject)
    except ClientError as exc:
        _fail(str(exc))
        return
    typer.echo(f"client_id     {info.client_id}\nclient_secret {secret}\n"
               f"scopes        {' '.join(info.scopes)}\nsources       {' '.join(info.sources) or '-'}\n"
               f"home LA       {info.home_la}\n"
               "(the secret is not shown again; `cmehub clients rotate` makes a new one)")


@app.command("list")
def list_clients() -> None:
    """Every client, its scopes, sources, home authority and state."""
    rows = _registry().list()
    if not rows:
        typer.echo("no clients yet: `cmehub clients add NAME --scope partner --source school`")
        return
    typer.echo(f"{'client_id':<32} {'LA':<4} {'scopes':<28} {'sources':<26} state")
    for c in rows:
        state = "revoked" if c.revoked else f"active (gen {c.generation})"
        typer.echo(f"{c.client_id:<32} {c.home_la:<4} {' '.join(c.scopes):<28} {' '.join(c.sources) or '-':<26} "
                   f"{state}")


@app.command("rotate")
def rotate(client_id: str = typer.Argument(..., help="The client whose secret to replace.")) -> None:
    """A new secret for a client; the old secret and its tokens stop working at once."""
    try:
        secret = _registry().rotate(client_id)
    except ClientError as exc:
        _fail(str(exc))
        return
    typer.echo(f"client_id     {client_id}\nclient_secret {secret}\n(the secret is not shown again)")


@app.command("revoke")
def revoke(client_id: str = typer.Argument(..., help="The client to refuse from now on.")) -> None:
    """Refuse a client from now on, its live tokens included."""
    try:
        _registry().revoke(client_id)
    except ClientError as exc:
        _fail(str(exc))
        return
    typer.echo(f"revoked {client_id}")


@app.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Sign new tokens with a fresh key now (tokens signed by older keys stay valid until they expire)."""
    from services.api.bootstrap import key_ring

    kid = key_ring(get_settings()).rotate()
    typer.echo(f"new signing key {kid} (running APIs pick it up within 30 s)")

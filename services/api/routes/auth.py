"""OAuth2 client-credentials tokens (RFC 6749 §4.4) and the public keys that verify them."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.api.audit import AuditEntry
from services.api.deps import HubDep

router = APIRouter(tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    error: str
    error_description: str


_FORM = {
    "requestBody": {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object",
            "required": ["grant_type"],
            "properties": {
                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                "client_id": {"type": "string"},
                "client_secret": {"type": "string"},
                "scope": {"type": "string", "description": "space-separated subset of the client's scopes"},
            },
        }}},
    }
}


_PRINTABLE = re.compile(r"[\x20-\x7e]{1,400}")


def _error(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses={400: {"model": OAuthError}, 401: {"model": OAuthError}, 429: {"model": OAuthError}},
    openapi_extra=_FORM,
    summary="Get an access token with client credentials",
)
async def token(request: Request, hub: HubDep,
                authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> Any:
    """Exchange a client id and secret (form fields or HTTP Basic) for a signed, short-lived token."""
    try:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), strict_parsing=False).items()}
    except UnicodeDecodeError:
        return _error(400, "invalid_request", "the body must be UTF-8 form data")
    if form.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
    credentials = _basic(authorization) or (form.get("client_id", ""), form.get("client_secret", ""))
    client_id, secret = credentials
    if not client_id or not secret or not _PRINTABLE.fullmatch(client_id + secret):
        return _error(401, "invalid_client", "client_id and client_secret (printable ASCII) are required",
                      **{"WWW-Authenticate": "Basic"})
    # Slow down guessing: a few attempts per second per client id.
    refusal = hub.limiter.check(f"token:{client_id}", 2.0, 10, 10_000)
    if refusal is not None:
        return _error(429, "slow_down", refusal.reason, **{"Retry-After": str(refusal.retry_after_s)})

    client = await run_in_threadpool(hub.clients.authenticate, client_id, secret)
    if client is None:
        hub.metrics.refusals.labels("bad_credentials").inc()
        return _error(401, "invalid_client", "unknown client, wrong secret or revoked client",
                      **{"WWW-Authenticate": "Basic"})
    asked = set(form.get("scope", "").split()) or set(client.scopes)
    if not asked <= set(client.scopes):
        return _error(400, "invalid_scope", f"this client may ask only for: {' '.join(client.scopes)}")
    access, ttl = hub.tokens.issue(client.client_id, client.home_la, sorted(asked), list(client.sources),
                                   client.generation)
    await run_in_threadpool(hub.audit.append, AuditEntry(client.client_id, client.home_la, "token.issued", "client",
                                                         client.client_id, "authentication"))
    return TokenResponse(access_token=access, expires_in=ttl, scope=" ".join(sorted(asked)))


@router.get("/.well-known/jwks.json", summary="Public keys that verify this hub's tokens")
def jwks(hub: HubDep) -> dict[str, Any]:
    """The token-signing public keys (JWK Set); old keys stay listed until their tokens expire."""
    return hub.tokens.keys.jwks()

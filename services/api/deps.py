"""Dependencies shared by every route, typed once: the hub's services, the caller and their scopes.

Authentication, tenancy (the caller's home authority) and limits are dependencies, never repeated
inside a route: a route that names ``OfficerCaller`` cannot be reached without the officer scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from services.api.bootstrap import HubServices
from services.api.clients import ClientInfo, Scope
from services.api.security import InvalidToken, TokenClaims

# Dependencies are ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, and three
# such hops per request cost more than the checks themselves. None of them blocks: the token check is
# remembered after the first time, and the client's record is read from the database in a thread.


async def get_hub(request: Request) -> HubServices:
    """The services of this hub (built once by ``create_app``)."""
    hub: HubServices = request.app.state.hub
    return hub


HubDep = Annotated[HubServices, Depends(get_hub)]

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /oauth/token")


@dataclass(frozen=True)
class Caller:
    """The authenticated client making this request."""

    client: ClientInfo
    claims: TokenClaims

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def home_la(self) -> str:
        return self.client.home_la


def _unauthorised(hub: HubServices, why: str) -> HTTPException:
    hub.metrics.refusals.labels("unauthenticated").inc()
    return HTTPException(401, detail=why, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def authenticated(
    request: Request, hub: HubDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The caller of a valid token whose client is still registered, within its limits."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorised(hub, "a bearer token is required (POST /oauth/token with client credentials)")
    try:
        claims = hub.tokens.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorised(hub, str(exc)) from exc
    found, client = hub.clients.cached(claims.client_id)
    if not found:
        client = await run_in_threadpool(hub.clients.current, claims.client_id)
    if client is None or client.revoked:
        raise _unauthorised(hub, "client revoked or unknown")
    if client.generation != claims.generation:
        raise _unauthorised(hub, "token issued before the client's credentials were rotated; get a new one")
    header = hub.settings.api_mtls_header
    if header and client.mtls_subject and request.headers.get(header) != client.mtls_subject:
        raise _unauthorised(hub, "client certificate does not match the registered one")
    settings = hub.settings
    refusal = hub.limiter.check(client.client_id, client.rate_per_s or settings.api_rate_per_s,
                                client.burst or settings.api_burst, client.daily_quota or settings.api_daily_quota)
    if refusal is not None:
        hub.metrics.refusals.labels("rate_limited").inc()
        raise HTTPException(429, detail=refusal.reason, headers={"Retry-After": str(refusal.retry_after_s)})
    return Caller(client, claims)


# Scopes that work this hub's own register: only clients of this authority may hold them.
_HOME_ONLY = frozenset({Scope.OFFICER, Scope.OPERATOR, Scope.AUDITOR})


def require(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting only callers whose client and token both carry ``scope``."""

    async def check(caller: Annotated[Caller, Depends(authenticated)], hub: HubDep) -> Caller:
        if scope.value not in caller.client.scopes or scope.value not in caller.claims.scopes:
            hub.metrics.refusals.labels("forbidden").inc()
            raise HTTPException(403, detail=f"this endpoint needs the {scope.value} scope")
        if scope in _HOME_ONLY and caller.home_la != hub.settings.la_code:
            hub.metrics.refusals.labels("forbidden").inc()
            raise HTTPException(403, detail=f"only clients of LA {hub.settings.la_code} may use {scope.value} "
                                            "endpoints here")
        return caller

    return check


async def purpose_of(x_purpose: Annotated[str, Header(min_length=3, max_length=200, description=(
        "why you read this personal data (recorded in the audit log), e.g. 'case work: home visit'"))]) -> str:
    """The purpose every read of personal data must state."""
    return x_purpose.strip()


PartnerCaller = Annotated[Caller, Depends(require(Scope.PARTNER))]
AuthorityCaller = Annotated[Caller, Depends(require(Scope.AUTHORITY))]
OfficerCaller = Annotated[Caller, Depends(require(Scope.OFFICER))]
OperatorCaller = Annotated[Caller, Depends(require(Scope.OPERATOR))]
AuditorCaller = Annotated[Caller, Depends(require(Scope.AUDITOR))]
AnyCaller = Annotated[Caller, Depends(authenticated)]
PurposeDep = Annotated[str, Depends(purpose_of)]


def _sane_date(value: dt.date) -> dt.date:
    if not 1990 <= value.year <= 2100:
        raise ValueError("date must be between 1990 and 2100")
    return value


# A date a register question can be about (keeps date arithmetic away from year 1 and year 9999).
SaneDate = Annotated[dt.date, AfterValidator(_sane_date)]
# Text for queries: printable, no NUL or control characters (the database cannot store NUL).
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"

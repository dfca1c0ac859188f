"""``POST /v1/notifications/{source}``: partners without Kafka push their files over HTTPS."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.audit import AuditEntry
from services.api.deps import HubDep, PartnerCaller
from services.api.notifications import FAMILY_OF_SOURCE, BrokerUnavailable, PushOutcome, file_name_for

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

_PAYLOAD_TYPES = ("application/xml", "text/xml", "text/csv", "application/json", "application/fhir+json",
                  "application/edifact", "text/plain", "application/octet-stream")
_BODY = {"requestBody": {"required": True, "description": "The partner's file exactly as produced (CTF XML, "
                         "return CSV or JSON, FHIR JSON, NEMS/MNS, police JSON, PAXLST EDIFACT)",
                         "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _PAYLOAD_TYPES}}}


class QuarantinedOut(BaseModel):
    position: str = Field(description="where in the payload, e.g. 'pupil 2', 'line 4', 'whole file'")
    reasons: list[str] = Field(description="every reason found, in plain words")
    quarantine_id: str


class WarningOut(BaseModel):
    event_id: str
    warning: str


class PushResult(BaseModel):
    """What became of a pushed payload: every record is an event or quarantined."""

    source: str
    format: str
    file_name: str
    records: int
    accepted: int
    event_ids: list[str]
    quarantined: list[QuarantinedOut]
    out_of_scope: int
    warnings: list[WarningOut]
    detail: str


class Refusal(BaseModel):
    detail: str


def push_result(outcome: PushOutcome, detail: str) -> dict[str, Any]:
    return PushResult(
        source=outcome.source, format=outcome.format, file_name=outcome.file_name, records=outcome.records,
        accepted=len(outcome.event_ids), event_ids=outcome.event_ids,
        quarantined=[QuarantinedOut(position=q.position, reasons=q.reasons, quarantine_id=q.quarantine_id)
                     for q in outcome.quarantined],
        out_of_scope=outcome.out_of_scope, warnings=[WarningOut(**w) for w in outcome.warnings], detail=detail,
    ).model_dump()


@router.post(
    "/{source}",
    status_code=202,
    response_model=PushResult,
    responses={403: {"model": Refusal}, 404: {"model": Refusal}, 422: {"model": PushResult},
               503: {"model": Refusal}},
    openapi_extra=_BODY,
    summary="Push a partner notification file",
)
async def push_notification(
    source: str,
    request: Request,
    caller: PartnerCaller,
    hub: HubDep,
    file_name: Annotated[str | None, Query(max_length=200, description="the partner's file name")] = None,
    x_file_name: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Parse the file with the hub's own connector and put its events on Kafka.

    202: at least one record became an event (ids are stable: re-pushing the same file gives the
    same ids). 422: no record could be accepted; every reason per record is given and each record
    is kept in quarantine. 503: Kafka is unreachable and nothing was accepted; push again later.
    """
    if source not in FAMILY_OF_SOURCE:
        raise HTTPException(404, detail=f"no source {source!r}; one of {', '.join(sorted(FAMILY_OF_SOURCE))}")
    if source not in caller.client.sources or source not in caller.claims.sources:
        hub.metrics.refusals.labels("source_not_registered").inc()
        raise HTTPException(403, detail=f"this client is not registered to push {source} notifications")
    data = await request.body()
    if not data:
        raise HTTPException(400, detail="the body is empty: send the partner's file as the request body")
    name = file_name_for(data, file_name or x_file_name)
    intake = hub.notifications
    try:
        outcome = await run_in_threadpool(intake.push, source, data, name)
    except BrokerUnavailable as exc:
        hub.metrics.refusals.labels("broker_unavailable").inc()
        return JSONResponse({"detail": f"the hub cannot reach its message broker, so nothing was accepted; "
                                       f"push the same file again later ({exc})"},
                            status_code=503, headers={"Retry-After": "30"})
    entries = [AuditEntry(caller.client_id, caller.home_la, "notification.received", "event", event_id,
                          f"partner notification ({source})", f"file {name}") for event_id in outcome.event_ids]
    entries += [AuditEntry(caller.client_id, caller.home_la, "notification.quarantined", "quarantine",
                           q.quarantine_id, f"partner notification ({source})", f"file {name} {q.position}")
                for q in outcome.quarantined]
    if entries:
        await run_in_threadpool(hub.audit.append, *entries)
    hub.metrics.notifications.labels(source, "event").inc(len(outcome.event_ids))
    hub.metrics.notifications.labels(source, "quarantined").inc(len(outcome.quarantined))
    if outcome.event_ids:
        detail = f"{len(outcome.event_ids)} of {outcome.records} record(s) accepted"
        if outcome.quarantined:
            detail += f"; {len(outcome.quarantined)} quarantined with their reasons"
        return JSONResponse(push_result(outcome, detail), status_code=202)
    return JSONResponse(push_result(outcome, "no record could be accepted; each is quarantined with every reason"),
                        status_code=422)

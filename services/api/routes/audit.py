"""The audit log, for auditors: every read and write of personal data, and the chain's check."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.api.deps import NO_CONTROL, AuditorCaller, HubDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditRecord(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    actor_la: str
    action: str
    subject_type: str
    subject_id: str
    purpose: str
    detail: str
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditRecord]
    next_after: int | None


class AuditCheck(BaseModel):
    ok: bool
    entries: int
    head: str
    problems: list[str]


@router.get("", response_model=AuditPage, summary="Read the audit log")
def read_audit(
    caller: AuditorCaller,
    hub: HubDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="return entries after this sequence number")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: Annotated[str | None, Query(max_length=64, pattern=NO_CONTROL)] = None,
    subject_id: Annotated[str | None, Query(max_length=64, pattern=NO_CONTROL)] = None,
) -> AuditPage:
    """Entries in order, a page at a time (``next_after`` continues)."""
    rows = hub.audit.entries(after=after, limit=limit, actor=actor, subject_id=subject_id)
    entries = [AuditRecord(seq=r.seq, at=r.at, actor=r.actor, actor_la=r.actor_la, action=r.action,
                           subject_type=r.subject_type, subject_id=r.subject_id, purpose=r.purpose,
                           detail=r.detail, hash=r.hash) for r in rows]
    return AuditPage(entries=entries, next_after=entries[-1].seq if len(entries) == limit else None)


@router.get("/verify", response_model=AuditCheck, summary="Check the audit log's hash chain")
def verify_audit(caller: AuditorCaller, hub: HubDep) -> AuditCheck:
    """Recompute the chain; any changed, removed or reordered entry is reported."""
    report = hub.audit.verify()
    return AuditCheck(ok=report.ok, entries=report.entries, head=report.head, problems=list(report.problems))

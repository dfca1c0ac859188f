"""Officers: CME cases, their history and tasks, and moving a case on (through the register's handlers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from services.api.audit import AuditEntry
from services.api.deps import HubDep, OfficerCaller, PurposeDep
from services.register.handlers import UnknownCase, act_on_case
from services.register.lifecycle import IllegalTransition, Trigger, TriggerKind
from services.register.model import Case, CaseStatus, ClosureReason
from services.register.orm import CaseRow

router = APIRouter(prefix="/v1/cases", tags=["officer"])

CaseId = Annotated[str, Path(max_length=64)]


class CaseSummary(BaseModel):
    case_id: str
    child_id: str
    status: str
    referral_source: str
    referred_on: dt.date
    dfe_reason: str
    whereabouts_known: bool
    located_la: str | None


class CaseList(BaseModel):
    cases: list[CaseSummary]
    next_offset: int | None


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    trigger: str
    on: dt.date
    cause: str
    reason: str


class TaskOut(BaseModel):
    task_id: str
    case_id: str
    kind: str
    opened_on: dt.date
    due_on: dt.date
    state: str
    overdue: bool
    escalated_on: dt.date | None


class CaseOut(CaseSummary):
    risk_flags: list[str]
    date_last_seen: dt.date | None
    new_to_area: bool
    new_to_country: bool
    last_school: str | None
    destination_code: str | None
    provision_on: dt.date | None
    closed_on: dt.date | None
    closure_reason: str | None
    history: list[TransitionOut]
    tasks: list[TaskOut]


class CaseAction(BaseModel):
    """An officer's move on a case."""

    trigger: TriggerKind
    reason: Annotated[str, Field(min_length=3, max_length=500)]
    on: dt.date | None = None
    closure_reason: ClosureReason | None = None
    located_la: Annotated[str | None, Field(pattern=r"^\d{3}$")] = None
    starts_on: dt.date | None = None


class Problem(BaseModel):
    detail: str


def case_out(case: Case, today: dt.date) -> CaseOut:
    return CaseOut(
        case_id=case.id, child_id=case.child_id, status=case.status.value,
        referral_source=case.referral_source.value, referred_on=case.referred_on, dfe_reason=case.dfe_reason.value,
        whereabouts_known=case.whereabouts_known, located_la=case.located_la,
        risk_flags=sorted(f.value for f in case.risk_flags), date_last_seen=case.date_last_seen,
        new_to_area=case.new_to_area, new_to_country=case.new_to_country, last_school=case.last_school,
        destination_code=case.destination_code, provision_on=case.provision_on, closed_on=case.closed_on,
        closure_reason=case.closure_reason.value if case.closure_reason else None,
        history=[TransitionOut(from_status=t.from_status.value if t.from_status else None, to_status=t.to_status.value,
                               trigger=t.trigger, on=t.on, cause=t.cause, reason=t.reason) for t in case.history],
        tasks=[TaskOut(task_id=t.id, case_id=t.case_id, kind=t.kind.value, opened_on=t.opened_on, due_on=t.due_on,
                       state=t.state.value, overdue=t.is_overdue(today), escalated_on=t.escalated_on)
               for t in case.tasks],
    )


@router.get("", response_model=CaseList, summary="Cases, newest first")
def list_cases(
    caller: OfficerCaller, hub: HubDep, purpose: PurposeDep,
    status: CaseStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CaseList:
    """Ids, statuses and dates (no names): open a case or child to see more."""
    q = sa.select(CaseRow)
    if status is not None:
        q = q.where(CaseRow.status == status.value)
    with hub.sessions() as session:
        rows = list(session.scalars(q.order_by(CaseRow.referred_on.desc(), CaseRow.id).offset(offset).limit(limit)))
    hub.audit.append(AuditEntry(caller.client_id, caller.home_la, "case.listed", "cases", status or "all", purpose,
                                f"{len(rows)} cases from offset {offset}"))
    return CaseList(cases=[CaseSummary(case_id=r.id, child_id=r.child_id, status=r.status,
                                       referral_source=r.referral_source, referred_on=r.referred_on,
                                       dfe_reason=r.dfe_reason, whereabouts_known=r.whereabouts_known,
                                       located_la=r.located_la) for r in rows],
                    next_offset=offset + limit if len(rows) == limit else None)


@router.get("/{case_id}", response_model=CaseOut, responses={404: {"model": Problem}}, summary="One case")
def get_case(case_id: CaseId, caller: OfficerCaller, hub: HubDep, purpose: PurposeDep) -> CaseOut:
    """The case with its history and tasks."""
    with hub.enquiries.uows() as uow:
        case = uow.register.get_case(case_id)
    if case is None:
        raise HTTPException(404, detail="no case with that id")
    hub.audit.append(AuditEntry(caller.client_id, caller.home_la, "case.read", "case", case.id, purpose))
    return case_out(case, dt.date.today())


@router.post("/{case_id}/actions", response_model=CaseOut,
             responses={404: {"model": Problem}, 409: {"model": Problem}}, summary="Move a case on")
def act(case_id: CaseId, body: CaseAction, caller: OfficerCaller, hub: HubDep) -> CaseOut:
    """Apply an officer's trigger (start enquiries, locate, escalate, close ...); 409 if the lifecycle refuses."""
    on = body.on or dt.date.today()
    trigger = Trigger(kind=body.trigger, on=on, cause=f"officer:{caller.client_id}", reason=body.reason,
                      closure_reason=body.closure_reason, located_la=body.located_la, starts_on=body.starts_on)
    try:
        act_on_case(hub.enquiries.uows(), case_id, trigger, actor=f"officer:{caller.client_id}")
    except UnknownCase as exc:
        raise HTTPException(404, detail="no case with that id") from exc
    except IllegalTransition as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    hub.audit.append(AuditEntry(caller.client_id, caller.home_la, f"case.{body.trigger.value}", "case", case_id,
                                "case work", body.reason[:200]))
    with hub.enquiries.uows() as uow:
        case = uow.register.get_case(case_id)
    assert case is not None
    return case_out(case, dt.date.today())

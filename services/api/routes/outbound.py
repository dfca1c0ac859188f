"""Officers: ask neighbouring authorities' hubs whether they know a child, and follow up their answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, model_validator

from services.api.deps import HubDep, OfficerCaller
from services.api.enquiries import Asker, EnquirySubject
from services.api.peers import PeerError, subject_of
from services.api.routes.enquiries import ChildDetails, PurposeIn
from services.api.store import EnquiryRecordRow

router = APIRouter(prefix="/v1/outbound-enquiries", tags=["officer"])


class OutboundIn(BaseModel):
    """Whom to ask, about which child (a child on this register, or details), and why."""

    to_la: Annotated[list[Annotated[str, Field(pattern=r"^\d{3}$")]], Field(min_length=1, max_length=20)]
    child_id: Annotated[str | None, Field(max_length=64)] = None
    child: ChildDetails | None = None
    purpose: PurposeIn
    case_reference: Annotated[str | None, Field(max_length=100)] = None

    @model_validator(mode="after")
    def _one_child(self) -> OutboundIn:
        if (self.child_id is None) == (self.child is None):
            raise ValueError("give either child_id (a child on this register) or child (details), not both")
        return self


class OutboundOut(BaseModel):
    enquiry_id: str
    to_la: str
    status: str
    answered_at: dt.datetime | None
    answer: dict[str, Any]


class OutboundFailure(BaseModel):
    to_la: str
    detail: str


class OutboundResult(BaseModel):
    answers: list[OutboundOut]
    failures: list[OutboundFailure]


class Problem(BaseModel):
    detail: str


def outbound_out(row: EnquiryRecordRow) -> OutboundOut:
    return OutboundOut(enquiry_id=row.id, to_la=row.to_la, status=row.status, answered_at=row.answered_at,
                       answer=row.answer)


@router.post("", response_model=OutboundResult, responses={404: {"model": Problem}},
             summary="Ask other authorities' hubs")
async def send(body: OutboundIn, caller: OfficerCaller, hub: HubDep) -> OutboundResult:
    """One enquiry per authority asked; answers are recorded on the child's case here."""
    outbound = hub.outbound
    if body.child_id:
        child = await run_in_threadpool(outbound.child, body.child_id)
        if child is None:
            raise HTTPException(404, detail="no child with that id on this register")
        subject = subject_of(child)
    else:
        assert body.child is not None
        c = body.child
        subject = EnquirySubject(c.given_name, c.surname, c.date_of_birth, c.sex, c.middle_names,
                                 tuple(c.former_surnames), c.upn, c.nhs_number, c.postcode, tuple(c.address_lines))
    answers, failures = [], []
    officer = Asker(caller.client_id, caller.home_la)
    for la in dict.fromkeys(body.to_la):
        try:
            row = await run_in_threadpool(outbound.send, officer, la, subject, body.purpose.code, body.purpose.text,
                                          body.child_id, body.case_reference)
            answers.append(outbound_out(row))
        except PeerError as exc:
            failures.append(OutboundFailure(to_la=la, detail=str(exc)))
    return OutboundResult(answers=answers, failures=failures)


@router.get("", response_model=list[OutboundOut], summary="Enquiries this hub sent")
def sent(caller: OfficerCaller, hub: HubDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[OutboundOut]:
    """Newest first, with the answers given."""
    return [outbound_out(r) for r in hub.outbound.sent(limit)]


@router.post("/{enquiry_id}/refresh", response_model=OutboundOut,
             responses={404: {"model": Problem}, 502: {"model": Problem}}, summary="Ask again for a pending answer")
async def refresh(enquiry_id: Annotated[str, Path(max_length=64)], caller: OfficerCaller, hub: HubDep) -> OutboundOut:
    """Fetch the peer's current answer to a ``possible`` one (a person there may have decided)."""
    try:
        row = await run_in_threadpool(hub.outbound.refresh, Asker(caller.client_id, caller.home_la), enquiry_id)
    except PeerError as exc:
        raise HTTPException(502, detail=str(exc)) from exc
    if row is None:
        raise HTTPException(404, detail="no outbound enquiry with that id")
    return outbound_out(row)

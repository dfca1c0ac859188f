"""Case transfers: receive a case another authority hands over; hand one of ours to another hub."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from services.api.deps import AuthorityCaller, HubDep, OfficerCaller, SaneDate
from services.api.enquiries import Asker, EnquirySubject
from services.api.peers import PeerError
from services.api.routes.enquiries import ChildDetails
from services.api.transfers import TransferIn, TransferRefused

router = APIRouter(tags=["transfers"])

Risk = Literal["unknown", "none", "low", "medium", "high"]


class AddressIn(BaseModel):
    lines: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=6)] = []
    town: Annotated[str | None, Field(max_length=100)] = None
    postcode: Annotated[str | None, Field(max_length=10)] = None


class TransferBody(BaseModel):
    """A case handed to this authority by the one where the child was missing education."""

    child: ChildDetails
    address: AddressIn | None = None
    restricted: bool = False
    looked_after: bool = False
    ehcp: bool = False
    case_reference: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    transfer_reason: Annotated[str, Field(min_length=3, max_length=500)]
    case_opened_on: SaneDate
    risk: Risk = "unknown"
    handover_notes: Annotated[str | None, Field(max_length=2000)] = None


class TransferReceived(BaseModel):
    case_id: str | None
    child_known: bool
    duplicate: bool
    receiving_la: str


class TransferRequest(BaseModel):
    to_la: Annotated[str, Field(pattern=r"^\d{3}$")]
    reason: Annotated[str, Field(min_length=3, max_length=500)]
    risk: Risk = "unknown"


class TransferSent(BaseModel):
    to_la: str
    their_case_id: str | None
    child_known_there: bool


class Problem(BaseModel):
    detail: str


@router.post("/v1/transfers", response_model=TransferReceived, status_code=201, summary="Receive a case")
async def receive(body: TransferBody, caller: AuthorityCaller, hub: HubDep) -> Any:
    """Open (or join) the child's case here; a restricted child's address is never stored."""
    c = body.child
    t = TransferIn(
        subject=EnquirySubject(c.given_name, c.surname, c.date_of_birth, c.sex, c.middle_names,
                               tuple(c.former_surnames), c.upn, c.nhs_number),
        address=body.address.model_dump() if body.address else None, restricted=body.restricted,
        looked_after=body.looked_after, ehcp=body.ehcp, case_reference=body.case_reference,
        transfer_reason=body.transfer_reason, case_opened_on=body.case_opened_on, risk=body.risk,
        handover_notes=body.handover_notes)
    return await run_in_threadpool(hub.transfers.receive, Asker(caller.client_id, caller.home_la), t)


@router.post("/v1/cases/{case_id}/transfer", response_model=TransferSent, tags=["officer"],
             responses={404: {"model": Problem}, 409: {"model": Problem}, 502: {"model": Problem}},
             summary="Hand a case to another authority's hub")
async def send(case_id: Annotated[str, Path(max_length=64)], body: TransferRequest, caller: OfficerCaller,
               hub: HubDep) -> TransferSent:
    """Send the child's identity and the case to the hub of the authority where the child now lives."""
    try:
        answer = await run_in_threadpool(hub.transfers.send, Asker(caller.client_id, caller.home_la), case_id,
                                         body.to_la, body.reason, body.risk)
    except LookupError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    except TransferRefused as exc:
        raise HTTPException(409, detail=str(exc)) from exc
    except PeerError as exc:
        raise HTTPException(502, detail=str(exc)) from exc
    return TransferSent(to_la=body.to_la, their_case_id=answer.get("case_id"),
                        child_known_there=bool(answer.get("child_known")))



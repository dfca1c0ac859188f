"""Officers: a child's record and timeline, and finding a child by details (every read audited)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel

from services.api.audit import AuditEntry
from services.api.deps import HubDep, OfficerCaller, PurposeDep
from services.api.enquiries import EnquirySubject
from services.register.model import Child
from services.register.views import NotFoundInRegister, child_timeline

router = APIRouter(prefix="/v1/children", tags=["officer"])

ChildId = Annotated[str, Path(max_length=64)]


class IdentityOut(BaseModel):
    given_name: str | None
    middle_names: str | None
    surname: str | None
    former_surnames: list[str]
    date_of_birth: dt.date | None
    sex: str
    recorded_on: dt.date | None


class AddressOut(BaseModel):
    lines: list[str]
    town: str | None
    postcode: str | None
    kind: str
    valid_from: dt.date | None
    valid_to: dt.date | None


class ChildOut(BaseModel):
    child_id: str
    la_code: str
    identity: IdentityOut | None
    identities: int
    identifiers: dict[str, list[str]]
    addresses: list[AddressOut]
    current_school: str | None
    restricted: bool
    ever_looked_after: bool
    ever_ehcp: bool


class TimelineEntryOut(BaseModel):
    on: dt.date
    what: str
    detail: str


class TimelineOut(BaseModel):
    child_id: str
    case_ids: list[str]
    entries: list[TimelineEntryOut]


class Candidate(BaseModel):
    child_id: str
    match_probability: float
    given_name: str | None
    surname: str | None
    date_of_birth: dt.date | None


class SearchOut(BaseModel):
    candidates: list[Candidate]


def child_out(child: Child) -> ChildOut:
    ident = child.identity
    ids: dict[str, list[str]] = {}
    for identifier in sorted(child.identifiers, key=lambda i: (i.scheme.value, i.value)):
        ids.setdefault(identifier.scheme.value, []).append(identifier.value)
    return ChildOut(
        child_id=child.id, la_code=child.la_code,
        identity=IdentityOut(given_name=ident.given_name, middle_names=ident.middle_names, surname=ident.surname,
                             former_surnames=list(ident.former_surnames), date_of_birth=ident.date_of_birth,
                             sex=ident.sex, recorded_on=ident.recorded_on) if ident else None,
        identities=len(child.identities), identifiers=ids,
        # A restricted child's address is never shown, even if one was stored before the flag was set.
        addresses=[] if child.restricted else [AddressOut(lines=list(a.lines), town=a.town, postcode=a.postcode,
                                                          kind=a.kind, valid_from=a.valid_from, valid_to=a.valid_to)
                                               for a in child.addresses],
        current_school=child.current_school, restricted=child.restricted, ever_looked_after=child.ever_looked_after,
        ever_ehcp=child.ever_ehcp,
    )


def _audit(hub: Any, caller: Any, action: str, child_ids: list[str], purpose: str, detail: str = "") -> None:
    hub.audit.append(*(AuditEntry(caller.client_id, caller.home_la, action, "child", cid, purpose, detail)
                       for cid in child_ids))


@router.get("", response_model=SearchOut, summary="Find children by details")
def search(
    caller: OfficerCaller, hub: HubDep, purpose: PurposeDep,
    surname: Annotated[str, Query(min_length=1, max_length=100)],
    date_of_birth: dt.date,
    given_name: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> SearchOut:
    """The register's best candidates for these details, scored by the linkage engine."""
    record, _ = EnquirySubject(given_name, surname, date_of_birth).record("search")
    with hub.index._lock:
        scored = hub.index.linker.candidates(record, hub.index.index)[:limit]
    out = []
    with hub.enquiries.uows() as uow:
        for score in scored:
            child = uow.register.get_child(score.register_id)
            if child is None or child.identity is None:
                continue
            out.append(Candidate(child_id=child.id, match_probability=round(score.match_probability, 4),
                                 given_name=child.identity.given_name, surname=child.identity.surname,
                                 date_of_birth=child.identity.date_of_birth))
    _audit(hub, caller, "child.searched", [c.child_id for c in out], purpose)
    return SearchOut(candidates=out)


@router.get("/{child_id}", response_model=ChildOut, summary="A child's record")
def get_child(child_id: ChildId, caller: OfficerCaller, hub: HubDep, purpose: PurposeDep) -> ChildOut:
    """Names, identifiers, addresses (never for a restricted child) and flags."""
    with hub.enquiries.uows() as uow:
        child = uow.register.get_child(child_id)
    if child is None:
        raise HTTPException(404, detail="no child with that id")
    _audit(hub, caller, "child.read", [child.id], purpose)
    return child_out(child)


@router.get("/{child_id}/timeline", response_model=TimelineOut, summary="A child's timeline")
def timeline(child_id: ChildId, caller: OfficerCaller, hub: HubDep, purpose: PurposeDep) -> TimelineOut:
    """Every notification, case move, task and enquiry on the child (by child or case id), in date order."""
    with hub.sessions() as session:
        try:
            view = child_timeline(session, child_id)
        except NotFoundInRegister as exc:
            raise HTTPException(404, detail="no child or case with that id") from exc
    _audit(hub, caller, "child.timeline_read", [view.child.id], purpose)
    return TimelineOut(child_id=view.child.id, case_ids=[c.id for c in view.cases],
                       entries=[TimelineEntryOut(on=e.on, what=e.what, detail=e.detail) for e in view.entries])

"""Whereabouts enquiries from other authorities: ask, read your own, and (officers) review close calls."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from services.api.deps import AuthorityCaller, HubDep, OfficerCaller
from services.api.enquiries import (
    PURPOSE_MEANING,
    Asker,
    EnquiryAsked,
    EnquirySubject,
    IndexNotReady,
    Purpose,
)
from services.api.store import EnquiryRecordRow
from services.settings import get_settings

router = APIRouter(prefix="/v1/enquiries", tags=["enquiries"])

Name = Annotated[str, Field(min_length=1, max_length=100)]


class ChildDetails(BaseModel):
    """The child as the asking authority knows them (more detail gives a surer answer)."""

    given_name: Name
    surname: Name
    middle_names: Annotated[str | None, Field(max_length=100)] = None
    former_surnames: Annotated[list[Name], Field(max_length=10)] = []
    date_of_birth: dt.date
    sex: Literal["M", "F", "U"] = "U"
    upn: Annotated[str | None, Field(max_length=13, description="Unique Pupil Number")] = None
    nhs_number: Annotated[str | None, Field(max_length=12)] = None
    postcode: Annotated[str | None, Field(max_length=10)] = None
    address_lines: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=6)] = []

    @field_validator("date_of_birth")
    @classmethod
    def _plausible(cls, value: dt.date) -> dt.date:
        today = dt.date.today()
        if value > today:
            raise ValueError("date of birth is in the future")
        if today.year - value.year > 25:
            raise ValueError("date of birth is not a child's or young person's")
        return value


class PurposeIn(BaseModel):
    """Why the child is sought: a code from the fixed list, and the case in a sentence."""

    code: Purpose = Field(description="; ".join(f"{p.value}: {m}" for p, m in PURPOSE_MEANING.items()))
    text: Annotated[str, Field(min_length=10, max_length=500, description="the reason in plain words")]


class EnquiryIn(BaseModel):
    child: ChildDetails
    purpose: PurposeIn
    case_reference: Annotated[str | None, Field(max_length=100)] = None
    reference: Annotated[str | None, Field(max_length=100, description="your id for this enquiry; sending it "
                                                                      "again returns the same answer")] = None


class ContactAddress(BaseModel):
    lines: list[str]
    town: str | None = None
    postcode: str | None = None


class Known(BaseModel):
    case_status: str = Field(description="the CME case's status here, or no_case when the child is known "
                                         "without a CME episode")
    date_last_known: dt.date | None = None
    contact_point: str
    on_roll_at: str | None = Field(None, description="LAESTAB of the school, when the purpose needs it")
    located_la: str | None = None
    address: ContactAddress | None = Field(None, description="only for safeguarding, never for a restricted "
                                                             "record")


class Possible(BaseModel):
    review_by: dt.date | None = None
    contact_point: str
    message: str


class PurposeOut(BaseModel):
    code: str
    text: str


class Reviewed(BaseModel):
    on: dt.date
    note: str


class EnquiryAnswer(BaseModel):
    """The answer, disclosing no more than the purpose needs."""

    enquiry_id: str
    status: Literal["known", "possible", "not_known"]
    responding_la: str
    purpose: PurposeOut
    case_reference: str | None = None
    answered_at: dt.datetime
    known: Known | None = None
    possible: Possible | None = None
    warnings: list[str] = []
    reviewed: Reviewed | None = None


class EnquiryList(BaseModel):
    enquiries: list[EnquiryAnswer]


class Problem(BaseModel):
    detail: str


def answer_of(row: EnquiryRecordRow) -> EnquiryAnswer:
    return EnquiryAnswer.model_validate(row.answer)


EnquiryId = Annotated[str, Path(max_length=64)]


@router.post("", status_code=201, response_model=EnquiryAnswer, response_model_exclude_none=True,
             responses={503: {"model": Problem}}, summary="Ask whether a child is known here")
async def ask(body: EnquiryIn, caller: AuthorityCaller, hub: HubDep) -> Response:
    """Answered at once: ``known``, ``possible`` (a person reviews it by ``review_by``) or ``not_known``."""
    subject = EnquirySubject(
        given_name=body.child.given_name, surname=body.child.surname, middle_names=body.child.middle_names,
        former_surnames=tuple(body.child.former_surnames), date_of_birth=body.child.date_of_birth,
        sex=body.child.sex, upn=body.child.upn, nhs_number=body.child.nhs_number, postcode=body.child.postcode,
        address_lines=tuple(body.child.address_lines))
    asked = EnquiryAsked(subject, body.purpose.code, body.purpose.text, body.case_reference, body.reference)
    try:
        # Answered on the event loop (or a few threads at a time, when configured: dozens of threads
        # taking turns at the interpreter lock each wait longer than the answer takes), then stored
        # by the group commit without holding a thread, so answers waiting to be stored share commits.
        row = await hub.enquiries.ask_async(Asker(caller.client_id, caller.home_la), asked, _answering())
    except IndexNotReady as exc:
        raise HTTPException(503, detail=str(exc), headers={"Retry-After": "30"}) from exc
    hub.metrics.enquiries.labels(row.status).inc()
    # The answer was built by the service in the documented shape: sent as is (no second validation).
    return JSONResponse(_without_none(row.answer), status_code=201, headers={"Location": f"/v1/enquiries/{row.id}"})


ANSWERING_THREADS = max(0, get_settings().api_answering_threads)  # CMEHUB_API_ANSWERING_THREADS
_limiters: dict[int, anyio.CapacityLimiter] = {}


def _answering() -> anyio.CapacityLimiter | None:
    """The limit on enquiries answered in threads at once, one per event loop (a limiter belongs to its
    loop); None when they are answered on the loop (no threads configured)."""
    if not ANSWERING_THREADS:
        return None
    import asyncio

    loop = id(asyncio.get_running_loop())
    limiter = _limiters.get(loop)
    if limiter is None:
        if len(_limiters) > 16:  # loops of tests come and go; a server has one
            _limiters.clear()
        limiter = _limiters[loop] = anyio.CapacityLimiter(ANSWERING_THREADS)
    return limiter


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


@router.get("", response_model=EnquiryList, response_model_exclude_none=True, summary="Your enquiries")
def list_mine(caller: AuthorityCaller, hub: HubDep,
              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> EnquiryList:
    """The enquiries this client asked, newest first (never another client's)."""
    return EnquiryList(enquiries=[answer_of(r) for r in hub.enquiries.mine(caller.client_id, limit)])


@router.get("/{enquiry_id}", response_model=EnquiryAnswer, response_model_exclude_none=True,
            responses={404: {"model": Problem}}, summary="One of your enquiries")
def get_mine(enquiry_id: EnquiryId, caller: AuthorityCaller, hub: HubDep) -> EnquiryAnswer:
    """The current answer (a ``possible`` one changes once a person has reviewed it)."""
    row = hub.enquiries.get(enquiry_id, caller.client_id)
    if row is None:
        raise HTTPException(404, detail="no such enquiry of yours")
    return answer_of(row)


class ReviewIn(BaseModel):
    same_child: bool = Field(description="true when the register's child is the child asked about")


class PendingReview(BaseModel):
    enquiry_id: str
    from_la: str
    purpose: PurposeOut
    review_by: dt.date | None
    child_id: str | None
    match_probability: float | None
    reason: str


class PendingReviews(BaseModel):
    reviews: list[PendingReview]


reviews = APIRouter(prefix="/v1/reviews", tags=["officer"])


@reviews.get("/enquiries", response_model=PendingReviews, summary="Enquiries waiting for a person")
def pending(caller: OfficerCaller, hub: HubDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> PendingReviews:
    """``possible`` answers not yet reviewed, soonest due first, with the engine's reason."""
    rows = hub.enquiries.pending_reviews(limit)
    return PendingReviews(reviews=[PendingReview(
        enquiry_id=r.id, from_la=r.from_la, purpose=PurposeOut(code=r.purpose_code, text=r.purpose_text),
        review_by=r.review_by, child_id=r.child_id, match_probability=r.match_probability, reason=r.reason)
        for r in rows])


@reviews.post("/enquiries/{enquiry_id}", response_model=EnquiryAnswer, response_model_exclude_none=True,
              responses={404: {"model": Problem}}, summary="Decide a possible answer")
def decide(enquiry_id: EnquiryId, body: ReviewIn, caller: OfficerCaller, hub: HubDep) -> EnquiryAnswer:
    """Turn a ``possible`` answer into ``known`` or ``not_known``; the enquirer sees it on its next read."""
    row = hub.enquiries.review(enquiry_id, Asker(caller.client_id, caller.home_la), body.same_child)
    if row is None:
        raise HTTPException(404, detail="no enquiry waiting for review with that id")
    return answer_of(row)

"""Whereabouts enquiries between authorities: "is this child known to you?", answered with the least
disclosure that serves the stated purpose (DESIGN decision 8).

The linkage engine decides: a match is ``known`` (case status, date last known, a named contact
point, and only what the purpose needs besides), a close call is ``possible`` (a person reviews it
by a stated date) and anything else is ``not_known``. A restricted (S-flagged) child's address is
never disclosed. Every enquiry is recorded in the register as an ``la.enquiry`` notification and
every read of a child's record is audited with the purpose given.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from connectors.common.identifiers import nhs_number_problems, normalise_nhs_number, normalise_upn, upn_problems
from schemas.events import make_envelope, make_event
from services.api.audit import AuditEntry, AuditLog
from services.api.linkage import RegisterIndex
from services.api.store import EnquiryRecordRow
from services.matching.records import Address as RecordAddress
from services.matching.records import PersonRecord
from services.register import clocks
from services.register.handlers import record_notification
from services.register.model import Case, CaseStatus, Child
from services.register.unit_of_work import UnitOfWorkFactory


class Purpose(StrEnum):
    """Why an authority asks (a fixed list: the purpose decides what may be disclosed)."""

    CME_WHEREABOUTS = "cme_whereabouts"
    JOINT_ENQUIRY = "joint_enquiry"
    SAFEGUARDING = "safeguarding"
    IN_YEAR_ADMISSION = "in_year_admission"
    EHE_SUITABILITY = "ehe_suitability"
    CASE_TRANSFER = "case_transfer"


PURPOSE_MEANING = {
    Purpose.CME_WHEREABOUTS: "Locating a child missing education (Education Act 1996 s436A)",
    Purpose.JOINT_ENQUIRY: "Joint school and LA enquiries before removal from roll (SI 2024/208 reg 9(1)(h), (i))",
    Purpose.SAFEGUARDING: "Safeguarding a child at risk (Children Act 2004 s11; Children Act 1989 s47)",
    Purpose.IN_YEAR_ADMISSION: "Arranging a school place for a child arriving in the area",
    Purpose.EHE_SUITABILITY: "Checking the suitability of elective home education (EA 1996 s436A, s437)",
    Purpose.CASE_TRANSFER: "Handing a CME case to the authority where the child now lives",
}

# Beyond case status, date last known and contact point, what each purpose may be told of a known
# child. An address is never told for a restricted record whatever the purpose.
DISCLOSED: dict[Purpose, frozenset[str]] = {
    Purpose.CME_WHEREABOUTS: frozenset({"located_la", "on_roll_at"}),
    Purpose.JOINT_ENQUIRY: frozenset({"on_roll_at"}),
    Purpose.SAFEGUARDING: frozenset({"located_la", "on_roll_at", "address"}),
    Purpose.IN_YEAR_ADMISSION: frozenset({"on_roll_at"}),
    Purpose.EHE_SUITABILITY: frozenset(),
    Purpose.CASE_TRANSFER: frozenset({"located_la", "on_roll_at"}),
}


class EnquiryStatus(StrEnum):
    KNOWN = "known"
    POSSIBLE = "possible"
    NOT_KNOWN = "not_known"


class IndexNotReady(RuntimeError):
    """The register is not loaded yet: answering now could wrongly say "not known"."""


@dataclass(frozen=True)
class EnquirySubject:
    """The child an authority asks about, as it knows them."""

    given_name: str | None
    surname: str | None
    date_of_birth: dt.date | None
    sex: str | None = None
    middle_names: str | None = None
    former_surnames: tuple[str, ...] = ()
    upn: str | None = None
    nhs_number: str | None = None
    postcode: str | None = None
    address_lines: tuple[str, ...] = ()

    def record(self, record_id: str) -> tuple[PersonRecord, list[str]]:
        """The engine's record of this child, and warnings about identifiers that fail their checks."""
        warnings: list[str] = []
        invalid: list[tuple[str, str]] = []
        upn = nhs = None
        if self.upn:
            problems = upn_problems(self.upn)
            if problems:
                warnings += problems
                invalid.append(("upn", self.upn))
            else:
                upn = normalise_upn(self.upn)
        if self.nhs_number:
            problems = nhs_number_problems(self.nhs_number)
            if problems:
                warnings += problems
                invalid.append(("nhs_number", self.nhs_number))
            else:
                nhs = normalise_nhs_number(self.nhs_number)
        text = ", ".join(self.address_lines) or None
        addresses = (RecordAddress(text=text, postcode=self.postcode),) if (text or self.postcode) else ()
        record = PersonRecord(id=record_id, given_name=self.given_name, middle_names=self.middle_names,
                              surname=self.surname, former_surnames=self.former_surnames,
                              date_of_birth=self.date_of_birth, sex=self.sex if self.sex in ("M", "F") else None,
                              addresses=addresses, upn=upn, nhs_number=nhs, invalid_identifiers=tuple(invalid))
        return record, warnings

    def as_json(self) -> dict[str, Any]:
        return {"given_name": self.given_name, "middle_names": self.middle_names, "surname": self.surname,
                "former_surnames": list(self.former_surnames),
                "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None, "sex": self.sex,
                "upn": self.upn, "nhs_number": self.nhs_number, "postcode": self.postcode,
                "address_lines": list(self.address_lines)}


@dataclass(frozen=True)
class Asker:
    """Who asks: the client and its home authority."""

    client_id: str
    la_code: str


@dataclass
class EnquiryAsked:
    subject: EnquirySubject
    purpose: Purpose
    purpose_text: str
    case_reference: str | None = None
    reference: str | None = None  # the asker's own id for the enquiry: re-sending it returns the same answer
    warnings: list[str] = field(default_factory=list)


def _date_last_known(child: Child, case: Case | None) -> dt.date | None:
    dates = [d for d in (child.created_on, *(i.recorded_on for i in child.identities),
                         *(a.recorded_on for a in child.addresses)) if d]
    if case is not None:
        dates += [d for d in (case.date_last_seen, case.referred_on, *(t.on for t in case.history)) if d]
    return max(dates) if dates else None


def _current_case(cases: list[Case]) -> Case | None:
    open_cases = [c for c in cases if c.is_open]
    pool = open_cases or cases
    return max(pool, key=lambda c: c.referred_on) if pool else None


class WhereaboutsService:
    """Answers, records, reviews and reads whereabouts enquiries."""

    def __init__(self, sessions: sessionmaker[Session], uows: UnitOfWorkFactory, index: RegisterIndex,
                 audit: AuditLog, la_code: str, la_name: str, contact_point: str = "", review_days: int = 2) -> None:
        self.sessions = sessions
        self.index = index
        self.audit = audit
        self.la_code = la_code
        self.contact_point = contact_point or f"Children Missing Education team, {la_name} (LA {la_code})"
        self.review_days = review_days
        self.uows = uows
        years = range(dt.date.today().year - 1, dt.date.today().year + 3)
        self.calendar = clocks.SchoolCalendar(la_code=la_code, years=(),
                                              bank_holidays=clocks.english_bank_holidays(years))

    # -- answering --------------------------------------------------------------------------------

    def ask(self, asker: Asker, asked: EnquiryAsked, now: dt.datetime | None = None) -> EnquiryRecordRow:
        """Answer an enquiry now and record it; the same ``reference`` from the same client answers once."""
        now = now or dt.datetime.now(dt.UTC)
        enquiry_id = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"cmehub:{asker.client_id}:{asked.reference}"))
                      if asked.reference else str(uuid.uuid4()))
        if asked.reference:
            existing = self.get(enquiry_id, asker.client_id)
            if existing is not None:
                return existing
        if self.index.mark is None:
            raise IndexNotReady("the register is still loading; ask again in a minute")
        record, warnings = asked.subject.record(enquiry_id)
        decision = self.index.link(record)
        child_id = decision.register_id if decision.decision in ("match", "review") else None
        with self.uows() as uow:
            child = uow.register.get_child(child_id) if child_id else None
            cases = uow.register.cases_for_child(child_id) if child is not None and child_id else []
        if child_id and child is None:  # merged away since the index last caught up: forget and ask again
            self.index.forget(child_id)
            decision = self.index.link(record)
            child_id = decision.register_id if decision.decision in ("match", "review") else None
            with self.uows() as uow:
                child = uow.register.get_child(child_id) if child_id else None
                cases = uow.register.cases_for_child(child_id) if child is not None and child_id else []
        if child is None:
            status = EnquiryStatus.NOT_KNOWN
        else:
            status = EnquiryStatus.KNOWN if decision.decision == "match" else EnquiryStatus.POSSIBLE
        review_by = self.calendar.add_school_days(now.date(), self.review_days) \
            if status is EnquiryStatus.POSSIBLE else None
        answer = self._answer(enquiry_id, status, asked, child, _current_case(cases), review_by, now,
                              warnings + asked.warnings)
        row = EnquiryRecordRow(
            id=enquiry_id, direction="incoming", client_id=asker.client_id, from_la=asker.la_code,
            to_la=self.la_code, purpose_code=asked.purpose.value, purpose_text=asked.purpose_text,
            case_reference=asked.case_reference, subject=asked.subject.as_json(), status=status.value,
            answer=answer, child_id=child.id if child else None, match_probability=decision.match_probability,
            reason=decision.reason, review_by=review_by, reviewed=False, created_at=now, answered_at=now)
        purpose = f"{asked.purpose.value}: {asked.purpose_text}"
        theirs = f"; their reference {asked.reference}" if asked.reference else ""
        entries = [AuditEntry(asker.client_id, asker.la_code, "enquiry.received", "enquiry", enquiry_id, purpose,
                              f"answered {status.value}{theirs}")]
        if child is not None:
            entries.append(AuditEntry(asker.client_id, asker.la_code, "child.read", "child", child.id, purpose,
                                      f"enquiry {enquiry_id}; disclosed {','.join(sorted(answer['known'] or {}))}"
                                      if status is EnquiryStatus.KNOWN else f"enquiry {enquiry_id}; held for review"))
        with self.sessions() as session:
            session.add(row)
            self.audit.append_in(session, *entries)
            session.commit()
        self._record_in_register(asker, asked, enquiry_id, child.id if child else None, now)
        return row

    def _answer(self, enquiry_id: str, status: EnquiryStatus, asked: EnquiryAsked, child: Child | None,
                case: Case | None, review_by: dt.date | None, now: dt.datetime,
                warnings: list[str]) -> dict[str, Any]:
        known: dict[str, Any] | None = None
        possible: dict[str, Any] | None = None
        if status is EnquiryStatus.KNOWN and child is not None:
            known = self._known(asked.purpose, child, case)
        elif status is EnquiryStatus.POSSIBLE:
            possible = {"review_by": review_by.isoformat() if review_by else None,
                        "contact_point": self.contact_point,
                        "message": "a person will compare the details and answer by the date given"}
        return {"enquiry_id": enquiry_id, "status": status.value, "responding_la": self.la_code,
                "purpose": {"code": asked.purpose.value, "text": asked.purpose_text},
                "case_reference": asked.case_reference, "answered_at": now.isoformat(), "known": known,
                "possible": possible, "warnings": warnings}

    def _known(self, purpose: Purpose, child: Child, case: Case | None) -> dict[str, Any]:
        allowed = DISCLOSED[purpose]
        last = _date_last_known(child, case)
        known: dict[str, Any] = {
            "case_status": case.status.value if case is not None else "no_case",
            "date_last_known": last.isoformat() if last else None,
            "contact_point": self.contact_point,
        }
        if "on_roll_at" in allowed:
            known["on_roll_at"] = child.current_school
        if "located_la" in allowed and case is not None and case.status is CaseStatus.LOCATED_OTHER_LA:
            known["located_la"] = case.located_la
        if "address" in allowed and not child.restricted:
            current = [a for a in child.addresses if a.valid_to is None]
            if current:
                a = current[-1]
                known["address"] = {"lines": list(a.lines), "town": a.town, "postcode": a.postcode}
        return known

    def _record_in_register(self, asker: Asker, asked: EnquiryAsked, enquiry_id: str, child_id: str | None,
                            now: dt.datetime) -> None:
        # The child's details stay out of the event (least retention): the match is the child id.
        envelope = make_envelope("la.enquiry", partner_id=f"la:{asker.la_code}", source_kind="authority",
                                 responsible_la=self.la_code, occurred_at=now, reference=f"enquiry:{enquiry_id}",
                                 received_at=now)
        event = make_event("la.enquiry", envelope, child=None, from_la=asker.la_code, to_la=self.la_code,
                           enquiry_id=enquiry_id, reason=f"{asked.purpose.value}: {asked.purpose_text}"[:500],
                           case_reference=asked.case_reference)
        record_notification(self.uows(), event, child_id, local_la=self.la_code, actor=f"api:{asker.client_id}",
                            now=now)

    # -- reading and reviewing --------------------------------------------------------------------

    def get(self, enquiry_id: str, client_id: str) -> EnquiryRecordRow | None:
        """The enquiry when ``client_id`` asked it; None otherwise (never another client's)."""
        with self.sessions() as session:
            row = session.get(EnquiryRecordRow, enquiry_id)
            return row if row is not None and row.client_id == client_id else None

    def mine(self, client_id: str, limit: int = 100) -> list[EnquiryRecordRow]:
        with self.sessions() as session:
            return list(session.scalars(sa.select(EnquiryRecordRow).where(EnquiryRecordRow.client_id == client_id)
                                        .order_by(EnquiryRecordRow.created_at.desc()).limit(limit)))

    def pending_reviews(self, limit: int = 100) -> list[EnquiryRecordRow]:
        with self.sessions() as session:
            return list(session.scalars(sa.select(EnquiryRecordRow).where(
                EnquiryRecordRow.direction == "incoming", EnquiryRecordRow.status == EnquiryStatus.POSSIBLE.value,
                EnquiryRecordRow.reviewed.is_(False)).order_by(EnquiryRecordRow.review_by).limit(limit)))

    def get_any(self, enquiry_id: str) -> EnquiryRecordRow | None:
        with self.sessions() as session:
            return session.get(EnquiryRecordRow, enquiry_id)

    def review(self, enquiry_id: str, officer: Asker, same_child: bool,
               now: dt.datetime | None = None) -> EnquiryRecordRow | None:
        """An officer's decision on a ``possible`` answer: the enquirer then sees known or not_known."""
        now = now or dt.datetime.now(dt.UTC)
        with self.sessions() as session:
            row = session.get(EnquiryRecordRow, enquiry_id, with_for_update=True)
            if row is None or row.status != EnquiryStatus.POSSIBLE.value or row.reviewed:
                return None
            child = case = None
            candidate = row.child_id
            if same_child and row.child_id:
                with self.uows() as uow:
                    child = uow.register.get_child(row.child_id)
                    case = _current_case(uow.register.cases_for_child(row.child_id)) if child else None
            status = EnquiryStatus.KNOWN if child is not None else EnquiryStatus.NOT_KNOWN
            asked = EnquiryAsked(EnquirySubject(None, None, None), Purpose(row.purpose_code), row.purpose_text,
                                 row.case_reference)
            answer = self._answer(row.id, status, asked, child, case, None, now, list(row.answer.get("warnings", [])))
            answer["reviewed"] = {"on": now.date().isoformat(), "note": "decided by an officer"}
            row.status, row.answer, row.reviewed, row.answered_at = status.value, answer, True, now
            if status is EnquiryStatus.NOT_KNOWN:
                row.child_id = None
            purpose = f"{row.purpose_code}: review of enquiry {row.id}"
            entries = [AuditEntry(officer.client_id, officer.la_code, "enquiry.reviewed", "enquiry", row.id, purpose,
                                  status.value)]
            if candidate:
                entries.append(AuditEntry(officer.client_id, officer.la_code, "child.read", "child", candidate,
                                          purpose, "compared with the enquiry"))
            self.audit.append_in(session, *entries)
            session.commit()
            return row

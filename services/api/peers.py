"""Outbound enquiries: asking neighbouring authorities' hubs, and recording their answers here.

Each peer hub is configured with its base URL and the client credentials it issued to this hub
(``CMEHUB_API_PEERS``). Tokens are fetched with the client-credentials grant and reused until
shortly before they expire. Answers are recorded in this register as the ``la.enquiry`` sent and
the ``la.enquiry_response`` received, so a case whose child is found elsewhere moves on by the
register's own rules (located in another authority).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from schemas.events import make_envelope, make_event
from services.api.audit import AuditEntry, AuditLog
from services.api.enquiries import Asker, EnquirySubject, Purpose
from services.api.store import EnquiryRecordRow
from services.register.handlers import record_notification
from services.register.model import Child, IdentifierScheme
from services.register.unit_of_work import UnitOfWorkFactory


class PeerError(Exception):
    """A peer hub could not be asked, or refused; the message says which and why."""


@dataclass(frozen=True)
class PeerHub:
    la_code: str
    url: str
    client_id: str
    client_secret: str


def peers_from_settings(entries: list[dict[str, str]]) -> dict[str, PeerHub]:
    """The configured peers by LA code (entries missing a field are refused loudly)."""
    peers = {}
    for i, entry in enumerate(entries):
        missing = [k for k in ("la_code", "url", "client_id", "client_secret") if not entry.get(k)]
        if missing:
            raise ValueError(f"CMEHUB_API_PEERS entry {i}: missing {', '.join(missing)}")
        peers[entry["la_code"]] = PeerHub(entry["la_code"], entry["url"].rstrip("/"), entry["client_id"],
                                          entry["client_secret"])
    return peers


def subject_of(child: Child) -> EnquirySubject:
    """What this hub tells a peer about one of its children: names, birth date, sex, identifiers, postcode.

    A restricted child's address never leaves the hub (not even its postcode).
    """
    ident = child.identity
    ids = {i.scheme: i.value for i in sorted(child.identifiers, key=lambda i: (i.scheme.value, i.value))}
    current = [a for a in child.addresses if a.valid_to is None]
    postcode = current[-1].postcode if current and not child.restricted else None
    return EnquirySubject(
        given_name=ident.given_name if ident else None, surname=ident.surname if ident else None,
        date_of_birth=ident.date_of_birth if ident else None, sex=ident.sex if ident else None,
        middle_names=ident.middle_names if ident else None,
        former_surnames=tuple(ident.former_surnames) if ident else (),
        upn=ids.get(IdentifierScheme.UPN), nhs_number=ids.get(IdentifierScheme.NHS_NUMBER), postcode=postcode)


def _outcome(answer: dict[str, Any]) -> tuple[str, str | None]:
    """The register's EnquiryOutcome for a peer's answer, and the school when on roll."""
    status = answer.get("status")
    if status == "known":
        school = (answer.get("known") or {}).get("on_roll_at")
        return ("on_roll", school) if school else ("known_not_on_roll", None)
    if status == "not_known":
        return "not_known", None
    return "other", None


class PeerClient:
    """Tokens and calls to peer hubs (thread-safe; tokens cached per peer)."""

    def __init__(self, peers: dict[str, PeerHub], timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.peers = peers
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _token(self, peer: PeerHub) -> str:
        with self._lock:
            cached = self._tokens.get(peer.la_code)
            if cached and cached[1] > time.monotonic() + 30:
                return cached[0]
        try:
            response = self._http.post(f"{peer.url}/oauth/token", data={
                "grant_type": "client_credentials", "client_id": peer.client_id,
                "client_secret": peer.client_secret, "scope": "authority"})
        except httpx.HTTPError as exc:
            raise PeerError(f"LA {peer.la_code} hub at {peer.url} cannot be reached ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise PeerError(f"LA {peer.la_code} hub refused this hub's credentials ({response.status_code}): "
                            f"{response.text[:200]}")
        body = response.json()
        with self._lock:
            self._tokens[peer.la_code] = (body["access_token"], time.monotonic() + float(body["expires_in"]))
        return str(body["access_token"])

    def call(self, la_code: str, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        peer = self.peers.get(la_code)
        if peer is None:
            raise PeerError(f"no peer hub configured for LA {la_code} (CMEHUB_API_PEERS)")
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token(peer)}"}
            try:
                response = self._http.request(method, f"{peer.url}{path}", json=json, headers=headers)
            except httpx.HTTPError as exc:
                raise PeerError(f"LA {la_code} hub at {peer.url} cannot be reached ({type(exc).__name__})") from exc
            if response.status_code == 401 and attempt == 1:
                with self._lock:  # the peer rotated keys or our credentials: get a fresh token once
                    self._tokens.pop(la_code, None)
                continue
            if response.status_code >= 300:
                raise PeerError(f"LA {la_code} hub answered {response.status_code}: {response.text[:300]}")
            result: dict[str, Any] = response.json()
            return result
        raise PeerError(f"LA {la_code} hub keeps refusing this hub's token")

    def close(self) -> None:
        self._http.close()


class OutboundEnquiries:
    """Sends enquiries to peers and records what they answer."""

    def __init__(self, sessions: sessionmaker[Session], uows: UnitOfWorkFactory, audit: AuditLog, client: PeerClient,
                 la_code: str) -> None:
        self.sessions = sessions
        self.uows = uows
        self.audit = audit
        self.client = client
        self.la_code = la_code

    def child(self, child_id: str) -> Child | None:
        with self.uows() as uow:
            return uow.register.get_child(child_id)

    def send(self, officer: Asker, to_la: str, subject: EnquirySubject, purpose: Purpose, purpose_text: str,
             child_id: str | None = None, case_reference: str | None = None,
             now: dt.datetime | None = None) -> EnquiryRecordRow:
        """Ask one peer; the answer is stored, audited and recorded in the register."""
        now = now or dt.datetime.now(dt.UTC)
        enquiry_id = str(uuid.uuid4())
        child = {k: v for k, v in subject.as_json().items() if v not in (None, [], "")}
        child.setdefault("sex", "U")
        body = {"child": child, "purpose": {"code": purpose.value, "text": purpose_text}, "reference": enquiry_id,
                "case_reference": case_reference}
        answer = self.client.call(to_la, "POST", "/v1/enquiries", body)
        status = str(answer.get("status"))
        row = EnquiryRecordRow(
            id=enquiry_id, direction="outgoing", client_id=officer.client_id, from_la=self.la_code, to_la=to_la,
            purpose_code=purpose.value, purpose_text=purpose_text, case_reference=case_reference,
            subject={"child_id": child_id} if child_id else subject.as_json(), status=status, answer=answer,
            child_id=child_id, match_probability=None, reason=f"their enquiry id {answer.get('enquiry_id')}",
            review_by=None, reviewed=status != "possible", created_at=now, answered_at=now)
        why = f"{purpose.value}: {purpose_text}"
        entries = [AuditEntry(officer.client_id, officer.la_code, "enquiry.sent", "enquiry", enquiry_id, why,
                              f"to LA {to_la}; answered {status}; their id {answer.get('enquiry_id')}")]
        if child_id:
            entries.append(AuditEntry(officer.client_id, officer.la_code, "child.disclosed", "child", child_id, why,
                                      f"details sent to LA {to_la} in enquiry {enquiry_id}"))
        with self.sessions() as session:
            session.add(row)
            self.audit.append_in(session, *entries)
            session.commit()
        self._record(officer, row, answer, now)
        return row

    def refresh(self, officer: Asker, enquiry_id: str) -> EnquiryRecordRow | None:
        """Ask the peer again for a ``possible`` answer that a person there may since have decided."""
        with self.sessions() as session:
            row = session.get(EnquiryRecordRow, enquiry_id)
            if row is None or row.direction != "outgoing":
                return None
            if row.status != "possible":
                return row
            their_id = str(row.answer.get("enquiry_id"))
            answer = self.client.call(row.to_la, "GET", f"/v1/enquiries/{their_id}")
            row.status, row.answer, row.answered_at = str(answer.get("status")), answer, dt.datetime.now(dt.UTC)
            row.reviewed = row.status != "possible"
            self.audit.append_in(session, AuditEntry(officer.client_id, officer.la_code, "enquiry.answer_read",
                                                     "enquiry", row.id, f"{row.purpose_code}: follow-up",
                                                     f"LA {row.to_la} now answers {row.status}"))
            session.commit()
            if row.status != "possible":
                self._record(officer, row, answer, row.answered_at, respond_only=True)
            return row

    def _record(self, officer: Asker, row: EnquiryRecordRow, answer: dict[str, Any], now: dt.datetime,
                respond_only: bool = False) -> None:
        actor = f"api:{officer.client_id}"
        if not respond_only:
            sent = make_event("la.enquiry", make_envelope(
                "la.enquiry", partner_id=f"la:{self.la_code}", source_kind="authority", responsible_la=self.la_code,
                occurred_at=now, reference=f"enquiry:{row.id}", received_at=now),
                child=None, from_la=self.la_code, to_la=row.to_la, enquiry_id=row.id,
                reason=f"{row.purpose_code}: {row.purpose_text}"[:500], case_reference=row.case_reference)
            record_notification(self.uows(), sent, row.child_id, local_la=self.la_code, actor=actor, now=now)
        if row.status == "possible":
            return  # nothing answered yet; refresh() records the answer once a person there decides
        outcome, school = _outcome(answer)
        answered = make_event("la.enquiry_response", make_envelope(
            "la.enquiry_response", partner_id=f"la:{row.to_la}", source_kind="authority",
            responsible_la=self.la_code, occurred_at=now, reference=f"response:{row.id}:{row.status}",
            received_at=now), child=None, from_la=row.to_la, to_la=self.la_code, enquiry_id=row.id,
            outcome=outcome, school_laestab=school, details=None)
        record_notification(self.uows(), answered, row.child_id, local_la=self.la_code, actor=actor, now=now)

    def sent(self, limit: int = 100) -> list[EnquiryRecordRow]:
        with self.sessions() as session:
            return list(session.scalars(sa.select(EnquiryRecordRow).where(EnquiryRecordRow.direction == "outgoing")
                                        .order_by(EnquiryRecordRow.created_at.desc()).limit(limit)))

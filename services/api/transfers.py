"""Case transfers between hubs: a child found to live in another authority is handed to its hub.

The sender sends the child's identity (an address only when the record is not restricted), the
case's dates, risk and reason; the receiving hub links the child to its register (a match joins the
existing child, anything else starts a new one), and its register opens the case by its own rules
for ``la.case_transfer``. The sender's register records the same event, which moves its case to
"located in another authority".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas.events import empty_address, empty_child, make_envelope, make_event
from services.api.audit import AuditEntry, AuditLog
from services.api.enquiries import Asker, EnquirySubject
from services.api.linkage import RegisterIndex
from services.api.peers import PeerClient, subject_of
from services.register.handlers import record_notification
from services.register.model import Child, RiskFlag
from services.register.unit_of_work import UnitOfWorkFactory

RISK_LEVELS = ("unknown", "none", "low", "medium", "high")


class TransferRefused(ValueError):
    """The case cannot be transferred as asked; the message says why."""


@dataclass(frozen=True)
class TransferIn:
    """What a receiving hub is told about a transferred case."""

    subject: EnquirySubject
    address: dict[str, Any] | None
    restricted: bool
    looked_after: bool
    ehcp: bool
    case_reference: str
    transfer_reason: str
    case_opened_on: dt.date
    risk: str
    handover_notes: str | None


def _child_payload(t: TransferIn) -> dict[str, Any]:
    s = t.subject
    addresses = []
    if t.address and not t.restricted:
        addresses.append(empty_address(lines=list(t.address.get("lines") or []), town=t.address.get("town"),
                                       postcode=t.address.get("postcode"), kind="home"))
    return empty_child(given_name=s.given_name, middle_names=s.middle_names, surname=s.surname,
                       former_surnames=list(s.former_surnames), date_of_birth=s.date_of_birth,
                       date_of_birth_precision="day" if s.date_of_birth else "unknown",
                       sex=s.sex if s.sex in ("M", "F") else "U", upn=s.upn, nhs_number=s.nhs_number,
                       addresses=addresses,
                       flags={"looked_after": t.looked_after, "sen_support": False, "ehcp": t.ehcp,
                              "restricted": t.restricted})


def _event(from_la: str, to_la: str, responsible_la: str, t: TransferIn, child: dict[str, Any] | None,
           now: dt.datetime) -> dict[str, Any]:
    envelope = make_envelope("la.case_transfer", partner_id=f"la:{from_la}", source_kind="authority",
                             responsible_la=responsible_la, occurred_at=now,
                             reference=f"transfer:{from_la}:{t.case_reference}:{to_la}", received_at=now)
    return make_event("la.case_transfer", envelope, child=child, from_la=from_la, to_la=to_la,
                      case_reference=t.case_reference, transfer_reason=t.transfer_reason,
                      case_opened_on=t.case_opened_on, risk=t.risk, handover_notes=t.handover_notes)


class CaseTransfers:
    """Receives and sends case transfers."""

    def __init__(self, uows: UnitOfWorkFactory, index: RegisterIndex, audit: AuditLog, peers: PeerClient,
                 la_code: str) -> None:
        self.uows = uows
        self.index = index
        self.audit = audit
        self.peers = peers
        self.la_code = la_code

    def receive(self, sender: Asker, t: TransferIn, now: dt.datetime | None = None) -> dict[str, Any]:
        """Record a case handed to this authority; returns this hub's case id and whether the child was known."""
        now = now or dt.datetime.now(dt.UTC)
        record, _ = t.subject.record(f"transfer:{t.case_reference}")
        decision = self.index.link(record)
        child_id = decision.register_id if decision.decision == "match" else None
        event = _event(sender.la_code, self.la_code, self.la_code, t, _child_payload(t), now)
        outcome = record_notification(self.uows(), event, child_id, local_la=self.la_code,
                                      actor=f"api:{sender.client_id}", now=now)
        why = f"case_transfer: {t.transfer_reason}"[:300]
        entries = [AuditEntry(sender.client_id, sender.la_code, "case.transferred_in", "case",
                              outcome.case_id or "-", why, f"from LA {sender.la_code}; their case {t.case_reference}")]
        if outcome.child_id:
            entries.append(AuditEntry(sender.client_id, sender.la_code, "child.written", "child", outcome.child_id,
                                      why, "created" if outcome.created_child else "joined to a known child"))
        self.audit.append(*entries)
        if outcome.child_id:
            self.index.refresh()
        return {"case_id": outcome.case_id, "child_known": child_id is not None, "duplicate": outcome.duplicate,
                "receiving_la": self.la_code}

    def send(self, officer: Asker, case_id: str, to_la: str, reason: str, risk: str = "unknown",
             now: dt.datetime | None = None) -> dict[str, Any]:
        """Hand a case to ``to_la``'s hub and record it here (the case moves to located in that authority)."""
        now = now or dt.datetime.now(dt.UTC)
        if to_la == self.la_code:
            raise TransferRefused("a case cannot be transferred to this authority itself")
        with self.uows() as uow:
            case = uow.register.get_case(case_id)
            child: Child | None = uow.register.get_child(case.child_id) if case else None
        if case is None or child is None:
            raise LookupError("no case with that id")
        if not case.is_open:
            raise TransferRefused(f"the case is {case.status.value}: only open cases are transferred")
        current = [a for a in child.addresses if a.valid_to is None]
        address = ({"lines": list(current[-1].lines), "town": current[-1].town, "postcode": current[-1].postcode}
                   if current and not child.restricted else None)
        t = TransferIn(subject=subject_of(child), address=address, restricted=child.restricted,
                       looked_after=child.ever_looked_after or RiskFlag.LOOKED_AFTER in case.risk_flags,
                       ehcp=child.ever_ehcp, case_reference=case.id, transfer_reason=reason,
                       case_opened_on=case.referred_on, risk=risk, handover_notes=None)
        body = transfer_body(t)
        answer = self.peers.call(to_la, "POST", "/v1/transfers", body)
        record_notification(self.uows(), _event(self.la_code, to_la, self.la_code, t, None, now), child.id,
                            local_la=self.la_code, actor=f"api:{officer.client_id}", now=now)
        why = f"case_transfer: {reason}"[:300]
        self.audit.append(
            AuditEntry(officer.client_id, officer.la_code, "case.transferred_out", "case", case.id, why,
                       f"to LA {to_la}; their case {answer.get('case_id')}"),
            AuditEntry(officer.client_id, officer.la_code, "child.disclosed", "child", child.id, why,
                       f"identity{'' if child.restricted else ' and address'} sent to LA {to_la}"))
        return answer


def transfer_body(t: TransferIn) -> dict[str, Any]:
    """The JSON a receiving hub's ``POST /v1/transfers`` takes."""
    child = {k: v for k, v in t.subject.as_json().items() if v not in (None, [], "")}
    child.setdefault("sex", "U")
    child.pop("address_lines", None)
    child.pop("postcode", None)
    return {"child": child, "address": t.address, "restricted": t.restricted, "looked_after": t.looked_after,
            "ehcp": t.ehcp, "case_reference": t.case_reference, "transfer_reason": t.transfer_reason,
            "case_opened_on": t.case_opened_on.isoformat(), "risk": t.risk, "handover_notes": t.handover_notes}



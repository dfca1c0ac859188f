"""The register's domain objects as column values, and back: shared by the ORM repository and the
batch writer, so both store exactly the same thing.

Builders take an ORM row or a Core row of the same table (anything with the columns as attributes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.register.model import (
    RISK_BITS,
    Address,
    AuditEntry,
    Case,
    CaseStatus,
    Child,
    ClosureReason,
    DfeReason,
    Enquiry,
    EnquiryDirection,
    Identity,
    Notification,
    ReferralSource,
    Task,
    TaskKind,
    TaskState,
    Transition,
    risk_mask,
)

CHILD_COLUMNS = ("la_code", "current_school", "restricted", "ever_looked_after", "ever_ehcp", "created_on",
                 "date_of_birth")
ENQUIRY_COLUMNS = ("direction", "other_la", "opened_on", "event_id", "child_id", "case_id", "responded_on",
                   "outcome")


# -- domain → column values ------------------------------------------------------------------------


def child_values(child: Child) -> dict[str, Any]:
    return {attr: getattr(child, attr) for attr in CHILD_COLUMNS}


def identity_values(ident: Identity, seq: int) -> dict[str, Any]:
    return {
        "seq": seq, "given_name": ident.given_name, "middle_names": ident.middle_names, "surname": ident.surname,
        "former_surnames": list(ident.former_surnames), "date_of_birth": ident.date_of_birth,
        "date_of_birth_precision": ident.date_of_birth_precision, "sex": ident.sex,
        "recorded_on": ident.recorded_on, "source_event_id": ident.source_event_id,
    }


def address_values(addr: Address, seq: int) -> dict[str, Any]:
    return {
        "seq": seq, "lines": list(addr.lines), "town": addr.town, "postcode": addr.postcode, "uprn": addr.uprn,
        "kind": addr.kind, "valid_from": addr.valid_from, "valid_to": addr.valid_to,
        "recorded_on": addr.recorded_on, "source_event_id": addr.source_event_id,
    }


def case_values(case: Case) -> dict[str, Any]:
    """The case's own columns (not its flags, transitions or tasks)."""
    return {
        "child_id": case.child_id, "status": case.status.value, "referral_source": case.referral_source.value,
        "referred_on": case.referred_on, "dfe_reason": case.dfe_reason.value, "date_last_seen": case.date_last_seen,
        "whereabouts_known": case.whereabouts_known, "new_to_area": case.new_to_area,
        "new_to_country": case.new_to_country, "last_school": case.last_school,
        "destination_code": case.destination_code, "located_la": case.located_la, "provision_on": case.provision_on,
        "cme_ended_on": case.cme_ended_on, "closed_on": case.closed_on,
        "closure_reason": case.closure_reason.value if case.closure_reason else None,
        "risk_mask": risk_mask(case.risk_flags),
    }


def transition_values(t: Transition, seq: int) -> dict[str, Any]:
    return {
        "seq": seq, "from_status": t.from_status.value if t.from_status else None, "to_status": t.to_status.value,
        "trigger": t.trigger, "on": t.on, "cause": t.cause[:100], "reason": t.reason,
    }


def task_values(task: Task) -> dict[str, Any]:
    """The task's columns other than its id and case."""
    return {
        "kind": task.kind.value, "opened_on": task.opened_on, "due_on": task.due_on, "state": task.state.value,
        "closed_on": task.closed_on, "closed_by": task.closed_by[:100] if task.closed_by else None,
        "escalated_on": task.escalated_on, "note": task.note,
    }


def enquiry_values(enq: Enquiry) -> dict[str, Any]:
    values = {attr: getattr(enq, attr) for attr in ENQUIRY_COLUMNS}
    values["direction"] = enq.direction.value
    return values


def notification_values(n: Notification) -> dict[str, Any]:
    return {
        "event_id": n.event_id, "event_type": n.event_type, "child_id": n.child_id, "case_id": n.case_id,
        "source_partner": n.source_partner[:100], "source_kind": n.source_kind,
        "source_reference": n.source_reference[:300] if n.source_reference else None,
        "responsible_la": n.responsible_la, "occurred_at": n.occurred_at, "received_at": n.received_at,
        "lawful_basis": n.lawful_basis[:200], "payload": n.payload,
    }


def audit_values(entry: AuditEntry) -> dict[str, Any]:
    return {"at": entry.at, "actor": entry.actor[:100], "action": entry.action, "subject_type": entry.subject_type,
            "subject_id": entry.subject_id, "detail": entry.detail}


def processed_values(event_id: str, outcome: str, at: dt.datetime) -> dict[str, Any]:
    return {"event_id": event_id, "processed_at": at, "outcome": outcome[:200]}


# -- rows → domain ----------------------------------------------------------------------------------


def identity_from(row: Any) -> Identity:
    return Identity(
        given_name=row.given_name, surname=row.surname, middle_names=row.middle_names,
        former_surnames=tuple(row.former_surnames or ()), date_of_birth=row.date_of_birth,
        date_of_birth_precision=row.date_of_birth_precision, sex=row.sex, recorded_on=row.recorded_on,
        source_event_id=row.source_event_id,
    )


def address_from(row: Any) -> Address:
    return Address(
        lines=tuple(row.lines or ()), town=row.town, postcode=row.postcode, uprn=row.uprn, kind=row.kind,
        valid_from=row.valid_from, valid_to=row.valid_to, recorded_on=row.recorded_on,
        source_event_id=row.source_event_id,
    )


def transition_from(row: Any) -> Transition:
    return Transition(
        from_status=CaseStatus(row.from_status) if row.from_status else None, to_status=CaseStatus(row.to_status),
        trigger=row.trigger, on=row.on, cause=row.cause, reason=row.reason,
    )


def task_from(row: Any) -> Task:
    return Task(
        id=row.id, case_id=row.case_id, kind=TaskKind(row.kind), opened_on=row.opened_on, due_on=row.due_on,
        state=TaskState(row.state), closed_on=row.closed_on, closed_by=row.closed_by,
        escalated_on=row.escalated_on, note=row.note,
    )


def case_from(row: Any, transitions: list[Transition], tasks: list[Task]) -> Case:
    return Case(
        id=row.id, child_id=row.child_id, status=CaseStatus(row.status),
        referral_source=ReferralSource(row.referral_source), referred_on=row.referred_on,
        dfe_reason=DfeReason(row.dfe_reason),
        # Read from the bit mask written beside the flag rows: one query fewer per case view.
        risk_flags={flag for flag, bit in RISK_BITS.items() if row.risk_mask & bit},
        date_last_seen=row.date_last_seen, whereabouts_known=row.whereabouts_known, new_to_area=row.new_to_area,
        new_to_country=row.new_to_country, last_school=row.last_school, destination_code=row.destination_code,
        located_la=row.located_la, provision_on=row.provision_on, cme_ended_on=row.cme_ended_on,
        closed_on=row.closed_on,
        closure_reason=ClosureReason(row.closure_reason) if row.closure_reason else None,
        history=transitions, tasks=tasks,
    )


def enquiry_from(row: Any) -> Enquiry:
    return Enquiry(
        id=row.id, direction=EnquiryDirection(row.direction), other_la=row.other_la, opened_on=row.opened_on,
        event_id=row.event_id, child_id=row.child_id, case_id=row.case_id, responded_on=row.responded_on,
        outcome=row.outcome,
    )

"""Legacy NEMS PDS event messages (STU3 CareConnect Bundles, ``type=message``).

``PDS002`` (change of address) becomes ``health.address_change`` with the new home and the old
address; the other PDS events (birth, change of GP, death) become ``health.patient_update``. One
message is one record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.common.canonical import address_record, build_child, make_event
from connectors.common.parsing import ParseContext, list_at, obj_at, parse_datetime, text_of, whole_file
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined
from connectors.health.fhir import (
    KIND,
    load_json,
    patient_reference,
    patient_update_event,
    read_patient,
    safe_original,
)

FORMAT = "nems"
PARTNER = "nhs-nems"
CHANGE_OF_ADDRESS = "PDS002"
PDS_EVENTS = {
    "PDS001": "birth notification",
    "PDS002": "change of address",
    "PDS003": "change of GP",
    "PDS004": "death notification",
}


def is_nems_message(doc: Any) -> bool:
    """True for a FHIR message Bundle whose first entry is a MessageHeader."""
    entries = list_at(doc, "entry")
    return (
        isinstance(doc, dict)
        and doc.get("resourceType") == "Bundle"
        and doc.get("type") == "message"
        and bool(entries)
        and obj_at(entries[0], "resource").get("resourceType") == "MessageHeader"
    )


def _resources(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(e.get("fullUrl")): e["resource"]
        for e in list_at(doc, "entry")
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    }


def _focus_patient(header: dict[str, Any], by_url: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Follow MessageHeader.focus → Communication.payload → Patient; else the message's only Patient."""
    for focus in list_at(header, "focus"):
        target = by_url.get(str(focus.get("reference"))) if isinstance(focus, dict) else None
        if target and target.get("resourceType") == "Patient":
            return target
        if target and target.get("resourceType") == "Communication":
            for payload in list_at(target, "payload"):
                patient = by_url.get(str(obj_at(payload, "contentReference").get("reference")))
                if patient and patient.get("resourceType") == "Patient":
                    return patient
    patients = [r for r in by_url.values() if r.get("resourceType") == "Patient"]
    return patients[0] if len(patients) == 1 else None


def parse_nems(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """Parse one NEMS PDS event message into a health event."""
    ctx = ctx or ParseContext()
    try:
        doc = load_json(data, file_name)
    except UnreadableInput as exc:
        return whole_file(FORMAT, file_name, data, PARTNER, KIND, exc.problem, ctx.default_la)
    if not is_nems_message(doc):
        problem = Problem("not_nems", f"{file_name}: not a FHIR message Bundle starting with a MessageHeader")
        return whole_file(FORMAT, file_name, data, PARTNER, KIND, problem, ctx.default_la)
    header = obj_at(list_at(doc, "entry")[0], "resource")
    code = text_of(obj_at(header, "event").get("code"))
    problems: list[Problem] = []
    if code not in PDS_EVENTS:
        problems.append(Problem("unknown_event", f"MessageHeader event '{code or ''}': not a PDS event PDS001-PDS004"))
    sent_at, errs = parse_datetime(text_of(header.get("timestamp")), "MessageHeader timestamp")
    problems.extend(errs)
    patient = _focus_patient(header, _resources(doc))
    reading = None
    if patient is None:
        problems.append(Problem("missing_patient", "the message holds no Patient to act on"))
    else:
        reading = read_patient(patient, ctx.as_of)
        problems.extend(reading.problems)
        if not reading.nhs_number:
            problems.append(Problem("missing_nhs_number", "Patient has no NHS number"))
        if code == CHANGE_OF_ADDRESS and reading.home is None and not reading.child.restricted:
            problems.append(Problem("missing_address", "change of address without a home address"))
    result = ParseResult(file_name=file_name, format=FORMAT, records=1)
    if problems or reading is None or code is None:
        if reading is not None:  # every reason found, not only the first
            problems += reading.warnings + build_child(reading.child)[1]
        original, notes = safe_original(doc, data)  # a restricted record's address is never stored
        result.quarantined.append(
            Quarantined(PARTNER, KIND, file_name, "whole file", problems + notes, original, ctx.default_la)
        )
        return result
    message_id = text_of(header.get("id")) or text_of(doc.get("id"))
    reference = (
        f"nems/{message_id}"
        if message_id
        else patient_reference(reading, f"nems/{code}/{reading.nhs_number}/{text_of(header.get('timestamp'))}")
    )
    occurred: datetime = sent_at or reading.last_updated or ctx.received_at
    if code != CHANGE_OF_ADDRESS:
        event, warnings = patient_update_event(
            reading, partner_id=PARTNER, reference=reference, notification_type=code, occurred_at=occurred, ctx=ctx
        )
        result.add_event(event, warnings)
        return result
    child, warnings = build_child(reading.child)
    warnings = reading.warnings + warnings
    new_address = previous = None
    if reading.home is not None:
        new_address, w = address_record(reading.home)
        warnings += w
    if reading.previous is not None:
        previous, w = address_record(reading.previous)
        warnings += w
    event = make_event(
        event_type="health.address_change",
        partner_id=PARTNER,
        kind=KIND,
        reference=reference,
        responsible_la=ctx.default_la,
        occurred_at=occurred,
        received_at=ctx.received_at,
        child=child,
        fields={
            "notification_type": code,
            **reading.fields,
            "new_address": new_address,
            "previous_address": previous,
            "moved_on": reading.home.valid_from if reading.home else None,
        },
    )
    result.add_event(event, warnings)
    return result

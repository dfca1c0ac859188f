"""The "movement check response": Border Force / Home Office answers to an LA's travel enquiry (JSON).

The hub's own shape (no national one exists)::

    {"schema": "cme-hub/movement-check-response/0.1", "response_id": "...", "enquiry_reference": "...",
     "responded_at": "2025-11-20T10:00:00Z", "responder": "Border Force", "responsible_la": "383",
     "child": {"forename": "...", "surname": "...", "dob": "2014-02-15", "sex": "F", "nationality": "FRA"},
     "movements": [{"direction": "departure", "port": "LHR", "other_port": "CDG",
                    "travel_at": "2025-09-01T10:00:00Z", "carrier": "XX", "transport_id": "XX124",
                    "origin_country": "GBR", "destination_country": "FRA",
                    "document": {"type": "P", "number": "X0000001", "issuing_state": "FRA"}}]}

Each movement is one record and becomes a ``border.arrival`` or ``border.departure`` event. An answer
with no movements says the child was not seen travelling; it holds no records.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.common import identifiers as ids
from connectors.common.canonical import ChildInput, build_child, clean, make_event
from connectors.common.parsing import (
    ParseContext,
    decode_text,
    dob_problems,
    list_at,
    obj_at,
    parse_date,
    parse_datetime,
    text_of,
    whole_file,
)
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined

FORMAT = "movement-check-response"
KIND = "border"
SCHEMA_PREFIX = "cme-hub/movement-check-response/"


def is_movement_response(doc: Any) -> bool:
    """True for a movement check response document."""
    return isinstance(doc, dict) and str(doc.get("schema", "")).startswith(SCHEMA_PREFIX)


def parse_movements(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """Parse a movement check response into border events, one per movement."""
    ctx = ctx or ParseContext()
    partner_id = "border-movement-checks"
    try:
        text = decode_text(data, file_name)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnreadableInput(
                "json_unreadable", f"{file_name}: not valid JSON (line {exc.lineno}: {exc.msg})"
            ) from exc
    except UnreadableInput as exc:
        return whole_file(FORMAT, file_name, data, partner_id, KIND, exc.problem, ctx.default_la)
    if not is_movement_response(doc):
        problem = Problem("not_movement_response", f"{file_name}: schema is not {SCHEMA_PREFIX}0.x")
        return whole_file(FORMAT, file_name, data, partner_id, KIND, problem, ctx.default_la)
    la = clean(text_of(doc.get("responsible_la")))
    la = la if la and ids.is_la_code(la) else ctx.default_la
    child_raw = obj_at(doc, "child")
    child_problems: list[Problem] = []
    dob, errs = parse_date(text_of(child_raw.get("dob")), "child dob")
    child_problems.extend(errs)
    if dob is None and not errs:
        child_problems.append(Problem("missing_dob", "child dob missing"))
    if dob:
        child_problems.extend(dob_problems(dob, ctx.as_of, "child dob"))
    if not clean(text_of(child_raw.get("surname"))):
        child_problems.append(Problem("missing_name", "child surname missing"))
    sex = text_of(child_raw.get("sex")) or "U"
    child_in = ChildInput(
        given_name=text_of(child_raw.get("forename")),
        middle_names=text_of(child_raw.get("middle_names")),
        surname=text_of(child_raw.get("surname")),
        date_of_birth=dob,
        sex=sex,
        upn=text_of(child_raw.get("upn")),
        nhs_number=text_of(child_raw.get("nhs_number")),
    )
    movements = list_at(doc, "movements")
    result = ParseResult(file_name=file_name, format=FORMAT, records=len(movements))
    response_id = clean(text_of(doc.get("response_id"))) or clean(text_of(doc.get("enquiry_reference"))) or file_name
    for n, move in enumerate(movements, start=1):
        position = f"movement {n}"
        original = json.dumps(move, ensure_ascii=False).encode()
        problems = list(child_problems)
        if not isinstance(move, dict):
            move = {}
            problems.append(Problem("malformed_movement", "a movement should be a JSON object"))
        direction = text_of(move.get("direction"))
        if direction not in ("arrival", "departure"):
            problems.append(Problem("bad_direction", f"direction '{direction or ''}': not arrival or departure"))
        port = clean(text_of(move.get("port")))
        if not port:
            problems.append(Problem("missing_port", "port missing"))
        travel_at, errs = parse_datetime(text_of(move.get("travel_at")), "travel_at")
        problems.extend(errs)
        if travel_at is None and not errs:
            problems.append(Problem("missing_travel_time", "travel_at missing"))
        if problems or travel_at is None or port is None:
            result.quarantined.append(Quarantined(partner_id, KIND, file_name, position, problems, original, la))
            continue
        child, warnings = build_child(child_in)
        document = obj_at(move, "document")
        event = make_event(
            event_type=f"border.{direction}",
            partner_id=partner_id,
            kind=KIND,
            reference=f"movement-check/{response_id}/{position}",
            responsible_la=la,
            occurred_at=travel_at,
            received_at=ctx.received_at,
            child=child,
            fields={
                "direction": direction,
                "port": port,
                "other_port": clean(text_of(move.get("other_port"))),
                "carrier": clean(text_of(move.get("carrier"))),
                "transport_id": clean(text_of(move.get("transport_id"))),
                "travel_at": travel_at,
                "origin_country": clean(text_of(move.get("origin_country"))),
                "destination_country": clean(text_of(move.get("destination_country"))),
                "nationality": clean(text_of(child_raw.get("nationality"))),
                "country_of_residence": clean(text_of(child_raw.get("country_of_residence"))),
                "document_type": clean(text_of(document.get("type"))),
                "document_number": clean(text_of(document.get("number"))),
                "document_issuing_state": clean(text_of(document.get("issuing_state"))),
                "accompanied": move.get("accompanied") if isinstance(move.get("accompanied"), bool) else None,
                "interchange_reference": None,
            },
        )
        result.add_event(event, warnings)
    return result

"""Police notifications in the hub's published JSON format (``notification.schema.json`` beside this file).

Missing episodes, found reports, welfare concerns / police protection and Operation Encompass
notices become ``police.missing_episode``, ``police.found``, ``police.welfare_concern`` and
``police.encompass`` events. The JSON Schema checks the shape; the hub then checks the values.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from connectors.common import identifiers as ids
from connectors.common.canonical import AddressInput, ChildInput, build_child, clean, make_event
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
from schemas.events import LAWFUL_BASIS_SAFEGUARDING

FORMAT = "police-json"
KIND = "police"
MISSING_CHILD, ENCOMPASS = "missingChild", "encompass"
_EVENT_TYPES = {
    "missing": "police.missing_episode",
    "found": "police.found",
    "welfare-concern": "police.welfare_concern",
    "police-protection": "police.welfare_concern",
}
_RISK = {"none": "none", "no apparent risk": "none", "low": "low", "medium": "medium", "high": "high"}
_RECIPIENTS = frozenset({"school_dsl", "la_social_care", "la_cme_officer"})


@cache
def notification_schema() -> dict[str, Any]:
    """The published JSON Schema that ships with the connector."""
    text = resources.files("connectors.police").joinpath("notification.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(branch: str) -> Draft202012Validator:
    root = {k: v for k, v in notification_schema().items() if k != "oneOf"}
    return Draft202012Validator({**root, "$ref": f"#/$defs/{branch}"})


def _words(error: ValidationError) -> str:
    if error.context:
        error = best_match(error.context) or error
    where = "/".join(str(p) for p in error.absolute_path) or "notification"
    return f"{where}: {error.message}"


def schema_problems(notification: Any) -> list[Problem]:
    """Every way ``notification`` breaks the published JSON Schema, in plain words."""
    if not isinstance(notification, dict):
        return [Problem("schema", "a notification should be a JSON object")]
    declared = str(notification.get("schema") or "")
    if declared.startswith("cme-hub/op-encompass/"):
        branch = ENCOMPASS
    elif declared.startswith("cme-hub/police-missing-child/"):
        branch = MISSING_CHILD
    else:
        return [
            Problem("schema", f"schema '{declared}': not cme-hub/police-missing-child/0.x or cme-hub/op-encompass/0.x")
        ]
    errors = sorted(_validator(branch).iter_errors(notification), key=lambda e: list(e.absolute_path))
    return [Problem("schema", _words(e)) for e in errors]


def _when(value: Any, label: str, problems: list[Problem], *, required: bool = False) -> datetime | None:
    parsed, errs = parse_datetime(text_of(value), label)
    problems.extend(errs)
    if parsed is None and required and not errs:
        problems.append(Problem("missing_time", f"{label} missing"))
    return parsed


def _location(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, dict):
        return clean(text_of(value.get("description"))), clean(text_of(value.get("postcode")))
    return clean(text_of(value)), None


def _postcode(raw: str | None, warnings: list[Problem]) -> str | None:
    if not raw:
        return None
    parsed = ids.normalise_postcode(raw)
    if not parsed.valid:
        warnings.extend(Problem("invalid_postcode", p) for p in ids.postcode_problems(raw))
        return None
    return parsed.value


def _child(raw: dict[str, Any], problems: list[Problem], as_of: Any) -> ChildInput:
    idents = obj_at(raw, "identifiers")
    home = obj_at(raw, "home_address")
    dob, errs = parse_date(text_of(raw.get("dob")), "child dob")
    problems.extend(errs)
    if dob:
        problems.extend(dob_problems(dob, as_of, "child dob"))
    has_address = bool(home.get("lines") or home.get("postcode"))
    if not clean(text_of(raw.get("forename"))) or not (dob or has_address):
        problems.append(Problem("too_little_identity", "child needs a name and a date of birth or an address"))
    lines = list_at(home, "lines")
    return ChildInput(
        given_name=text_of(raw.get("forename")),
        middle_names=text_of(raw.get("middle_names")),
        surname=text_of(raw.get("surname")),
        date_of_birth=dob,
        sex=text_of(raw.get("sex")) or "U",
        upn=text_of(idents.get("upn")),
        nhs_number=text_of(idents.get("nhs_number")),
        addresses=[
            AddressInput(
                lines=[text_of(x) or "" for x in lines],
                town=text_of(home.get("town")),
                postcode=text_of(home.get("postcode")),
                uprn=text_of(home.get("uprn")),
            )
        ]
        if has_address
        else [],
        looked_after=bool(raw.get("looked_after")),
    )


def _missing_child_fields(
    n: dict[str, Any], problems: list[Problem], warnings: list[Problem]
) -> tuple[str, dict[str, Any], datetime | None]:
    event = obj_at(n, "event")
    outcome = obj_at(n, "outcome")
    kind = str(event.get("type"))
    event_type = _EVENT_TYPES.get(kind, "police.missing_episode")
    reported = _when(event.get("reported_at"), "event reported_at", problems, required=True)
    last_seen = _when(event.get("last_seen_at"), "event last_seen_at", problems)
    risk = _RISK.get(str(event.get("risk_grade") or "").lower(), "unknown")
    if event_type == "police.missing_episode":
        where, postcode = _location(event.get("last_seen_location"))
        return (
            event_type,
            {
                "reported_at": reported,
                "last_seen_at": last_seen,
                "last_seen_location": where,
                "last_seen_postcode": _postcode(postcode, warnings),
                "risk": risk,
                "school_laestab": _school(n, warnings),
            },
            reported,
        )
    if event_type == "police.found":
        found_at = _when(outcome.get("found_at"), "outcome found_at", problems, required=True)
        where, postcode = _location(outcome.get("found_location"))
        due_raw = text_of(outcome.get("return_home_interview_due_by"))
        due, errs = parse_date(due_raw[:10] if due_raw else None, "outcome return_home_interview_due_by")
        warnings.extend(errs)
        return (
            event_type,
            {
                "found_at": found_at,
                "found_location": where,
                "found_postcode": _postcode(postcode, warnings),
                "missing_since": last_seen or reported,
                "return_home_interview_due_by": due,
            },
            found_at,
        )
    summary = clean(text_of(event.get("summary")))
    if kind == "police-protection":
        summary = f"police protection: {summary}" if summary else "police protection"
    return (
        event_type,
        {
            "concern_at": reported,
            "concern_summary": summary,
            "risk": risk,
            "referred_to": clean(text_of(event.get("referred_to"))),
        },
        reported,
    )


def _school(n: dict[str, Any], warnings: list[Problem]) -> str | None:
    raw = clean(text_of(obj_at(n, "school").get("laestab")))
    if raw and (errs := ids.laestab_problems(raw)):
        warnings.extend(Problem("invalid_laestab", e) for e in errs)
        return None
    return ids.normalise_laestab(raw) if raw else None


def _encompass_fields(
    n: dict[str, Any], problems: list[Problem], warnings: list[Problem]
) -> tuple[str, dict[str, Any], datetime | None]:
    incident = obj_at(n, "incident")
    recipient = obj_at(n, "recipient")
    at = _when(incident.get("date_time"), "incident date_time", problems, required=True)
    laestab = clean(text_of(recipient.get("laestab")))
    if laestab and (errs := ids.laestab_problems(laestab)):
        warnings.extend(Problem("invalid_laestab", e) for e in errs)
        laestab = None
    rtype = str(recipient.get("type") or "unknown")
    return (
        "police.encompass",
        {
            "incident_at": at,
            "incident_postcode": _postcode(clean(text_of(incident.get("location_postcode"))), warnings),
            "child_present": n.get("child_present") if isinstance(n.get("child_present"), bool) else None,
            "child_spoken_to": n.get("child_spoken_to") if isinstance(n.get("child_spoken_to"), bool) else None,
            "voice_of_child": clean(text_of(n.get("voice_of_child"))),
            "recipient_kind": rtype if rtype in _RECIPIENTS else "unknown",
            "recipient_laestab": ids.normalise_laestab(laestab) if laestab else None,
            "circumstances_summary": clean(text_of(n.get("circumstances_summary"))),
        },
        at,
    )


def _emit(n: Any, position: str, original: bytes, file_name: str, ctx: ParseContext, result: ParseResult) -> None:
    problems = schema_problems(n)
    warnings: list[Problem] = []
    sender = obj_at(n, "sender")
    force_code = clean(text_of(sender.get("force_code")))
    force = clean(text_of(sender.get("force")))
    partner_id = f"police-{force_code or force or 'unknown'}".lower().replace(" ", "-")
    child_raw = obj_at(n, "child")
    declared_la = clean(text_of(child_raw.get("responsible_la")))
    if problems:
        la = declared_la if declared_la and ids.is_la_code(declared_la) else ctx.default_la
        result.quarantined.append(Quarantined(partner_id, KIND, file_name, position, problems, original, la))
        return
    if force is None:
        warnings.append(Problem("no_force", "sender force not given"))
    child_in = _child(child_raw, problems, ctx.as_of)
    is_encompass = str(n.get("schema")).startswith("cme-hub/op-encompass/")
    fields_of = _encompass_fields if is_encompass else _missing_child_fields
    event_type, fields, occurred = fields_of(n, problems, warnings)
    responsible = declared_la
    if is_encompass and not responsible and fields.get("recipient_laestab"):
        responsible = fields["recipient_laestab"][:3]
    if responsible and not ids.is_la_code(responsible):
        warnings.append(
            Problem("invalid_la", f"responsible_la '{responsible}': not an LA number, using {ctx.default_la}")
        )
        responsible = None
    la = responsible or ctx.default_la
    child, id_warnings = build_child(child_in)
    if problems or occurred is None:
        reasons = problems + warnings + id_warnings  # every reason found, not only the first
        result.quarantined.append(Quarantined(partner_id, KIND, file_name, position, reasons, original, la))
        return
    reference = (
        clean(text_of(n.get("notification_id"))) or f"{n['police_reference']}/{event_type}/{occurred.isoformat()}"
    )
    event = make_event(
        event_type=event_type,
        partner_id=partner_id,
        kind=KIND,
        reference=reference,
        responsible_la=la,
        occurred_at=occurred,
        received_at=ctx.received_at,
        child=child,
        fields={
            "force": force or "not stated",
            "force_code": force_code,
            "incident_reference": str(n["police_reference"]),
            **fields,
        },
        lawful_basis=LAWFUL_BASIS_SAFEGUARDING,
    )
    result.add_event(event, warnings + id_warnings)


def parse_police(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """Parse a police notification file (one notification, an array, or ``{"notifications": [...]}``)."""
    ctx = ctx or ParseContext()
    try:
        text = decode_text(data, file_name)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnreadableInput(
                "json_unreadable", f"{file_name}: not valid JSON (line {exc.lineno}: {exc.msg})"
            ) from exc
    except UnreadableInput as exc:
        return whole_file(FORMAT, file_name, data, "police-unknown", KIND, exc.problem, ctx.default_la)
    items = doc.get("notifications") if isinstance(doc, dict) and "notifications" in doc else doc
    items = items if isinstance(items, list) else [items]
    result = ParseResult(file_name=file_name, format=FORMAT, records=len(items))
    if not items:
        return whole_file(
            FORMAT,
            file_name,
            data,
            "police-unknown",
            KIND,
            Problem("no_records", f"{file_name}: holds no notifications"),
            ctx.default_la,
        )
    for i, item in enumerate(items, start=1):
        original = json.dumps(item, ensure_ascii=False).encode() if len(items) > 1 else data
        _emit(item, f"notification {i}", original, file_name, ctx, result)
    return result

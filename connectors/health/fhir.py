"""FHIR R4 UK Core ``Patient`` resources and Bundles: one ``health.patient_update`` event per Patient.

Reads the NHS number (exact system, verification status from any published extension URL), names,
birth date (``YYYY``, ``YYYY-MM`` or a full date), gender, home/temporary/old addresses with
periods and UPRN address keys, the registered GP's ODS code, the deceased flag and ``meta.security``.
A restricted (``R``) record's address and contacts are dropped here, before anything is stored or sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.common.canonical import AddressInput, ChildInput, build_child, make_event
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

FORMAT = "fhir"
KIND = "health"
PARTNER = "nhs-pds"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEMS = frozenset(
    {"https://fhir.nhs.uk/Id/ods-organization-code", "https://digital.nhs.uk/services/organisation-data-service"}
)
_GENDER = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
_ADDRESS_USE = {"home": "home", "temp": "temporary", "old": "previous", "billing": "correspondence"}


@dataclass(slots=True)
class PatientReading:
    """What a Patient resource says, checked: the child, event fields, problems and warnings."""

    child: ChildInput
    fields: dict[str, Any]
    nhs_number: str | None
    version: str | None
    last_updated: datetime | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    home: AddressInput | None = None
    previous: AddressInput | None = None
    verified: bool | None = None
    deceased: bool = False


def load_json(data: bytes, file_name: str) -> Any:
    """The parsed JSON document; unreadable text raises UnreadableInput."""
    text = decode_text(data, file_name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInput("json_unreadable", f"{file_name}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc


def fhir_date(value: str | None, label: str) -> tuple[date | None, str, list[Problem]]:
    """A FHIR ``date`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``) with its precision."""
    if not value:
        return None, "unknown", []
    text = value.strip()
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 1, 1), "year", []
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            return None, "unknown", [Problem("bad_date", f"{label} '{text}': month {month}")]
        return date(int(m.group(1)), month, 1), "month", []
    parsed, errs = parse_date(text, label)
    return parsed, "day", errs


def _period(obj: Any) -> tuple[date | None, date | None, list[Problem]]:
    period = obj_at(obj, "period")
    start, _, e1 = fhir_date((text_of(period.get("start")) or "")[:10] or None, "address period start")
    end, _, e2 = fhir_date((text_of(period.get("end")) or "")[:10] or None, "address period end")
    return start, end, e1 + e2


def _uprn(address: dict[str, Any]) -> str | None:
    for ext in list_at(address, "extension"):
        if "AddressKey" not in str(ext.get("url", "")):
            continue
        parts = {str(x.get("url")): x for x in list_at(ext, "extension") if isinstance(x, dict)}
        key_type = obj_at(parts.get("type"), "valueCoding").get("code")
        if key_type == "UPRN":
            return text_of(obj_at(parts, "value").get("valueString"))
    return None


def _addresses(resource: dict[str, Any], warnings: list[Problem]) -> list[AddressInput]:
    out = []
    for addr in list_at(resource, "address"):
        if not isinstance(addr, dict):
            continue
        start, end, errs = _period(addr)
        warnings.extend(errs)
        use = str(addr.get("use") or "home")
        lines = [text_of(x) or "" for x in list_at(addr, "line")]
        out.append(
            AddressInput(
                lines=lines,
                town=text_of(addr.get("city")) or text_of(addr.get("district")),
                postcode=text_of(addr.get("postalCode")),
                uprn=_uprn(addr),
                valid_from=start,
                valid_to=end,
                kind=_ADDRESS_USE.get(use, "unknown"),
            )
        )
    return out


def _names(resource: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    names = [n for n in list_at(resource, "name") if isinstance(n, dict)]
    current = [n for n in names if n.get("use") not in ("old", "maiden", "anonymous")]
    ranked = sorted(current, key=lambda n: {"official": 0, "usual": 1}.get(str(n.get("use")), 2))
    chosen = ranked[0] if ranked else {}
    former = [text_of(n.get("family")) or "" for n in names if n.get("use") in ("old", "maiden")]
    return chosen, [f for f in former if f]


def _nhs_identifier(resource: dict[str, Any], warnings: list[Problem]) -> tuple[str | None, bool | None]:
    for ident in list_at(resource, "identifier"):
        if not isinstance(ident, dict):
            continue
        system = str(ident.get("system") or "")
        if system != NHS_NUMBER_SYSTEM:
            if "nhs-number" in system:
                warnings.append(Problem("nhs_system", f"identifier system '{system}': not {NHS_NUMBER_SYSTEM}"))
            continue
        verified: bool | None = None
        for ext in list_at(ident, "extension"):
            if str(ext.get("url", "")).endswith(("NHSNumberVerificationStatus", "NHSNumberVerificationStatus-1")):
                codes = [c.get("code") for c in list_at(obj_at(ext, "valueCodeableConcept"), "coding")]
                verified = "01" in codes
        return text_of(ident.get("value")), verified
    return None, None


def read_patient(resource: dict[str, Any], as_of: date) -> PatientReading:
    """Read and check one Patient resource (R4 UK Core or STU3 CareConnect; the fields used are alike)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    meta = obj_at(resource, "meta")
    restricted = is_restricted(resource)
    nhs, verified = _nhs_identifier(resource, warnings)
    name, former = _names(resource)
    family = text_of(name.get("family"))
    given = [text_of(g) or "" for g in list_at(name, "given")]
    raw_dob = text_of(resource.get("birthDate"))
    dob, precision, errs = fhir_date(raw_dob, "birthDate")
    problems.extend(errs)
    if raw_dob is None:
        problems.append(Problem("missing_dob", "birthDate missing"))
    elif dob is not None:
        problems.extend(dob_problems(dob, as_of, "birthDate"))
    if not family and not nhs:
        problems.append(Problem("missing_name", "neither a family name nor an NHS number"))
    gender = text_of(resource.get("gender"))
    if gender is not None and gender not in _GENDER:
        warnings.append(Problem("unknown_sex", f"gender '{gender}': not male, female, other or unknown"))
    addresses = _addresses(resource, warnings)
    gp = None
    for ref in list_at(resource, "generalPractitioner"):
        ident = obj_at(ref, "identifier")
        if ident.get("system") in ODS_SYSTEMS:
            gp = text_of(ident.get("value"))
    deceased = bool(resource.get("deceasedBoolean")) or bool(resource.get("deceasedDateTime"))
    last_updated, _ = parse_datetime(text_of(meta.get("lastUpdated")), "meta.lastUpdated")
    child = ChildInput(
        given_name=given[0] if given else None,
        middle_names=" ".join(g for g in given[1:] if g) or None,
        surname=family,
        former_surnames=former,
        date_of_birth=dob,
        date_of_birth_precision=precision,
        sex=_GENDER.get(gender or "", "U"),
        nhs_number=nhs,
        addresses=addresses,
        restricted=restricted,
    )
    homes = [a for a in addresses if a.kind == "home"]
    olds = sorted((a for a in addresses if a.kind == "previous"), key=lambda a: a.valid_to or date.min)
    return PatientReading(
        child=child,
        fields={
            "patient_version": text_of(meta.get("versionId")),
            # A restricted record never reveals a location; the GP practice would.
            "gp_practice_ods": None if restricted else gp,
        },
        nhs_number=nhs,
        version=text_of(meta.get("versionId")),
        last_updated=last_updated,
        problems=problems,
        warnings=warnings,
        home=None if restricted or not homes else homes[0],
        previous=None if restricted or not olds else olds[-1],
        verified=verified,
        deceased=deceased,
    )


def patient_reference(reading: PatientReading, fallback: str) -> str:
    """A stable reference for a Patient version, so the same version re-sent dedupes."""
    if reading.nhs_number and reading.version:
        return f"Patient/{reading.nhs_number}/_history/{reading.version}"
    return fallback


def patient_update_event(
    reading: PatientReading,
    *,
    partner_id: str,
    reference: str,
    notification_type: str | None,
    occurred_at: datetime,
    ctx: ParseContext,
) -> tuple[dict[str, Any], list[Problem]]:
    """The ``health.patient_update`` event for a checked Patient, and its warnings."""
    child, id_warnings = build_child(reading.child)
    event = make_event(
        event_type="health.patient_update",
        partner_id=partner_id,
        kind=KIND,
        reference=reference,
        responsible_la=ctx.default_la,
        occurred_at=occurred_at,
        received_at=ctx.received_at,
        child=child,
        fields={
            "notification_type": notification_type,
            **reading.fields,
            "nhs_number_verified": reading.verified,
            "deceased": reading.deceased,
        },
    )
    return event, reading.warnings + id_warnings


_LOCATING = ("address", "telecom", "contact", "generalPractitioner")
REDACTED_NOTE = Problem(
    "restricted_redacted", "original kept without address, telecom, contacts and GP (restricted record)"
)


def is_restricted(resource: Any) -> bool:
    """True for a Patient whose ``meta.security`` carries the restricted (``R``) label."""
    return any(isinstance(s, dict) and s.get("code") == "R" for s in list_at(obj_at(resource, "meta"), "security"))


def without_restricted_locations(doc: Any) -> tuple[Any, bool]:
    """``doc`` with every restricted Patient's address, telecom, contacts and GP removed, and whether any was."""
    if isinstance(doc, list):
        parts = [without_restricted_locations(x) for x in doc]
        return [p for p, _ in parts], any(c for _, c in parts)
    if not isinstance(doc, dict):
        return doc, False
    if doc.get("resourceType") == "Patient" and is_restricted(doc):
        return {k: v for k, v in doc.items() if k not in _LOCATING}, any(k in doc for k in _LOCATING)
    changed = False
    out = {}
    for key, value in doc.items():
        out[key], c = without_restricted_locations(value)
        changed = changed or c
    return out, changed


def safe_original(doc: Any, data: bytes) -> tuple[bytes, list[Problem]]:
    """The bytes to keep in quarantine: ``data``, unless a restricted record's location must be left out."""
    redacted, changed = without_restricted_locations(doc)
    if not changed:
        return data, []
    return json.dumps(redacted, ensure_ascii=False).encode(), [REDACTED_NOTE]


def patient_entries(doc: Any) -> list[dict[str, Any]]:
    """The Patient resources in a Patient or a Bundle document."""
    if not isinstance(doc, dict):
        return []
    if doc.get("resourceType") == "Patient":
        return [doc]
    return [
        e["resource"]
        for e in list_at(doc, "entry")
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
    ]


def parse_fhir(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """Parse a FHIR Patient or Bundle of Patients into ``health.patient_update`` events."""
    ctx = ctx or ParseContext()
    try:
        doc = load_json(data, file_name)
    except UnreadableInput as exc:
        return whole_file(FORMAT, file_name, data, PARTNER, KIND, exc.problem, ctx.default_la)
    if not isinstance(doc, dict) or doc.get("resourceType") not in ("Patient", "Bundle"):
        kind = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
        problem = Problem("not_fhir_patient", f"{file_name}: resourceType '{kind}' is not a Patient or a Bundle")
        return whole_file(FORMAT, file_name, data, PARTNER, KIND, problem, ctx.default_la)
    patients = patient_entries(doc)
    result = ParseResult(file_name=file_name, format=FORMAT, records=len(patients))
    if not patients:
        problem = Problem("no_records", f"{file_name}: Bundle holds no Patient resources")
        return whole_file(FORMAT, file_name, data, PARTNER, KIND, problem, ctx.default_la)
    base = file_name.rsplit("/", 1)[-1]
    for n, resource in enumerate(patients, start=1):
        position = f"patient {n}" if doc.get("resourceType") == "Bundle" else "whole file"
        original = json.dumps(resource, ensure_ascii=False).encode() if len(patients) > 1 else data
        reading: PatientReading | None = None
        try:
            reading = read_patient(resource, ctx.as_of)
            problems = reading.problems
            if problems:  # every reason found, not only the first
                problems = problems + reading.warnings + build_child(reading.child)[1]
        except (TypeError, AttributeError, ValueError) as exc:
            problems = [Problem("malformed_patient", f"Patient structure cannot be read ({type(exc).__name__})")]
        if reading is None or problems:
            # A restricted record's address is never stored, not even in quarantine.
            original, notes = safe_original(resource if len(patients) > 1 else doc, original)
            result.quarantined.append(
                Quarantined(PARTNER, KIND, file_name, position, problems + notes, original, ctx.default_la)
            )
            continue
        event, warnings = patient_update_event(
            reading,
            partner_id=PARTNER,
            reference=patient_reference(reading, f"{base}#{position}"),
            notification_type=None,
            occurred_at=reading.last_updated or ctx.received_at,
            ctx=ctx,
        )
        result.add_event(event, warnings)
    return result

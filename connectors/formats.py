"""Tell partner formats apart from their content, and parse an input with the right connector."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.border.movements import is_movement_response, parse_movements
from connectors.border.paxlst import parse_paxlst
from connectors.common.parsing import ParseContext, whole_file
from connectors.common.problems import Problem
from connectors.common.quarantine import ParseResult
from connectors.health.fhir import parse_fhir
from connectors.health.mns import PatientFetcher, is_cloudevent, is_mns_bundle, parse_mns
from connectors.health.nems import is_nems_message, parse_nems
from connectors.police.notifications import parse_police
from connectors.schools.ctf import parse_ctf
from connectors.schools.returns import parse_returns

FAMILIES = ("schools", "health", "police", "border")
AUTO = "auto"  # any family: told from the content too
# The Source.kind of each family (unattributable input in auto mode belongs to the hub).
SOURCE_KIND = {"schools": "school", "health": "health", "police": "police", "border": "border", AUTO: "hub"}
_RETURN_COLUMNS = re.compile(rb"(laestab|ground|deleted_on|admission_date|first_absence_date|return_type)", re.I)


@dataclass(frozen=True, slots=True)
class Format:
    """A partner format: its family and its parser."""

    name: str
    family: str
    parse: Callable[..., ParseResult]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("ctf", "schools", parse_ctf),
        Format("returns-csv", "schools", lambda d, n, c: parse_returns(d, n, c, fmt="csv")),
        Format("returns-json", "schools", lambda d, n, c: parse_returns(d, n, c, fmt="json")),
        Format("fhir", "health", parse_fhir),
        Format("nems", "health", parse_nems),
        Format("mns", "health", parse_mns),
        Format("police-json", "police", parse_police),
        Format("paxlst", "border", parse_paxlst),
        Format("movement-check-response", "border", parse_movements),
    )
}
# The family's JSON format, used when JSON is broken and its kind cannot be told.
_JSON_DEFAULT = {
    "schools": "returns-json",
    "health": "fhir",
    "police": "police-json",
    "border": "movement-check-response",
}


def _json_format(doc: Any) -> str | None:
    probe = doc[0] if isinstance(doc, list) and doc else doc
    if isinstance(doc, dict) and isinstance(doc.get("notifications"), list):
        return "police-json"
    if isinstance(doc, dict) and isinstance(doc.get("returns"), list):
        return "returns-json"
    if not isinstance(probe, dict):
        return None
    if is_cloudevent(probe) or is_mns_bundle(probe):
        return "mns"
    if is_nems_message(probe):
        return "nems"
    if probe.get("resourceType") in ("Patient", "Bundle"):
        return "fhir"
    schema = str(probe.get("schema") or "")
    if schema.startswith(("cme-hub/police-", "cme-hub/op-encompass/")):
        return "police-json"
    if is_movement_response(probe):
        return "movement-check-response"
    if "return_type" in probe or ("school" in probe and "pupil" in probe):
        return "returns-json"
    return None


def detect(data: bytes, family: str | None = None) -> str | None:
    """The format of ``data`` from its content, or None when it is no format the hub reads.

    Broken JSON or XML is attributed to the family's own format so it is quarantined by the right
    connector with the reason it cannot be read.
    """
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if b"CTfile" in head or family == "schools":
            return "ctf"
        return None
    if head.startswith((b"UNA", b"UNB")):
        return "paxlst"
    if head.startswith((b"{", b"[")):
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _JSON_DEFAULT.get(family or "")
        return _json_format(doc)
    first_line = head.split(b"\n", 1)[0]
    if b"," in first_line and _RETURN_COLUMNS.search(first_line):
        return "returns-csv"
    return None


def _is_wonde(data: bytes) -> bool:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("data"), list) and "pagination" in str(doc.get("meta"))


def parse_input(
    data: bytes, file_name: str, family: str, ctx: ParseContext, fetch: PatientFetcher | None = None
) -> ParseResult:
    """Detect the format of one input and parse it; inputs of another family or none are quarantined."""
    if family not in SOURCE_KIND:
        raise ValueError(f"family {family!r}: should be one of {', '.join(SOURCE_KIND)}")
    kind = SOURCE_KIND[family]
    name = detect(data, None if family == AUTO else family)
    if name is not None and family == AUTO:
        family, kind = FORMATS[name].family, SOURCE_KIND[FORMATS[name].family]
    if name is None:
        what = "a Wonde students page (a roll extract, not a notification)" if _is_wonde(data) else "content"
        which = "a partner" if family == AUTO else f"a {family}"
        problem = Problem("unknown_format", f"{file_name}: {what} is not {which} format the hub reads")
        return whole_file("unknown", file_name, data, f"{family}-unknown", kind, problem, ctx.default_la)
    fmt = FORMATS[name]
    if fmt.family != family:
        problem = Problem(
            "wrong_family",
            f"{file_name}: content is {name} ({fmt.family}), not a {family} format; "
            f"ingest it with `cmehub ingest {fmt.family}`",
        )
        return whole_file(name, file_name, data, f"{family}-unknown", kind, problem, ctx.default_la)
    if name == "mns":
        return parse_mns(data, file_name, ctx, fetch)
    return fmt.parse(data, file_name, ctx)

"""Build canonical events: plain dicts shaped exactly as the Avro records of ``schemas/avro``.

Identifiers are checked here, once for every connector: a value that fails its check goes only to
``child.invalid_identifiers`` with the reason, and the caller gets a warning back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from connectors.common import identifiers as ids
from connectors.common.problems import Problem
from schemas.events import LAWFUL_BASIS_CME, new_event_id, schema_version

_schema_version = cache(schema_version)  # read once per event type, not once per record

SEXES = frozenset({"M", "F", "U"})
ADDRESS_KINDS = frozenset({"home", "previous", "temporary", "correspondence", "unknown"})
_UPRN = re.compile(r"[0-9]{1,12}")


def event_id_for(partner_id: str, reference: str) -> str:
    """The deterministic event id of a partner's record, so re-running an input is harmless."""
    return new_event_id(partner_id, reference)


@dataclass(slots=True)
class AddressInput:
    """An address as a partner gives it, before postcode normalisation."""

    lines: list[str] = field(default_factory=list)
    town: str | None = None
    postcode: str | None = None
    uprn: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    kind: str = "home"


@dataclass(slots=True)
class ContactInput:
    """A parent or carer as a partner gives them."""

    name: str | None
    relationship: str | None = None
    phones: list[str] = field(default_factory=list)
    has_parental_responsibility: bool | None = None


@dataclass(slots=True)
class ChildInput:
    """A child's identity as a partner gives it; :func:`build_child` checks and shapes it."""

    given_name: str | None = None
    middle_names: str | None = None
    surname: str | None = None
    former_surnames: list[str] = field(default_factory=list)
    date_of_birth: date | None = None
    date_of_birth_precision: str = "day"
    sex: str = "U"
    upn: str | None = None
    former_upn: str | None = None
    nhs_number: str | None = None
    uln: str | None = None
    addresses: list[AddressInput] = field(default_factory=list)
    contacts: list[ContactInput] = field(default_factory=list)
    looked_after: bool = False
    sen_support: bool = False
    ehcp: bool = False
    restricted: bool = False


def clean(value: str | None) -> str | None:
    """Trimmed text, or None for missing or blank values."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _invalid(scheme: str, value: str, reasons: list[str]) -> dict[str, Any]:
    return {"scheme": scheme, "value": value, "reason": "; ".join(reasons)}


def _address(addr: AddressInput, invalid: list[dict[str, Any]], warnings: list[Problem]) -> dict[str, Any]:
    postcode: str | None = None
    raw = clean(addr.postcode)
    if raw:
        parsed = ids.normalise_postcode(raw)
        if parsed.valid:
            postcode = parsed.value
        else:
            reasons = ids.postcode_problems(raw)
            invalid.append(_invalid("postcode", raw, reasons))
            warnings.extend(Problem("invalid_postcode", r) for r in reasons)
    uprn = clean(addr.uprn)
    if uprn and not _UPRN.fullmatch(uprn):
        warnings.append(Problem("invalid_uprn", f"UPRN {uprn}: should be up to 12 digits"))
        uprn = None
    return {
        "lines": [line for line in (clean(x) for x in addr.lines) if line],
        "town": clean(addr.town),
        "postcode": postcode,
        "uprn": uprn,
        "valid_from": addr.valid_from,
        "valid_to": addr.valid_to,
        "kind": addr.kind if addr.kind in ADDRESS_KINDS else "unknown",
    }


def checked_identifier(
    scheme: str, value: str | None, invalid: list[dict[str, Any]], warnings: list[Problem]
) -> str | None:
    """The normalised identifier when it passes its check; otherwise None, recorded as invalid."""
    raw = clean(value)
    if raw is None:
        return None
    if scheme in ("upn", "former_upn"):
        normal, problems = ids.normalise_upn(raw), ids.upn_problems(raw)
    elif scheme == "nhs_number":
        normal, problems = ids.normalise_nhs_number(raw), ids.nhs_number_problems(raw)
    elif scheme == "uln":
        normal, problems = raw, ids.uln_problems(raw)
    else:
        raise ValueError(f"unknown identifier scheme {scheme}")
    if not problems:
        return normal
    invalid.append(_invalid("upn" if scheme == "former_upn" else scheme, raw, problems))
    warnings.extend(Problem(f"invalid_{'upn' if scheme == 'former_upn' else scheme}", p) for p in problems)
    return None


def build_child(child: ChildInput) -> tuple[dict[str, Any], list[Problem]]:
    """The ``ChildIdentity`` record for ``child`` and the warnings its identifiers raised."""
    invalid: list[dict[str, Any]] = []
    warnings: list[Problem] = []
    upn = checked_identifier("upn", child.upn, invalid, warnings)
    former_upn = checked_identifier("former_upn", child.former_upn, invalid, warnings)
    nhs = checked_identifier("nhs_number", child.nhs_number, invalid, warnings)
    uln = checked_identifier("uln", child.uln, invalid, warnings)
    # A restricted (S-flagged) record's address is never stored or forwarded.
    addresses = [] if child.restricted else [_address(a, invalid, warnings) for a in child.addresses]
    record = {
        "given_name": clean(child.given_name),
        "middle_names": clean(child.middle_names),
        "surname": clean(child.surname),
        "former_surnames": [s for s in (clean(x) for x in child.former_surnames) if s],
        "date_of_birth": child.date_of_birth,
        "date_of_birth_precision": child.date_of_birth_precision if child.date_of_birth else "unknown",
        "sex": child.sex if child.sex in SEXES else "U",
        "upn": upn,
        "former_upn": former_upn,
        "nhs_number": nhs,
        "uln": uln,
        "addresses": addresses,
        "contacts": [
            {
                "name": clean(c.name),
                "relationship": clean(c.relationship),
                "phones": [p for p in (clean(x) for x in c.phones) if p],
                "has_parental_responsibility": c.has_parental_responsibility,
            }
            for c in ([] if child.restricted else child.contacts)
        ],
        "flags": {
            "looked_after": child.looked_after,
            "sen_support": child.sen_support,
            "ehcp": child.ehcp,
            "restricted": child.restricted,
        },
        "invalid_identifiers": invalid,
    }
    return record, warnings


def address_record(addr: AddressInput) -> tuple[dict[str, Any], list[Problem]]:
    """An ``Address`` record outside a child (a new address, a last-seen place)."""
    invalid: list[dict[str, Any]] = []
    warnings: list[Problem] = []
    return _address(addr, invalid, warnings), warnings


def make_event(
    *,
    event_type: str,
    partner_id: str,
    kind: str,
    reference: str,
    responsible_la: str,
    occurred_at: datetime,
    received_at: datetime,
    child: dict[str, Any] | None,
    fields: dict[str, Any],
    lawful_basis: str = LAWFUL_BASIS_CME,
) -> dict[str, Any]:
    """An event dict: the envelope, the child and the event's own fields."""
    event: dict[str, Any] = {
        "event_id": event_id_for(partner_id, reference),
        "event_type": event_type,
        "source": {"partner_id": partner_id, "kind": kind, "reference": reference},
        "responsible_la": responsible_la,
        "occurred_at": occurred_at,
        "received_at": received_at,
        "lawful_basis": lawful_basis,
        "schema_version": _schema_version(event_type),
        "child": child,
    }
    event.update(fields)
    return event


def first(values: Iterable[str | None]) -> str | None:
    """The first non-blank value."""
    for v in values:
        c = clean(v)
        if c:
            return c
    return None

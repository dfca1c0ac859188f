"""Masking of personal data for views that do not need it (operators, auditors): pure functions."""

from __future__ import annotations

import re

DOT = "•"
# Identifiers (UPN, NHS number, ULN, document numbers): any token holding five or more digits.
_IDENTIFIER = re.compile(r"\b(?=[A-Za-z0-9]*\d{5})[A-Za-z0-9]{5,}\b")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
# Quoted values in messages ('surname "SMITH" is too long') are what a record said: hide them.
_QUOTED = re.compile(r"(['\"])(?:(?!\1).){1,80}\1")
# Names in free text: words in Title case or CAPITALS. Exception names (CamelCase) and the hub's
# own acronyms stay readable; an operator loses a capitalised word now and then, never a name.
_NAME_LIKE = re.compile(r"\b(?:[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ'’-]+|[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’-]+)\b")
ACRONYMS = frozenset({"UPN", "NHS", "ULN", "LA", "CTF", "XML", "JSON", "CSV", "DOB", "ID", "URN", "LAESTAB", "UTF",
                      "PAXLST", "FHIR", "EDIFACT", "CME", "HTTP", "API", "UUID", "UTC", "GP", "SEN", "EHCP"})


def mask_name(value: str | None) -> str:
    """A name as its first letter and dots: enough to tell rows apart, not to identify a child."""
    if not value:
        return ""
    return " ".join(part[:1] + DOT * 3 for part in value.split())


def mask_identifier(value: str | None, keep: int = 3) -> str:
    """An identifier with all but its last ``keep`` characters hidden."""
    if not value:
        return ""
    return DOT * max(len(value) - keep, 3) + value[-keep:]


def mask_text(text: str | None) -> str:
    """Free text (quarantine reasons, error messages) with identifiers, postcodes, dates, emails, quoted
    values and capitalised words (names) hidden."""
    if not text:
        return ""
    out = _EMAIL.sub(DOT * 3, text)
    out = _QUOTED.sub(lambda m: m.group(1) + DOT * 3 + m.group(1), out)
    out = _DATE.sub(DOT * 3, out)
    out = _POSTCODE.sub(DOT * 3, out)
    out = _IDENTIFIER.sub(lambda m: mask_identifier(m.group(0)), out)
    return _NAME_LIKE.sub(lambda m: m.group(0) if m.group(0) in ACRONYMS else mask_name(m.group(0)), out)

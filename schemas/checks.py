"""Shape and check-digit tests for the identifiers an event may carry (used by ``validate``)."""

from __future__ import annotations

import re

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # value = index; I, O and S are never used
_UPN_RE = re.compile(r"^[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]$")
_POSTCODE_RE = re.compile(
    r"^(GIR 0AA|ZZ99 \d[A-Z]Z|"
    r"[A-PR-UWYZ](\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRVWXY]) \d[ABD-HJLNP-UW-Z]{2})$"
)
LA_CODE_RE = re.compile(r"^\d{3}$")
LAESTAB_RE = re.compile(r"^\d{7}$")


def upn_problem(upn: str) -> str | None:
    """Why ``upn`` is not a valid Unique Pupil Number, or None when it is."""
    if not _UPN_RE.match(upn):
        return "should be a letter, 11 digits and a digit or letter (13 characters, no I, O or S)"
    total = 0
    for weight, char in zip(range(2, 14), upn[1:], strict=True):
        value = int(char) if char.isdigit() else _UPN_LETTERS.index(char)
        total += weight * value
    expected = _UPN_LETTERS[total % 23]
    if upn[0] != expected:
        return f"check letter should be {expected}"
    return None


def nhs_number_problem(number: str) -> str | None:
    """Why ``number`` is not a valid NHS number (10 digits, modulus 11), or None when it is."""
    if not (len(number) == 10 and number.isdigit()):
        return "should be 10 digits without spaces"
    check = 11 - sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1), strict=True)) % 11
    if check == 11:
        check = 0
    if check == 10:
        return "no valid NHS number has these first nine digits"
    if int(number[9]) != check:
        return f"check digit should be {check}"
    return None


def postcode_problem(postcode: str) -> str | None:
    """Why ``postcode`` is not a normalised UK postcode (e.g. 'LS1 4AB'), or None when it is."""
    if not _POSTCODE_RE.match(postcode):
        return "should be a UK postcode in normalised form, upper case with one space, e.g. 'LS1 4AB'"
    return None

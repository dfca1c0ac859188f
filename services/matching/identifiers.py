"""Validity checks for the identifiers the matcher trusts (NHS number, UPN).

Kept local on purpose: matching may not import connectors. Only a valid identifier can drive a
deterministic link; an invalid one is kept as weak evidence.
"""

from __future__ import annotations

import re

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # value 0..22; I, O and S are never used
_UPN_VALUES = {**{str(i): i for i in range(10)}, **{c: i for i, c in enumerate(_UPN_LETTERS)}}
_UPN_SHAPE = re.compile(r"^[A-HJ-NP-RT-Z]\d{11}[\dA-HJ-NP-RT-Z]$")


def compact(value: str | None) -> str:
    """Upper-case and strip spaces and hyphens, the usual ways identifiers are written."""
    if not value:
        return ""
    return "".join(value.split()).replace("-", "").upper()


def nhs_number_is_valid(value: str | None) -> bool:
    """True when ``value`` is ten digits whose last is the NHS modulus-11 check digit."""
    digits = compact(value)
    if len(digits) != 10 or not digits.isdigit():
        return False
    d = [ord(c) - 48 for c in digits]
    total = 10 * d[0] + 9 * d[1] + 8 * d[2] + 7 * d[3] + 6 * d[4] + 5 * d[5] + 4 * d[6] + 3 * d[7] + 2 * d[8]
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (the last may be a letter)."""
    total = 0
    for weight, char in enumerate(body, start=2):
        total += weight * _UPN_VALUES[char]
    return _UPN_LETTERS[total % 23]


def upn_is_valid(value: str | None) -> bool:
    """True when ``value`` has the UPN shape and the right check letter."""
    upn = compact(value)
    if not _UPN_SHAPE.match(upn):
        return False
    return upn[0] == upn_check_letter(upn[1:])

"""Checks for the identifiers partners send: UPN, NHS number, ULN, postcode, LA code and LAESTAB.

Each check returns the reasons a value fails, in plain words a person can act on, and an empty
list when it passes. Normalisers return the canonical form the hub stores.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from enum import StrEnum

# DfE LA numbers allowed as UPN characters 2-4 (census rule 1530 / CIN validator), plus the
# Cumberland and Westmorland & Furness codes created in April 2023.
_LA_RANGES: tuple[tuple[int, int], ...] = (
    (1, 5),
    (201, 213),
    (301, 320),
    (330, 336),
    (340, 344),
    (350, 359),
    (370, 373),
    (380, 384),
    (390, 394),
    (420, 420),
    (660, 681),
    (701, 708),
    (800, 803),
    (805, 808),
    (810, 813),
    (815, 816),
    (820, 823),
    (825, 826),
    (830, 831),
    (835, 841),
    (845, 846),
    (850, 852),
    (855, 857),
    (860, 861),
    (865, 896),
    (908, 909),
    (916, 916),
    (919, 919),
    (921, 921),
    (925, 926),
    (928, 929),
    (931, 931),
    (933, 933),
    (935, 938),
    (940, 943),
)
LA_CODES: frozenset[str] = frozenset(f"{n:03d}" for lo, hi in _LA_RANGES for n in range(lo, hi + 1))

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # remainder 0..22; I, O and S are never used
_UPN_RE = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")
_UPN_VALUES = {str(d): d for d in range(10)} | {c: i for i, c in enumerate(_UPN_LETTERS)}
_UPN_WEIGHTS = range(2, 14)


def is_la_code(value: str) -> bool:
    """True when ``value`` is a DfE 3-digit LA number in use."""
    return value in LA_CODES


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (characters 2..13 of a UPN)."""
    if len(body) != len(_UPN_WEIGHTS):
        raise ValueError(f"a UPN check letter is made from 12 characters, not {len(body)}")
    try:
        total = sum(map(operator.mul, _UPN_WEIGHTS, map(_UPN_VALUES.__getitem__, body)))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} cannot be in a UPN") from exc
    return _UPN_LETTERS[total % 23]


def upn_problems(value: str) -> list[str]:
    """Every reason the UPN fails (format, LA range, character 13, check letter)."""
    upn = value.strip().upper()
    label = f"UPN {value}"
    if not _UPN_RE.match(upn):
        return [f"{label}: should be a letter, 11 digits and a digit or letter (13 characters)"]
    problems: list[str] = []
    if not is_la_code(upn[1:4]):
        problems.append(f"{label}: characters 2-4 ({upn[1:4]}) are not an LA number")
    if upn[12].isalpha() and upn[12] not in _UPN_LETTERS:
        problems.append(f"{label}: character 13 cannot be {upn[12]} (I, O and S are never used)")
        return problems
    expected = upn_check_letter(upn[1:])
    if upn[0] != expected:
        problems.append(f"{label}: check letter should be {expected}, found {upn[0]}")
    return problems


def normalise_upn(value: str) -> str:
    """The UPN in upper case without surrounding spaces."""
    return value.strip().upper()


def nhs_number_check_digit(first_nine: str) -> int | None:
    """The modulus 11 check digit for nine digits, or None when no valid number has them."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(value: str) -> str:
    """The NHS number as 10 digits (display spaces and hyphens removed)."""
    return re.sub(r"[\s-]", "", value)


def nhs_number_problems(value: str) -> list[str]:
    """Every reason the NHS number fails its format or modulus 11 check."""
    digits = normalise_nhs_number(value)
    label = f"NHS number {value}"
    if not re.fullmatch(r"[0-9]{10}", digits):
        return [f"{label}: should be 10 digits"]
    check = nhs_number_check_digit(digits[:9])
    if check is None:
        return [f"{label}: no valid NHS number starts with {digits[:9]} (check digit would be 10)"]
    if int(digits[9]) != check:
        return [f"{label}: check digit should be {check}, found {digits[9]}"]
    return []


def uln_problems(value: str) -> list[str]:
    """Every reason the Unique Learner Number fails (10 digits, first not 0, ESFA check digit)."""
    uln = value.strip()
    label = f"ULN {value}"
    if not re.fullmatch(r"[1-9][0-9]{9}", uln):
        return [f"{label}: should be 10 digits not starting with 0"]
    remainder = sum(int(d) * w for d, w in zip(uln[:9], range(10, 1, -1), strict=True)) % 11
    if remainder == 0:
        return [f"{label}: no valid ULN starts with {uln[:9]}"]
    expected = 10 - remainder
    if int(uln[9]) != expected:
        return [f"{label}: check digit should be {expected}, found {uln[9]}"]
    return []


class PostcodeKind(StrEnum):
    """What a postcode value turned out to be."""

    STANDARD = "standard"
    PSEUDO = "pseudo"  # NHS/ODS ZZ99 pseudo-postcodes: no fixed abode, not known, abroad
    INVALID = "invalid"


_PSEUDO_MEANINGS = {
    "ZZ99 3VZ": "no fixed abode",
    "ZZ99 3WZ": "address not known",
    "ZZ99 3CZ": "England, not otherwise specified",
    "ZZ99 2WZ": "Northern Ireland, not otherwise specified",
    "ZZ99 1WZ": "Scotland, not otherwise specified",
    "ZZ99 3GZ": "Wales, not otherwise specified",
}
_PSEUDO_RE = re.compile(r"^ZZ99[0-9][A-Z]Z$")
_OUTWARD = (
    r"(?:[A-PR-UWYZ][0-9]{1,2}"  # A9, A99
    r"|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}"  # AA9, AA99
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]"  # A9A
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"  # AA9A
)
_POSTCODE_RE = re.compile(rf"^{_OUTWARD}[0-9][ABD-HJLNP-UW-Z]{{2}}$")


@dataclass(frozen=True, slots=True)
class Postcode:
    """A postcode after normalisation: its ``LS1 4AB`` form, its kind and, for pseudo ones, meaning."""

    value: str
    kind: PostcodeKind
    meaning: str | None = None

    @property
    def valid(self) -> bool:
        """True for a real-shaped or a recognised pseudo postcode."""
        return self.kind is not PostcodeKind.INVALID


_WHITESPACE = re.compile(r"\s+")


def normalise_postcode(value: str) -> Postcode:
    """Upper-case, remove whitespace, put one space before the inward code, and classify."""
    compact = _WHITESPACE.sub("", value).upper()
    spaced = f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    if _PSEUDO_RE.match(compact):
        meaning = _PSEUDO_MEANINGS.get(spaced, "normally resident abroad (country pseudo-postcode)")
        return Postcode(spaced, PostcodeKind.PSEUDO, meaning)
    if compact == "GIR0AA" or _POSTCODE_RE.match(compact):
        return Postcode(spaced, PostcodeKind.STANDARD)
    return Postcode(spaced, PostcodeKind.INVALID)


def postcode_problems(value: str) -> list[str]:
    """Why a postcode is not a UK postcode shape nor an NHS pseudo-postcode (empty when fine)."""
    if normalise_postcode(value).valid:
        return []
    return [f"postcode {value}: not a UK postcode shape"]


def normalise_laestab(value: str) -> str:
    """LAESTAB as 7 digits (``820/1234`` and ``820-1234`` are written forms of ``8201234``)."""
    return re.sub(r"[\s/-]", "", value)


def laestab_problems(value: str) -> list[str]:
    """Every reason an LAESTAB fails (7 digits, first three an LA number)."""
    digits = normalise_laestab(value)
    label = f"LAESTAB {value}"
    if not re.fullmatch(r"[0-9]{7}", digits):
        return [f"{label}: should be 7 digits (3-digit LA number and 4-digit establishment number)"]
    if not is_la_code(digits[:3]):
        return [f"{label}: {digits[:3]} is not an LA number"]
    return []

"""Identifiers that pass their checks: UPN check letters, NHS numbers (modulus 11), postcodes, UPRNs."""

from __future__ import annotations

import random

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # I, O and S are never used
_POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # inward letters exclude C I K M O V


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (the 13th may be a temporary-UPN letter)."""
    total = 0
    for weight, char in zip(range(2, 14), body, strict=True):
        total += weight * (int(char) if char.isdigit() else UPN_LETTERS.index(char))
    return UPN_LETTERS[total % 23]


def make_upn(la: str, estab: str, year: int, serial: int) -> str:
    """A permanent UPN: issuing LA, establishment, two-digit year of issue, three-digit serial."""
    body = f"{la}{estab}{year % 100:02d}{serial % 1000:03d}"
    return upn_check_letter(body) + body


def spoil_upn(upn: str) -> str:
    """The same UPN with a wrong check letter, as a mistyped return carries it."""
    right = upn[0]
    return next(c for c in UPN_LETTERS[UPN_LETTERS.index(right) + 1 :] + UPN_LETTERS if c != right) + upn[1:]


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit, or None when no valid number starts with these nine digits."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def make_nhs_number(rng: random.Random, taken: set[str]) -> str:
    """A new valid NHS number in the 9xx range, which is never issued to real patients."""
    while True:
        nine = "9" + "".join(rng.choice("0123456789") for _ in range(8))
        check = nhs_check_digit(nine)
        if check is not None and (number := f"{nine}{check}") not in taken:
            taken.add(number)
            return number


def spoil_nhs_number(number: str) -> str:
    """The same number with its last digit changed so the check fails."""
    return number[:9] + str((int(number[9]) + 1) % 10)


def make_postcode(rng: random.Random, district: str) -> str:
    """A postcode of the right shape in ``district`` (the unit need not exist)."""
    return f"{district} {rng.randint(1, 9)}{rng.choice(_POSTCODE_UNIT_LETTERS)}{rng.choice(_POSTCODE_UNIT_LETTERS)}"


def make_uprn(rng: random.Random) -> str:
    """A 12-digit Unique Property Reference Number."""
    return str(rng.randint(100_000_000_000, 999_999_999_999))

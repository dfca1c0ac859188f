"""Identifier checks: UPN, NHS number, ULN, postcode, LAESTAB."""

from __future__ import annotations

import random

import pytest

from connectors.common import identifiers as ids


@pytest.mark.parametrize("upn", ["H801200001001", "G80120000101A", "B801200005001", "P207000016049"])
def test_valid_upns_pass(upn: str) -> None:
    assert ids.upn_problems(upn) == []


@pytest.mark.parametrize(
    ("upn", "reason"),
    [
        ("Z801200001001", "UPN Z801200001001: check letter should be H, found Z"),
        ("H801200001002", "UPN H801200001002: check letter should be X, found H"),
        ("R900400001001", "UPN R900400001001: characters 2-4 (900) are not an LA number"),
        ("G80120000101S", "UPN G80120000101S: character 13 cannot be S (I, O and S are never used)"),
        ("B207000016049", "UPN B207000016049: check letter should be P, found B"),  # the vendor pages' faulty example
        ("H80120000100", "UPN H80120000100: should be a letter, 11 digits and a digit or letter (13 characters)"),
    ],
)
def test_invalid_upns_say_why(upn: str, reason: str) -> None:
    assert ids.upn_problems(upn) == [reason]


def test_upn_check_letter_matches_the_weighted_mod_23_rule_on_random_bodies() -> None:
    rng = random.Random(7)
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    for _ in range(500):
        body = "801" + "".join(rng.choice("0123456789") for _ in range(8)) + rng.choice("0123456789" + letters)
        total = sum(w * (int(c) if c.isdigit() else letters.index(c)) for w, c in zip(range(2, 14), body, strict=True))
        upn = letters[total % 23] + body
        assert ids.upn_problems(upn) == []
        wrong = letters[(total + 1) % 23] + body
        assert ids.upn_problems(wrong) and "check letter should be" in ids.upn_problems(wrong)[0]


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "943-476-5919", "9000000009"])
def test_valid_nhs_numbers_pass(number: str) -> None:
    assert ids.nhs_number_problems(number) == []
    assert len(ids.normalise_nhs_number(number)) == 10


def test_nhs_number_failures_are_explained() -> None:
    assert ids.nhs_number_problems("9434765918") == ["NHS number 9434765918: check digit should be 9, found 8"]
    assert ids.nhs_number_problems("94347659") == ["NHS number 94347659: should be 10 digits"]
    # 10 as a check digit means no valid number starts with these nine digits
    nine = next(f"{n:09d}" for n in range(100000000, 100001000) if ids.nhs_number_check_digit(f"{n:09d}") is None)
    assert "no valid NHS number starts with" in ids.nhs_number_problems(nine + "0")[0]


def test_uln_check_digit() -> None:
    assert ids.uln_problems("1234567899") == []
    assert ids.uln_problems("1234567890") == ["ULN 1234567890: check digit should be 9, found 0"]
    assert ids.uln_problems("0234567890") == ["ULN 0234567890: should be 10 digits not starting with 0"]


@pytest.mark.parametrize(
    ("raw", "normal", "kind"),
    [
        ("ls1 6ae", "LS1 6AE", ids.PostcodeKind.STANDARD),
        ("LS16AE", "LS1 6AE", ids.PostcodeKind.STANDARD),
        ("ec1a1bb", "EC1A 1BB", ids.PostcodeKind.STANDARD),
        ("W1A 0AX", "W1A 0AX", ids.PostcodeKind.STANDARD),
        ("GIR0AA", "GIR 0AA", ids.PostcodeKind.STANDARD),
        ("zz99 3vz", "ZZ99 3VZ", ids.PostcodeKind.PSEUDO),
        ("ZZ993WZ", "ZZ99 3WZ", ids.PostcodeKind.PSEUDO),
        ("ZZ99 4HZ", "ZZ99 4HZ", ids.PostcodeKind.PSEUDO),
        ("QQ1 1AA", "QQ1 1AA", ids.PostcodeKind.INVALID),
        ("BFPO 123", "BFPO 123", ids.PostcodeKind.INVALID),
        ("LS1 6CE", "LS1 6CE", ids.PostcodeKind.INVALID),  # C is never in the inward code
    ],
)
def test_postcodes_are_normalised_and_classified(raw: str, normal: str, kind: ids.PostcodeKind) -> None:
    parsed = ids.normalise_postcode(raw)
    assert (parsed.value, parsed.kind) == (normal, kind)


def test_pseudo_postcodes_say_what_they_mean() -> None:
    assert ids.normalise_postcode("ZZ99 3VZ").meaning == "no fixed abode"
    assert ids.normalise_postcode("ZZ99 3WZ").meaning == "address not known"
    assert ids.postcode_problems("ZZ99 3VZ") == []


def test_laestab_forms_and_problems() -> None:
    assert ids.normalise_laestab("820/1234") == "8201234"
    assert ids.laestab_problems("820-1234") == []
    assert ids.laestab_problems("9991234") == ["LAESTAB 9991234: 999 is not an LA number"]
    assert ids.laestab_problems("82012") == [
        "LAESTAB 82012: should be 7 digits (3-digit LA number and 4-digit establishment number)"
    ]


def test_la_codes_include_the_2023_cumbria_codes_and_exclude_gaps() -> None:
    assert ids.is_la_code("383") and ids.is_la_code("942") and ids.is_la_code("943")
    assert not ids.is_la_code("900") and not ids.is_la_code("804")

"""Every comparison level of the shipped configuration, one behaviour per test."""

from __future__ import annotations

from datetime import date

import pytest

from services.matching.engine import Linker
from services.matching.records import Address

from .conftest import NHS_A, NHS_B, UPN_A, UPN_B, child


def level(linker: Linker, comparison: str, a: object, b: object) -> str:
    index = [c.name for c in linker.comparisons].index(comparison)
    compiled = linker.comparisons[index]
    found = compiled.classify(linker.prepare(a), linker.prepare(b))  # type: ignore[arg-type]
    return "missing" if found < 0 else compiled.labels[found]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("Oliver", "oliver", "exact"),
        ("Muhammad", "Mohammed", "spelling variant"),
        ("Mohamed", "Muhammed", "spelling variant"),
        ("Ayesha", "Aisha", "spelling variant"),
        ("Phillip", "Philip", "spelling variant"),
        ("Alex", "Alexander", "nickname"),
        ("Alexandra", "Alex", "nickname"),
        ("Bill", "William", "nickname"),
        ("Mo", "Mohamed", "nickname"),
        ("Olivre", "Oliver", "jaro-winkler >= 0.92"),
        ("Oliver", "Harry", "else"),
    ],
)
def test_given_name_levels(linker: Linker, left: str, right: str, expected: str) -> None:
    assert level(linker, "given_name", child(given_name=left), child(given_name=right)) == expected


def test_given_name_known_by_middle_name(linker: Linker) -> None:
    a = child(given_name="James", middle_names="Oliver")
    assert level(linker, "given_name", child(given_name="Oliver"), a) == "known by middle name"


def test_given_and_family_names_swapped(linker: Linker) -> None:
    a = child(given_name="Brown", surname="Oliver")
    assert level(linker, "given_name", a, child()) == "swapped with surname"


def test_missing_given_name_is_no_evidence(linker: Linker) -> None:
    assert level(linker, "given_name", child(given_name=None), child()) == "missing"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("Brown", "BROWN", "exact"),
        ("Smith-Jones", "Jones", "hyphenated or double-barrelled"),
        ("Smith Jones", "Smith", "hyphenated or double-barrelled"),
        ("O'Brien", "OBrien", "exact"),
        ("Browne", "Brown", "jaro-winkler >= 0.92"),
        ("Brown", "Patel", "else"),
    ],
)
def test_surname_levels(linker: Linker, left: str, right: str, expected: str) -> None:
    assert level(linker, "surname", child(surname=left), child(surname=right)) == expected


def test_changed_surname_matches_former_surname(linker: Linker) -> None:
    registered = child(surname="Patel", former_surnames=("Brown",))
    assert level(linker, "surname", child(surname="Brown"), registered) == "former surname"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (date(2014, 2, 15), date(2014, 2, 15), "exact"),
        (date(2014, 2, 5), date(2014, 5, 2), "day and month swapped"),
        (date(2014, 2, 15), date(2014, 3, 15), "one part differs"),
        (date(2014, 2, 15), date(2015, 2, 15), "one part differs"),
        (date(2014, 2, 15), date(2014, 3, 1), "within 30 days"),
        (date(2014, 2, 15), date(2011, 9, 30), "else"),
    ],
)
def test_date_of_birth_levels(linker: Linker, left: date, right: date, expected: str) -> None:
    assert level(linker, "date_of_birth", child(date_of_birth=left), child(date_of_birth=right)) == expected


def test_impossible_transposed_date_still_compares(linker: Linker) -> None:
    # 15/02 typed month-first gives month 15: not a date, but kept and recognised as a swap.
    typed = child(date_of_birth=None, date_of_birth_text="2014-15-02")
    assert level(linker, "date_of_birth", typed, child()) == "day and month swapped"


def test_sex_levels(linker: Linker) -> None:
    assert level(linker, "sex", child(sex="M"), child(sex="m")) == "exact"
    assert level(linker, "sex", child(sex="M"), child(sex="F")) == "else"
    assert level(linker, "sex", child(sex="U"), child(sex="F")) == "missing"


def test_home_levels(linker: Linker) -> None:
    here = child()
    assert level(linker, "home", child(addresses=(Address("1 High St, Leeds", "ls14ab"),)), here) == (
        "same address and postcode"
    )
    assert level(linker, "home", child(addresses=(Address("Flat 9, Tower", "LS1 4AB"),)), here) == "same postcode"
    assert level(linker, "home", child(addresses=(Address(None, "LS1 4XY"),)), here) == "same postcode sector"
    assert level(linker, "home", child(addresses=(Address(None, "LS1 9ZZ"),)), here) == "same postcode district"
    assert level(linker, "home", child(addresses=(Address(None, "M1 1AE"),)), here) == "else"
    assert level(linker, "home", child(addresses=()), here) == "missing"


def test_child_who_moved_still_matches_old_address(linker: Linker) -> None:
    registered = child(
        addresses=(Address("7 Oak Drive, York", "YO1 7HH"), Address("1 High Street, Leeds", "LS1 4AB", current=False))
    )
    assert level(linker, "home", child(), registered) == "address in history"


def test_identifier_levels(linker: Linker) -> None:
    assert level(linker, "nhs_number", child(nhs_number=NHS_A), child(nhs_number="943 476 5919")) == ("valid and equal")
    assert level(linker, "nhs_number", child(nhs_number=NHS_A), child(nhs_number=NHS_B)) == "valid and different"
    assert level(linker, "nhs_number", child(nhs_number="9434765918"), child(nhs_number=NHS_A)) == (
        "one character differs"
    )
    assert level(linker, "nhs_number", child(nhs_number="1234567890"), child(nhs_number="1234567890")) == (
        "equal but invalid"
    )
    assert level(linker, "upn", child(upn=UPN_A), child(upn=UPN_B)) == "valid and different"
    assert level(linker, "upn", child(upn=UPN_A), child(upn=UPN_B, former_upns=(UPN_A,))) == "valid and equal"
    assert level(linker, "nhs_number", child(), child(nhs_number=NHS_A)) == "missing"

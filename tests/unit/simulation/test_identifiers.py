"""Generated identifiers pass the hub's own checks; spoiled ones fail them."""

from __future__ import annotations

import random

from connectors.common import identifiers as hub
from services.simulation import identifiers as ids


def test_upn_check_letter_matches_dfe_examples() -> None:
    assert ids.upn_check_letter("801200001001") == "H"
    assert ids.upn_check_letter("80120000101A") == "G"  # temporary UPN: the 13th character is a letter
    assert ids.upn_check_letter("207000016049") == "P"  # not Q, as two MIS help pages wrongly say


def test_generated_upns_pass_and_spoiled_fail() -> None:
    rng = random.Random(3)
    for n in range(2000):
        upn = ids.make_upn(rng.choice(["383", "384", "380", "330"]), f"{rng.randint(2000, 4999)}", 2015 + n % 10,
                           rng.randint(1, 999))
        assert hub.upn_problems(upn) == [], upn
        assert hub.upn_problems(ids.spoil_upn(upn)), upn


def test_generated_nhs_numbers_pass_modulus_11_and_are_unique() -> None:
    rng, taken = random.Random(5), set[str]()
    numbers = [ids.make_nhs_number(rng, taken) for _ in range(3000)]
    assert len(set(numbers)) == 3000
    for number in numbers:
        assert number.startswith("9")  # the range never issued to patients
        assert hub.nhs_number_problems(number) == [], number
        assert hub.nhs_number_problems(ids.spoil_nhs_number(number)), number


def test_postcodes_have_a_valid_shape() -> None:
    rng = random.Random(11)
    for district in ("LS8", "LS28", "WF10", "BD3", "M14", "B21"):
        for _ in range(100):
            code = ids.make_postcode(rng, district)
            assert hub.postcode_problems(code) == [], code
            assert hub.normalise_postcode(code).value == code

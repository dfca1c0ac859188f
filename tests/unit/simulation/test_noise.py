"""Data-quality defects: each one changes what it says and nothing else."""

from __future__ import annotations

import random
from datetime import date

from connectors.common import identifiers as hub
from services.simulation.noise import apply, transposed, typo

VIEW = {
    "given_name": "Oluwaseun", "middle_names": "Tobi", "surname": "Adeyemi", "dob": date(2014, 3, 9),
    "upn": "H801200001001", "nhs_number": "9434765919", "home": "new home", "previous_home": "old home",
}


def test_every_defect_at_once() -> None:
    profile = dict.fromkeys(("nickname", "typo", "missing_middle", "bad_upn_check", "bad_nhs_check",
                             "dob_transposed", "stale_address"), 1.0)
    out, tags = apply(random.Random(1), VIEW, profile)
    assert out["given_name"] != "Oluwaseun"  # the nickname Seun, perhaps with a typo on top
    assert out["middle_names"] is None and out["home"] == "old home"
    assert out["dob"] == date(2014, 9, 3)
    assert hub.upn_problems(out["upn"]) and hub.nhs_number_problems(out["nhs_number"])
    assert {"nickname", "missing_middle", "stale_address", "dob_transposed", "bad_upn_check",
            "bad_nhs_check"} <= set(tags)
    assert VIEW["given_name"] == "Oluwaseun"  # the truth is never changed


def test_no_defects_leaves_the_record_alone() -> None:
    out, tags = apply(random.Random(1), VIEW, {})
    assert out == VIEW and tags == []


def test_a_partner_that_never_holds_an_item_is_not_a_defect() -> None:
    out, tags = apply(random.Random(1), VIEW, {"missing_nhs": 1.0, "missing_upn": 0.999999})
    assert out["nhs_number"] is None and out["upn"] is None
    assert tags == ["missing_upn"]


def test_transposition_only_when_still_a_date() -> None:
    assert transposed(date(2014, 3, 9)) == date(2014, 9, 3)
    assert transposed(date(2014, 3, 13)) is None
    assert transposed(date(2014, 4, 4)) is None


def test_typos_change_one_thing() -> None:
    rng = random.Random(4)
    for _ in range(200):
        changed = typo(rng, "Kowalczyk")
        assert changed != "Kowalczyk" and abs(len(changed) - 9) <= 1


def test_accents_fold_as_many_systems_store_names() -> None:
    from services.simulation.noise import ascii_fold

    assert ascii_fold("Wiśniewski") == "Wisniewski"
    assert ascii_fold("Małgorzata Kozłowska") == "Malgorzata Kozlowska"
    assert ascii_fold("Ștefan Crăciun") == "Stefan Craciun"
    assert ascii_fold("Ní Bhriain") == "Ni Bhriain"


def test_swapped_and_partial_names() -> None:
    view = {**VIEW, "surname": "Smith-Walker"}
    out, tags = apply(random.Random(2), view, {"swapped_names": 1.0, "partial_surname": 1.0})
    assert (out["given_name"], out["surname"]) == ("Walker", "Oluwaseun")
    assert tags == ["partial_surname", "swapped_names"]

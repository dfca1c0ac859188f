"""Decisions: identifiers first, safeguards for twins and conflicts, weights and reasons."""

from __future__ import annotations

from datetime import date

from services.matching.engine import Linker
from services.matching.records import Address

from .conftest import NHS_A, NHS_B, UPN_A, UPN_B, child

TWIN_HOME = (Address("4 Mill Lane, Leeds", "LS6 2QT"),)


def register(linker: Linker, *records):  # type: ignore[no-untyped-def]
    # Background children so term frequencies and the prior look like a real register.
    filler = [
        child(
            f"bg{i}",
            given_name=name,
            surname=surname,
            date_of_birth=date(2010 + i % 9, 1 + i % 12, 1 + i % 28),
            addresses=(Address(f"{i} Park Avenue, York", f"YO{1 + i % 30} {i % 10}AB"),),
        )
        for i, (name, surname) in enumerate(
            (n, s)
            for n in ("Amelia", "Noah", "Isla", "Jack", "Freya", "Leo")
            for s in ("Smith", "Khan", "Nowak", "Evans")
        )
    ]
    return linker.build_index([*filler, *records])


def test_exact_child_is_matched_with_weights_and_reason(linker: Linker) -> None:
    index = register(linker, child("r1"))
    decision = linker.link(child("n1", given_name="Olly"), index)
    assert decision.decision == "match"
    assert decision.register_id == "r1"
    assert decision.match_probability >= linker.config.thresholds.match
    names = {c.comparison for c in decision.comparisons}
    assert {"given_name", "surname", "date_of_birth", "home"} <= names
    assert any(c.comparison == "given_name" and c.level == "nickname" and c.weight > 0 for c in decision.comparisons)
    assert "\n" not in decision.reason and decision.reason.startswith("match")
    # The reason names comparisons and levels, never the child's details.
    assert "Oliver" not in decision.reason and "LS1" not in decision.reason


def test_valid_identifier_links_deterministically_despite_typos(linker: Linker) -> None:
    index = register(linker, child("r1", nhs_number=NHS_A))
    decision = linker.link(child("n1", given_name="Olivr", surname="Brwn", nhs_number=NHS_A, addresses=()), index)
    assert (decision.decision, decision.register_id, decision.rule) == ("match", "r1", "identifier")


def test_identifier_with_contradicting_name_and_birth_date_goes_to_review(linker: Linker) -> None:
    index = register(linker, child("r1", upn=UPN_A))
    decision = linker.link(child("n1", given_name="Zainab", date_of_birth=date(2009, 11, 3), upn=UPN_A), index)
    assert decision.decision == "review"
    assert "contradict" in decision.reason


def test_conflicting_valid_nhs_numbers_never_auto_match(linker: Linker) -> None:
    index = register(linker, child("r1", nhs_number=NHS_A))
    decision = linker.link(child("n1", nhs_number=NHS_B), index)
    assert decision.decision != "match"
    assert decision.register_id == "r1"


def test_one_identifier_agreeing_and_another_conflicting_goes_to_review(linker: Linker) -> None:
    index = register(linker, child("r1", nhs_number=NHS_A, upn=UPN_A))
    decision = linker.link(child("n1", nhs_number=NHS_A, upn=UPN_B), index)
    assert decision.decision == "review"
    assert "conflicts" in decision.reason


def test_twin_not_on_register_is_never_matched_to_the_other_twin(linker: Linker) -> None:
    twin_a = child("r1", given_name="Amira", surname="Hussain", sex="F", addresses=TWIN_HOME)
    index = register(linker, twin_a)
    decision = linker.link(child("n1", given_name="Yusuf", surname="Hussain", sex="M", addresses=TWIN_HOME), index)
    assert decision.decision != "match"
    same_sex = linker.link(child("n2", given_name="Layla", surname="Hussain", sex="F", addresses=TWIN_HOME), index)
    assert same_sex.decision != "match"


def test_each_twin_matches_itself_when_both_are_on_register(linker: Linker) -> None:
    twin_a = child("r1", given_name="Amira", surname="Hussain", sex="F", addresses=TWIN_HOME)
    twin_b = child("r2", given_name="Layla", surname="Hussain", sex="F", addresses=TWIN_HOME)
    index = register(linker, twin_a, twin_b)
    decision = linker.link(child("n1", given_name="Layla", surname="Hussain", sex="F", addresses=TWIN_HOME), index)
    assert (decision.decision, decision.register_id) == ("match", "r2")
    assert decision.second_register_id == "r1"


def test_twin_names_alike_and_sex_differs_is_not_matched(linker: Linker) -> None:
    # Alex is short for both Alexander and Alexandra: the sex must settle it, or a person must.
    index = register(linker, child("r1", given_name="Alexandra", sex="F", addresses=TWIN_HOME))
    decision = linker.link(child("n1", given_name="Alex", sex="M", addresses=TWIN_HOME), index)
    assert decision.decision != "match"


def test_sibling_with_another_birth_date_is_not_matched(linker: Linker) -> None:
    index = register(linker, child("r1", given_name="Oliver"))
    decision = linker.link(child("n1", given_name="Olivia", sex=None, date_of_birth=date(2016, 7, 1)), index)
    assert decision.decision != "match"


def test_transposed_birth_date_and_move_still_match(linker: Linker) -> None:
    registered = child("r1", date_of_birth=date(2014, 2, 5))
    index = register(linker, registered)
    decision = linker.link(
        child("n1", date_of_birth=date(2014, 5, 2), addresses=(Address("1 High Street, Leeds", "LS1 4AB"),)), index
    )
    assert (decision.decision, decision.register_id) == ("match", "r1")


def test_invalid_identifier_is_weak_evidence_not_a_deterministic_link(linker: Linker) -> None:
    index = register(linker, child("r1", nhs_number="1234567890"))
    decision = linker.link(
        child("n1", nhs_number="1234567890", given_name="Harry", date_of_birth=date(2012, 1, 9)), index
    )
    assert decision.rule != "identifier"
    weight = next(c for c in decision.comparisons if c.comparison == "nhs_number")
    assert weight.level == "equal but invalid" and weight.weight > 0


def test_unknown_child_is_no_match(linker: Linker) -> None:
    index = register(linker, child("r1"))
    decision = linker.link(
        child(
            "n1",
            given_name="Ruby",
            surname="Okafor",
            date_of_birth=date(2012, 8, 30),
            addresses=(Address("3 Elm Grove, Hull", "HU1 1AA"),),
        ),
        index,
    )
    assert decision.decision == "no_match"


def test_index_replaces_and_removes_records(linker: Linker) -> None:
    index = register(linker, child("r1"))
    size = len(index)
    index.add(child("r1", surname="Patel"))
    assert len(index) == size
    assert linker.link(child("n1", surname="Patel"), index).register_id == "r1"
    index.remove("r1")
    assert linker.link(child("n2"), index).register_id != "r1"


def test_decision_serialises_to_plain_dict(linker: Linker) -> None:
    index = register(linker, child("r1"))
    data = linker.link(child("n1"), index).to_dict()
    assert data["decision"] == "match"
    assert isinstance(data["comparisons"], list | tuple) and data["comparisons"][0]["weight"] is not None


def test_event_child_identity_becomes_a_record_with_history_and_invalid_ids(linker: Linker) -> None:
    from services.matching.records import from_child_identity

    identity = {
        "given_name": "Oliver",
        "surname": "Brown",
        "former_surnames": ["Green"],
        "date_of_birth": date(2014, 2, 15),
        "sex": "M",
        "upn": UPN_A,
        "former_upn": None,
        "nhs_number": None,
        "addresses": [
            {"lines": ["1 High Street"], "town": "Leeds", "postcode": "LS1 4AB", "kind": "home", "valid_to": None},
            {
                "lines": ["7 Oak Drive"],
                "town": "York",
                "postcode": "YO1 7HH",
                "kind": "previous",
                "valid_to": date(2023, 1, 1),
            },
        ],
        "invalid_identifiers": [{"scheme": "nhs_number", "value": "9434765918", "reason": "check digit"}],
    }
    record = from_child_identity("ev1", identity)
    assert record.addresses[0].current and not record.addresses[1].current
    assert record.addresses[0].text == "1 High Street, Leeds"
    assert record.invalid_identifiers == (("nhs_number", "9434765918"),)
    prepared = linker.prepare(record)
    assert prepared.nhs_invalid == "9434765918" and prepared.upns == {UPN_A}
    index = register(linker, child("r1", upn=UPN_A))
    assert linker.link(record, index).decision == "match"


def test_record_without_any_candidate_is_no_match_with_no_weight(linker: Linker) -> None:
    index = register(linker, child("r1"))
    decision = linker.link(child("n1", given_name=None, surname=None, date_of_birth=None, addresses=()), index)
    assert (decision.decision, decision.register_id, decision.match_weight) == ("no_match", None, None)
    assert decision.reason == "no_match: no candidate shares a blocking key"


def test_blocking_finds_the_child_after_a_move_a_typo_or_a_transposed_date(linker: Linker) -> None:
    index = register(linker, child("r1", date_of_birth=date(2014, 2, 5)))
    elsewhere = (Address("22 Station Road, Hull", "HU1 1AA"),)
    variants = [
        child("n1", surname="Bronw", addresses=elsewhere, date_of_birth=date(2014, 2, 5)),
        child("n2", given_name="Ollie", addresses=elsewhere, date_of_birth=date(2014, 5, 2)),
        child("n3", given_name="Brown", surname="Oliver", addresses=elsewhere, date_of_birth=date(2014, 2, 5)),
        child("n4", date_of_birth=date(2015, 2, 5)),
    ]
    position = index.positions["r1"]
    for record in variants:
        assert position in index.candidates(linker.prepare(record)), record.id

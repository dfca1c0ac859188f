"""The schemas load, envelopes are built as documented, and validate() names every problem."""

from __future__ import annotations

import datetime as dt
import uuid

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import events as E
from schemas.examples import example_event, example_quarantine

REQUIRED_TYPES = {
    "school.admission_return",
    "school.deletion_return",
    "school.absence_referral",
    "school.ctf_transfer",
    "health.patient_update",
    "health.address_change",
    "police.missing_episode",
    "police.found",
    "police.welfare_concern",
    "police.encompass",
    "border.arrival",
    "border.departure",
    "la.enquiry",
    "la.enquiry_response",
    "la.case_transfer",
    "register.change",
    "match.decision",
    "places.school_vacancies",
    "places.provider",
    "admissions.application",
    "admissions.offer",
    "admissions.offer_accepted",
    "admissions.no_show",
}


def test_every_required_event_type_has_a_schema() -> None:
    assert set(E.EVENT_TYPES) == REQUIRED_TYPES


@pytest.mark.parametrize("event_type", sorted(REQUIRED_TYPES))
def test_event_schema_starts_with_the_flat_envelope_then_child(event_type: str) -> None:
    fields = [f["name"] for f in E.schema_json(event_type)["fields"]]
    assert fields[: len(E.ENVELOPE_FIELDS)] == list(E.ENVELOPE_FIELDS)
    assert fields[len(E.ENVELOPE_FIELDS)] == "child"
    assert E.schema_json(event_type)["event_type"] == event_type


@pytest.mark.parametrize("event_type", sorted(REQUIRED_TYPES))
def test_standalone_schema_parses_without_the_shared_files(event_type: str) -> None:
    # The standalone form must carry every named type itself (registry, fingerprint, avro checker).
    fastavro.parse_schema(E.schema_json(event_type), named_schemas={})


@pytest.mark.parametrize("event_type", sorted(REQUIRED_TYPES))
def test_examples_are_valid(event_type: str) -> None:
    assert E.validate(example_event(event_type)) == []


def test_shared_types_are_the_documented_ones() -> None:
    assert {
        "Source",
        "ChildIdentity",
        "Address",
        "Contact",
        "ChildFlags",
        "InvalidIdentifier",
        "QuarantineRecord",
    } <= set(E.SHARED_TYPES)
    assert E.validate(example_quarantine(), "QuarantineRecord") == []


def test_unknown_event_type_names_the_known_ones() -> None:
    with pytest.raises(E.UnknownEventType, match=r"school\.deletion_return"):
        E.schema_for("school.nonsense")
    assert E.validate({"event_type": "school.nonsense"})[0].startswith("event_type: no schema")


def test_event_id_is_uuid5_of_partner_and_reference() -> None:
    first = E.new_event_id("school:3832999", "returns.csv#4")
    assert first == E.new_event_id("school:3832999", "returns.csv#4")
    assert first == str(uuid.uuid5(E.EVENT_ID_NAMESPACE, "school:3832999|returns.csv#4"))
    assert uuid.UUID(first).version == 5
    assert first != E.new_event_id("school:3844001", "returns.csv#4")
    assert uuid.UUID(E.new_event_id("school:3832999", None)).version == 4
    assert E.new_event_id("x", None) != E.new_event_id("x", None)


@given(partner=st.text(max_size=20), reference=st.text(min_size=1, max_size=60))
def test_event_id_is_exactly_what_uuid5_makes(partner: str, reference: str) -> None:
    expected = str(uuid.uuid5(E.EVENT_ID_NAMESPACE, f"{partner}|{reference}"))
    assert E.new_event_id(partner, reference) == expected


def test_make_envelope_fills_version_and_received_at() -> None:
    when = dt.datetime(2025, 11, 14, 9, 0, tzinfo=dt.UTC)
    env = E.make_envelope(
        "police.found",
        partner_id="police:EX",
        source_kind="police",
        responsible_la="383",
        occurred_at=when,
        reference="EX-1",
    )
    assert env["schema_version"] == E.schema_version("police.found") == 1
    assert env["source"] == {"partner_id": "police:EX", "kind": "police", "reference": "EX-1"}
    assert env["received_at"].tzinfo is not None
    assert list(env) == list(E.ENVELOPE_FIELDS)


def test_make_event_names_missing_required_fields() -> None:
    env = example_event("school.deletion_return")
    with pytest.raises(ValueError, match="deletion_ground, deletion_date"):
        E.make_event("school.deletion_return", {k: env[k] for k in E.ENVELOPE_FIELDS}, school_laestab="3832999")


def test_validate_reports_every_problem_in_plain_words() -> None:
    event = example_event("school.deletion_return")
    event.update(
        deletion_ground="9(1)(z)",
        deletion_date="2025-11-14",
        responsible_la="38",
        colour="red",
        occurred_at=dt.datetime(2025, 1, 1),
    )
    event["child"]["nhs_number"] = "9434765918"
    event["child"]["upn"] = "Z801200001001"
    event["child"]["sex"] = "X"
    event["child"]["addresses"][0]["postcode"] = "ls2 7aa"
    event["child"]["flags"]["restricted"] = True
    del event["school_laestab"]
    problems = E.validate(event)
    expected = [
        "occurred_at: datetime 2025-01-01T00:00:00 has no timezone",
        "child.sex: 'X' is not one of M, F, U",
        "school_laestab: missing (required)",
        "deletion_date: expected a date, got '2025-11-14' (str)",
        "colour: not a field of SchoolDeletionReturn",
        "responsible_la: '38' should be a 3-digit LA code",
        "deletion_ground: '9(1)(z)' should be one of 9(1)(a) to 9(1)(o)",
        "child.upn: check letter should be H",
        "child.nhs_number: check digit should be 9",
        "child.addresses: must be empty for a restricted (S-flagged) child",
        "new_address: must be null for a restricted (S-flagged) child",
        "child.addresses[0].postcode: should be a UK postcode",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected)


def test_validate_rejects_bool_for_int_and_datetime_for_date() -> None:
    event = example_event("school.absence_referral")
    event["school_days_absent"] = True
    event["first_absence_date"] = dt.datetime(2025, 10, 31, tzinfo=dt.UTC)
    problems = E.validate(event)
    assert len(problems) == 2
    assert problems[0].startswith("first_absence_date: expected a date, got datetime.datetime(2025")
    assert problems[1] == "school_days_absent: expected a whole number, got True (bool)"


def test_ctf_destination_rules() -> None:
    event = example_event("school.ctf_transfer")
    assert E.validate({**event, "destination_la": "384"}) == [
        "destination_la/destination_estab: must be null when destination_kind is unknown"
    ]
    problems = E.validate({**event, "destination_kind": "school", "destination_la": "384"})
    assert problems == ["destination_estab: a CTF to a school needs the 4-digit destination establishment"]


def test_match_decision_needs_a_child_when_matched() -> None:
    event = example_event("match.decision")
    assert E.validate({**event, "child_id": None}) == ["child_id: a match decision must name the register child"]
    assert E.validate({**event, "child_id": None, "decision": "no_match"}) == []


def test_mask_personal_hides_every_personal_value() -> None:
    event = example_event("school.deletion_return")
    masked = E.mask_personal(event)
    text = repr(masked)
    for secret in (
        "Tomasz",
        "SAMPLE",
        "B801200005001",
        "9434765919",
        "LS2 7AA",
        "BD1 1AA",
        "07700 900123",
        "Anna",
        "2013",
    ):
        assert secret not in text
    assert masked["school_laestab"] == "3832999"
    assert masked["child"]["sex"] == "M"
    assert masked["child"]["middle_names"] is None  # empty values stay visibly empty
    assert "child.surname" in E.personal_field_paths("school.deletion_return")
    assert E.mask_personal(example_quarantine(), "QuarantineRecord")["original"] == E.MASK


def test_border_direction_matches_the_event_type() -> None:
    event = example_event("border.departure")
    assert E.validate({**event, "direction": "arrival"}) == ["direction: is 'arrival' on a border.departure event"]


def test_restricted_child_has_no_address_anywhere() -> None:
    event = example_event("health.address_change")
    event["child"] = E.empty_child(
        nhs_number="9434765919", flags={"looked_after": False, "sen_support": False, "ehcp": False, "restricted": True}
    )
    assert E.validate(event) == ["new_address: must be null for a restricted (S-flagged) child"]
    assert E.validate({**event, "new_address": None}) == []


def test_named_types_resolve_even_when_their_first_use_is_empty() -> None:
    # Address is defined inside child.addresses; an empty list there must not hide it from new_address.
    event = example_event("school.deletion_return")
    event["child"]["addresses"] = []
    assert E.validate(event) == []
    masked = E.mask_personal(event)
    assert masked["new_address"]["postcode"] == E.MASK and masked["new_address"]["kind"] == "home"


def test_a_nul_character_anywhere_is_named_with_its_path() -> None:
    event = example_event("school.deletion_return")
    event["child"]["addresses"][0]["lines"] = ["1 Chapel\x00 Lane"]
    problems = E.validate(event)
    assert problems == ["child.addresses[0].lines[0]: contains a NUL character (0x00), which no text field can hold"]
    assert E.validate(event, structure=False) == problems  # the decoded-event check finds it too


def test_a_nul_deep_in_a_map_of_a_list_is_found() -> None:
    event = example_event("school.deletion_return")
    event["child"]["contacts"] = [{"name": "Ann", "relationship": None, "phones": ["0113\x00"],
                                   "has_parental_responsibility": None}]
    assert E.validate(event, structure=False) == [
        "child.contacts[0].phones[0]: contains a NUL character (0x00), which no text field can hold"]

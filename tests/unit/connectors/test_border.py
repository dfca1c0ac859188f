"""Border connector: UN/EDIFACT PAXLST and movement check responses."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from connectors.border.edifact import read_segments
from connectors.border.movements import parse_movements
from connectors.border.paxlst import parse_paxlst, yymmdd
from connectors.common.parsing import ParseContext
from tests.unit.connectors.conftest import FIXTURES, fixture_bytes


def test_paxlst_shared_example_gives_the_child_and_leaves_the_adult_out(ctx: ParseContext) -> None:
    name = "paxlst_minor_arrival.edi"
    result = parse_paxlst(fixture_bytes("border", name), name, ctx)
    assert (result.records, len(result.events), result.quarantined, result.out_of_scope) == (1, 1, [], 1)
    event = result.events[0]
    assert event["event_type"] == "border.arrival" and event["direction"] == "arrival"
    assert (event["port"], event["other_port"], event["carrier"], event["transport_id"]) == (
        "LHR",
        "CDG",
        "XX",
        "XX123",
    )
    assert event["travel_at"] == datetime(2025, 9, 3, 7, 5, tzinfo=UTC) == event["occurred_at"]
    assert (event["nationality"], event["country_of_residence"], event["destination_country"]) == ("FRA", "FRA", "GBR")
    assert (event["document_type"], event["document_number"], event["document_issuing_state"]) == (
        "P",
        "X0000001",
        "FRA",
    )
    assert (event["accompanied"], event["interchange_reference"]) == (True, "EX0000001")
    child = event["child"]
    assert (child["given_name"], child["middle_names"], child["surname"], child["sex"]) == (
        "AMINA",
        "JOY",
        "EXAMPLE",
        "F",
    )
    assert child["date_of_birth"] == date(2014, 2, 15)
    assert child["addresses"] == [
        {
            "lines": ["1 TEST ROAD", "75001", "FRA"],
            "town": "PARIS",
            "postcode": None,
            "uprn": None,
            "valid_from": None,
            "valid_to": None,
            "kind": "unknown",
        }
    ]
    assert child["contacts"][0]["name"] == "OLUWASEUN EXAMPLE"
    assert event["source"] == {
        "partner_id": "border-exampleair",
        "kind": "border",
        "reference": "paxlst/EX0000001/passenger 1",
    }


def test_release_characters_no_una_no_group_and_departure(ctx: ParseContext) -> None:
    name = "variants/paxlst_departure_release_chars.edi"
    result = parse_paxlst(fixture_bytes("border", name), name, ctx)
    (event,) = result.events
    assert event["event_type"] == "border.departure"
    assert (event["port"], event["other_port"], event["origin_country"]) == ("MAN", "DUB", "GBR")
    assert event["travel_at"] == datetime(2025, 9, 3, 6, 40, tzinfo=UTC)
    assert event["child"]["surname"] == "O'BRIEN"
    assert event["child"]["contacts"][0]["name"] == "SIOBHAN O'BRIEN"


def test_unoc_interchange_is_read_as_latin_1(ctx: ParseContext) -> None:
    name = "variants/paxlst_unoc_latin1.edi"
    (event,) = parse_paxlst(fixture_bytes("border", name), name, ctx).events
    assert event["child"]["surname"] == "BRONTË"


def test_unaccompanied_child_with_expired_document_is_warned(ctx: ParseContext) -> None:
    name = "variants/paxlst_unaccompanied_expired_doc.edi"
    result = parse_paxlst(fixture_bytes("border", name), name, ctx)
    (event,) = result.events
    assert event["accompanied"] is False and event["child"]["contacts"] == []
    assert [w.text for _, w in result.warnings] == ["travel document expired on 2024-01-01"]


def test_crew_list_holds_no_children(ctx: ParseContext) -> None:
    name = "variants/paxlst_crew_list.edi"
    result = parse_paxlst(fixture_bytes("border", name), name, ctx)
    assert (result.records, result.events, result.quarantined, result.out_of_scope) == (0, [], [], 1)


@pytest.mark.parametrize(
    ("raw", "travel", "expected"),
    [
        ("140215", date(2025, 9, 3), date(2014, 2, 15)),
        ("250903", date(2025, 9, 3), date(2025, 9, 3)),  # born on the day of travel
        ("250904", date(2025, 9, 3), date(1925, 9, 4)),  # never a birth after the journey
        ("850701", date(2025, 9, 3), date(1985, 7, 1)),
    ],
)
def test_yymmdd_century_pivot(raw: str, travel: date, expected: date) -> None:
    assert yymmdd(raw, "DTM+329", travel) == (expected, [])


def test_yymmdd_failures_are_explained() -> None:
    assert yymmdd("141302", "DTM+329", date(2025, 1, 1))[1][0].text == "DTM+329 '141302': month 13"
    assert yymmdd("140230", "DTM+329", date(2025, 1, 1))[1][0].text == "DTM+329 '140230': day 30 is not in month 2"


def test_edifact_reader_honours_una_separators() -> None:
    _, segments = read_segments("UNA*|,! ~UNB|UNOA*4|X~NAD|FL|||O!~NEIL*ANN~", "x")
    assert segments[1].elements[3] == ("O~NEIL", "ANN")


def test_movement_check_response(ctx: ParseContext) -> None:
    name = "movement_bad.json"
    result = parse_movements((FIXTURES / "border" / "malformed" / name).read_bytes(), name, ctx)
    assert (result.records, len(result.events), len(result.quarantined)) == (3, 1, 2)
    event = result.events[0]
    assert event["event_type"] == "border.departure"
    assert (event["port"], event["other_port"], event["destination_country"], event["transport_id"]) == (
        "LHR",
        "CDG",
        "FRA",
        "XX124",
    )
    assert event["travel_at"] == datetime(2025, 9, 10, 10, 0, tzinfo=UTC)
    assert event["source"]["reference"] == "movement-check/MCR-0001/movement 1"
    assert event["child"]["surname"] == "EXAMPLE" and event["nationality"] == "FRA"


MALFORMED = {
    "paxlst_bad_unt_count.edi": (1, 0, 1, ["UNT says 36 segments, message has 33 (UNH to UNT)"]),
    "paxlst_bad_cnt.edi": (1, 0, 1, ["CNT+42 says 5 passengers, list holds 2"]),
    "paxlst_truncated.edi": (1, 0, 1, ["ends inside a segment"]),
    "paxlst_bad_dob_month.edi": (2, 1, 1, ["DTM+329 '141302': month 13"]),
    "paxlst_no_uk_port.edi": (1, 0, 1, ["neither LOC+87 'JFK' nor LOC+125 'CDG' is a UK port"]),
    "paxlst_bad_bgm.edi": (1, 0, 1, ["BGM '999': not 745 (passenger list)"]),
    "paxlst_missing_dob_and_name.edi": (1, 0, 1, ["DTM+329 missing", "NAD+FL surname missing"]),
    "paxlst_latin1.edi": (1, 0, 1, ["is not valid utf-8 text (UNOA)"]),
    "paxlst_unz_mismatch.edi": (
        1,
        0,
        1,
        ["UNZ says 2, interchange holds 1", "UNZ control reference does not match UNB"],
    ),
    "movement_bad.json": (3, 1, 2, ["direction 'sideways'", "travel_at missing"]),
    "movement_truncated.json": (1, 0, 1, ["not valid JSON"]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_border_inputs_are_counted_and_explained(name: str, ctx: ParseContext) -> None:
    data = (FIXTURES / "border" / "malformed" / name).read_bytes()
    result = parse_movements(data, name, ctx) if name.endswith(".json") else parse_paxlst(data, name, ctx)
    records, events, quarantined, fragments = MALFORMED[name]
    assert (result.records, len(result.events), len(result.quarantined)) == (records, events, quarantined)
    reasons = [r for q in result.quarantined for r in q.reasons]
    for fragment in fragments:
        assert any(fragment in r for r in reasons), (fragment, reasons)


def test_quarantined_passenger_keeps_its_segments(ctx: ParseContext) -> None:
    name = "paxlst_bad_dob_month.edi"
    result = parse_paxlst((FIXTURES / "border" / "malformed" / name).read_bytes(), name, ctx)
    (q,) = result.quarantined
    assert q.position == "passenger 2"
    assert q.original.startswith(b"NAD+FL+++SAMPLE:TOMASZ'") and b"DTM+329:141302'" in q.original

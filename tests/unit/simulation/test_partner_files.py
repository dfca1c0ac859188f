"""Every generated file parses with its connector, and events + quarantined records equal the ground truth."""

from __future__ import annotations

from collections import Counter

import pytest

from connectors.common.parsing import ParseContext
from connectors.common.quarantine import ParseResult
from connectors.formats import detect, parse_input
from services.simulation import Scenario
from services.simulation.partners import EVENT, QUARANTINE, PartnerFile

FAMILY = {"school": "schools", "health": "health", "police": "police", "border": "border"}


@pytest.fixture(scope="module")
def parsed(small_scenario: Scenario) -> list[tuple[PartnerFile, ParseResult]]:
    out = []
    for f in small_scenario.files:
        ctx = ParseContext(default_la=f.la, received_at=f.delivered_at)
        fetch = small_scenario.pds.fetcher(f.delivered_at)
        out.append((f, parse_input(f.data, f.path, FAMILY[f.partner], ctx, fetch)))
    return out


def test_every_format_is_generated(small_scenario: Scenario) -> None:
    formats = Counter(f.format for f in small_scenario.files)
    assert set(formats) == {"ctf", "returns-csv", "returns-json", "fhir", "nems", "mns", "police-json", "paxlst"}
    lost = [f for f in small_scenario.files if f.format == "ctf" and "_CTF_XXXXXXX_" in f.path]
    assert lost and all(len(f.records) == 1 for f in lost)


def test_each_file_is_detected_as_its_format(small_scenario: Scenario) -> None:
    for f in small_scenario.files:
        if not f.malformed:
            assert detect(f.data, FAMILY[f.partner]) == f.format, f.path


def test_counts_match_the_ground_truth_file_by_file(parsed: list) -> None:
    for f, result in parsed:
        got = (len(result.events), len(result.quarantined), result.out_of_scope)
        want = (f.expected_events, f.expected_quarantined, f.expected_out_of_scope)
        assert got == want, (f.path, f.malformed, [q.reasons for q in result.quarantined])
        assert result.balanced(), f.path


def test_malformed_files_are_quarantined_whole(parsed: list) -> None:
    broken = [(f, r) for f, r in parsed if f.malformed]
    assert broken, "the scenario should hold some files cut short"
    for f, result in broken:
        assert result.events == [] and [q.position for q in result.quarantined] == ["whole file"], f.path
        assert result.quarantined[0].original == f.data


def test_bad_records_in_good_files_are_quarantined(parsed: list) -> None:
    bad = [(f, r) for f, r in parsed if not f.malformed and any(x.expected == QUARANTINE for x in f.records)]
    assert bad
    for f, result in bad:
        assert len(result.quarantined) == sum(x.expected == QUARANTINE for x in f.records)


def test_only_spoiled_identifiers_fail_their_checks(parsed: list) -> None:
    """An invalid UPN or NHS number in an event is always one the noise meant to spoil."""
    spoiled = tagged = 0
    for f, result in parsed:
        if f.malformed:
            continue
        children = [r for r in f.records if r.expected == EVENT]
        assert len(children) == len(result.events), f.path
        for record, event in zip(children, result.events, strict=True):
            schemes = {i["scheme"] for i in event["child"]["invalid_identifiers"]} - {"postcode"}
            spoils = (("upn", "bad_upn_check"), ("nhs_number", "bad_nhs_check"))
            expected = {scheme for scheme, tag in spoils if tag in record.noise}
            assert schemes == expected, (f.path, record.position, schemes, record.noise)
            spoiled += len(schemes)
            tagged += len(expected)
    assert spoiled == tagged


def test_adults_on_passenger_lists_are_out_of_scope(parsed: list) -> None:
    lists = [(f, r) for f, r in parsed if f.format == "paxlst" and not f.malformed]
    assert lists
    assert sum(r.out_of_scope for _, r in lists) == sum(f.expected_out_of_scope for f, _ in lists) > 0


def test_events_name_the_child_the_truth_says(parsed: list, small_scenario: Scenario) -> None:
    """A record without name or date defects carries its child's true name and birth date."""
    children_by_id = {c.id: c for c in small_scenario.world.children}
    name_defects = {"nickname", "typo_surname", "typo_given_name", "dob_transposed", "missing_dob", "ascii_names",
                    "swapped_names", "partial_surname"}
    checked = 0
    for f, result in parsed:
        if f.malformed:
            continue
        records = [r for r in f.records if r.expected == EVENT]
        for record, event in zip(records, result.events, strict=True):
            if name_defects & set(record.noise):
                continue
            truth, child = children_by_id[record.child_id], event["child"]
            assert (child["surname"] or "").upper() == truth.surname.upper(), (f.path, record.position)
            assert (child["given_name"] or "").upper() == truth.given_name.upper(), (f.path, record.position)
            assert child["date_of_birth"] == truth.dob, (f.path, record.position)
            checked += 1
    assert checked > 0.8 * sum(len(r.events) for _, r in parsed)


def test_restricted_health_records_reveal_no_address(parsed: list[tuple[PartnerFile, ParseResult]]) -> None:
    seen = 0
    for f, result in parsed:
        if f.format != "fhir" or f.malformed:
            continue
        records = [r for r in f.records if r.expected == EVENT]
        for record, event in zip(records, result.events, strict=True):
            if "restricted" in record.noise:
                assert event["child"]["flags"]["restricted"] and event["child"]["addresses"] == []
                seen += 1
            else:
                assert not event["child"]["flags"]["restricted"]
    assert seen == sum("restricted" in r.noise for f, _ in parsed for r in f.records)

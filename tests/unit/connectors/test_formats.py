"""Every fixture: detected from content, counts balance, and every output passes the event contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.common.parsing import ParseContext
from connectors.formats import FAMILIES, detect, parse_input
from schemas.codec import Codec
from schemas.events import validate
from tests.unit.connectors.conftest import FIXTURES

ALL = sorted((family, path) for family in FAMILIES for path in (FIXTURES / family).rglob("*") if path.is_file())
EXPECTED_FORMAT: dict[str, str | None] = {
    "3832999_CTF_3844001_001.xml": "ctf",
    "deletion_return.csv": "returns-csv",
    "deletion_return.json": "returns-json",
    "admission_returns.csv": "returns-csv",
    "absence_referrals.json": "returns-json",
    "ukcore_patient_child.json": "fhir",
    "bundle_mixed.json": "fhir",
    "nems_pds_change_of_address_stu3_bundle.json": "nems",
    "mns_pds_change_of_gp_cloudevent.json": "mns",
    "mns_pds_record_change_fhir_bundle.json": "mns",
    "missing_child_notification.json": "police-json",
    "operation_encompass_notification.json": "police-json",
    "batch_all_kinds.json": "police-json",
    "paxlst_minor_arrival.edi": "paxlst",
    "movement_bad.json": "movement-check-response",
    "junk.bin": None,
    "wonde_students_page.json": None,
    "observation.json": None,
}


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED_FORMAT.items()))
def test_format_is_detected_from_content(name: str, fmt: str | None) -> None:
    (path,) = [p for _, p in ALL if p.name == name][:1]
    family = path.relative_to(FIXTURES).parts[0]
    assert detect(path.read_bytes(), family) == fmt


@pytest.mark.parametrize(("family", "path"), ALL, ids=[str(p.relative_to(FIXTURES)) for _, p in ALL])
def test_every_fixture_balances_and_every_output_is_a_valid_record(
    family: str, path: Path, ctx: ParseContext, codec: Codec
) -> None:
    result = parse_input(path.read_bytes(), path.name, family, ctx)
    assert result.records == len(result.events) + len(result.quarantined)
    for event in result.events:
        assert validate(event) == [], event["event_type"]
        assert codec.decode(codec.encode(event)) == event
    for q in result.quarantined:
        record = q.to_record(ctx.received_at)
        assert validate(record, "QuarantineRecord") == []
        assert record["reasons"] and record["original"]
        assert codec.decode(codec.encode(record, "QuarantineRecord"))["original"] == q.original


def test_a_file_of_another_family_is_quarantined_with_the_right_command(ctx: ParseContext) -> None:
    data = (FIXTURES / "border" / "paxlst_minor_arrival.edi").read_bytes()
    result = parse_input(data, "paxlst_minor_arrival.edi", "police", ctx)
    assert result.quarantined[0].reasons == [
        "paxlst_minor_arrival.edi: content is paxlst (border), not a police format; "
        "ingest it with `cmehub ingest border`"
    ]


def test_the_wonde_page_is_named_in_its_reason(ctx: ParseContext) -> None:
    data = (FIXTURES / "schools" / "wonde_students_page.json").read_bytes()
    (q,) = parse_input(data, "wonde_students_page.json", "schools", ctx).quarantined
    assert "a Wonde students page (a roll extract, not a notification)" in q.reasons[0]


def test_at_least_ten_malformed_fixtures_per_family() -> None:
    for family in FAMILIES:
        assert len(list((FIXTURES / family / "malformed").iterdir())) >= 10, family

"""The ground truth beside the partner files: who each record is, which cases exist, where children are."""

from __future__ import annotations

import csv
from pathlib import Path

from services.matching.csv_records import COLUMNS, read_records


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_link_files_are_what_cmehub_link_reads(small_folder: Path) -> None:
    register = read_records(small_folder / "link" / "register.csv")
    records = read_records(small_folder / "link" / "records.csv")
    assert register and records
    with (small_folder / "link" / "records.csv").open(encoding="utf-8") as handle:
        assert tuple(handle.readline().strip().split(",")) == COLUMNS
    truth = _rows(small_folder / "link" / "truth.csv")
    assert [t["record_id"] for t in truth] == [r.id for r in records]
    register_ids = {r.id for r in register}
    linked = [t for t in truth if t["register_id"]]
    assert all(t["register_id"] in register_ids for t in linked)
    # Both kinds exist: records of the home authority's children and of children it never knew.
    assert 0.2 < len(linked) / len(truth) < 0.95


def test_register_ids_do_not_reveal_child_ids(small_folder: Path) -> None:
    truth = [t for t in _rows(small_folder / "link" / "truth.csv") if t["register_id"]]
    assert not any(t["child_id"][1:] == t["register_id"][1:] for t in truth[:200])


def test_every_record_belongs_to_a_known_child(small_folder: Path) -> None:
    children = {r["child_id"] for r in _rows(small_folder / "truth" / "children.csv")}
    notes = _rows(small_folder / "truth" / "notifications.csv")
    assert {n["child_id"] for n in notes if n["kind"] != "adult"} <= children
    manifest = _rows(small_folder / "manifest.csv")
    assert len(notes) == sum(int(m["records"]) for m in manifest)
    for m in manifest:
        assert (small_folder / m["path"]).is_file()


def test_cases_that_should_exist(small_folder: Path) -> None:
    episodes = _rows(small_folder / "truth" / "episodes.csv")
    assert any(e["open_at_end"] == "true" for e in episodes)
    assert any(e["open_on_census_day"] == "true" for e in episodes)
    for e in episodes:
        assert (e["end"] == "") == (e["open_at_end"] == "true")
        if e["end"]:
            assert e["start"] < e["end"] and e["outcome"]


def test_whereabouts_cover_each_childs_period(small_folder: Path) -> None:
    stays: dict[str, list[dict[str, str]]] = {}
    for row in _rows(small_folder / "truth" / "whereabouts.csv"):
        stays.setdefault(row["child_id"], []).append(row)
    assert {"home", "abroad", "elsewhere_in_england"} <= {s["place"] for rows in stays.values() for s in rows}
    for rows in stays.values():
        open_ended = [s for s in rows if not s["to"]]
        assert len(open_ended) == 1  # exactly one current place
        for s in rows:
            assert (s["place"] == "abroad") == (s["la"] == "")
            if s["place"] == "home":
                assert 50.0 < float(s["lat"]) < 56.0 and -3.0 < float(s["lon"]) < 0.0  # in England


def test_schools_carry_laestab_numbers(small_folder: Path) -> None:
    schools = _rows(small_folder / "truth" / "schools.csv")
    assert {s["phase"] for s in schools} == {"primary", "secondary", "pru"}
    for s in schools:
        assert len(s["laestab"]) == 7 and s["laestab"][:3] in ("383", "384") and len(s["urn"]) == 6


def test_enquiries_between_the_authorities_are_valid_api_requests(small_folder: Path) -> None:
    import json

    from services.api.routes.enquiries import EnquiryIn

    truth = {r["reference"]: r for r in _rows(small_folder / "truth" / "enquiries.csv")}
    files = sorted((small_folder / "enquiries").glob("*_to_*.json"))
    assert {f.name for f in files} == {"383_to_384.json", "384_to_383.json"}
    sent = 0
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        for item in doc["enquiries"]:
            EnquiryIn.model_validate(item["body"])
            row = truth[item["body"]["reference"]]
            assert (row["from_la"], row["to_la"]) == (doc["from_la"], doc["to_la"])
            sent += 1
    assert sent == len(truth) > 0
    assert any(r["lives_in_to_la"] == "true" for r in truth.values())  # some are really there

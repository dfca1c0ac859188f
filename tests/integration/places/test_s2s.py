"""S2S: a bulk folder (and zip) of 200 CTFs searched against the register in one command; lost-pupil CTFs."""

from __future__ import annotations

import datetime as dt
import json
import random
import zipfile
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from connectors.schools.ctf import parse_ctf
from schemas.events import empty_address, empty_child
from services.commands.places import s2s_app
from services.register.database import migrate
from services.register.handlers import record_notification
from services.register.model import CaseStatus
from services.register.unit_of_work import unit_of_work_factory
from services.simulation.identifiers import make_upn
from services.transitions.lost_pupil import lost_pupil_candidates
from tests.integration.places.builders import GIVEN, SURNAMES, admission_return, ctf_xml, deletion_to_school

LA = "383"


def _surname(n: int) -> str:
    """A made-up surname of three syllables, different for every n (so strangers look like strangers)."""
    syllables = ["BA", "KO", "RI", "TEL", "MUN", "DO", "SA", "VEK", "LOR", "PIN", "GU", "HAR"]
    r = random.Random(n)
    return "".join(r.choice(syllables) for _ in range(3)) + SURNAMES[n % len(SURNAMES)][:2]


def _pupil(n: int, rng: random.Random, with_upn: bool = True) -> dict[str, Any]:
    return {
        "upn": make_upn("383", "2001", 2015, n) if with_upn else None,
        "given_name": GIVEN[n % len(GIVEN)],
        "surname": _surname(n),
        "date_of_birth": dt.date(2012, 1, 1) + dt.timedelta(days=(n * 37) % 2500),
        "sex": "F" if n % 2 else "M",
        "line": f"{n + 1} Mill Lane",
        "postcode": f"LS{6 + n % 5} {1 + n % 9}AB",
    }


def _as_child(p: dict[str, Any]) -> dict[str, Any]:
    return empty_child(given_name=p["given_name"], surname=p["surname"], date_of_birth=p["date_of_birth"],
                       date_of_birth_precision="day", sex=p["sex"], upn=p["upn"],
                       addresses=[empty_address(lines=[p["line"]], town="Leeds", postcode=p["postcode"], kind="home")])


def test_a_bulk_folder_of_200_s2s_ctfs_ingests_in_one_command(postgres_url: str, tmp_path: Path) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    rng = random.Random(7)
    try:
        on_register: dict[int, str] = {}
        for n in range(80):  # children the register knows (admitted to a school here)
            outcome = record_notification(uows(), admission_return(_as_child(_pupil(n, rng)), "3832001",
                                                                   dt.date(2025, 9, 1), "Y7"), None, local_la=LA)
            assert outcome.child_id
            on_register[n] = outcome.child_id
    finally:
        uows.dispose()
    folder = tmp_path / "s2s"
    folder.mkdir()
    expected_match: dict[str, str] = {}  # file name -> child id
    for i in range(200):
        lost = i % 3 != 0
        dest = ("XXX", "XXXX") if lost else ("MMM", "MMMM")
        n = i if i < 60 else (60 + i if i < 180 else 1000 + i)  # 60 known by UPN; the rest strangers
        pupil = _pupil(n, rng)
        source = f"{('384', '380')[i % 2]}{3000 + i:04d}"
        name = f"{source}_CTF_{dest[0]}{dest[1]}_001.xml"
        if i < 60:
            expected_match[name] = on_register[n]
        pupils = [pupil] if i < 198 else [pupil, _pupil(2000 + i, rng)]
        if i >= 198:
            dest, name = ("XXX", "XXXX"), f"{source}_CTF_XXXXXXX_001.xml"  # a lost CTF must hold one pupil
        (folder / name).write_bytes(ctf_xml(source, dest, pupils))
    result = CliRunner().invoke(s2s_app, ["ingest", str(folder), "--database-url", postgres_url, "--la", LA,
                                          "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files"] == 200 and report["pupils"] == 200 and report["balanced"]
    assert report["quarantined"] == 2  # the two lost CTFs holding two pupils, whole files
    assert report["matches"] + report["possible_matches"] + report["no_match"] + report["quarantined"] == 200
    assert report["by_destination"] == {"unknown": 132, "outside_maintained_sector": 66}
    hits = {r["file_name"]: r for r in report["results"]}
    assert report["matches"] >= 60
    for name, child_id in expected_match.items():
        assert hits[name]["decision"] == "match" and hits[name]["child_id"] == child_id
        assert hits[name]["match_weight"] is not None and hits[name]["comparisons"]
        assert any(c["weight"] > 0 for c in hits[name]["comparisons"])
    # Strangers are never matched to anyone (a possible match, for an officer to look at, may happen).
    assert [k for k, v in hits.items() if k not in expected_match and v["decision"] == "match"] == []
    assert report["matches"] == 60
    weights = [r["match_weight"] for r in report["results"]]
    assert weights == sorted(weights, reverse=True)

    # The same download as a zip: the same answer; results are stored for officers.
    archive = tmp_path / "s2s.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for item in sorted(folder.iterdir()):
            z.write(item, f"download/{item.name}")
    again = CliRunner().invoke(s2s_app, ["ingest", str(archive), "--database-url", postgres_url, "--json"])
    assert again.exit_code == 0, again.output
    assert {k: v for k, v in json.loads(again.stdout).items() if k not in ("batch_id", "results")} == {
        k: v for k, v in report.items() if k not in ("batch_id", "results")}
    stored = CliRunner().invoke(s2s_app, ["results", "--database-url", postgres_url, "--batch", report["batch_id"]])
    assert len(json.loads(stored.stdout)) == report["matches"] + report["possible_matches"]


def test_lost_pupil_ctfs_parse_back_through_the_ctf_connector(postgres_url: str, tmp_path: Path) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    rng = random.Random(9)
    try:
        lost_ids = {}
        for n in range(5):
            pupil = _pupil(n, rng)
            event = deletion_to_school(_as_child(pupil), "3832001", "3832002", dt.date(2025, 11, 7),
                                       dt.date(2025, 11, 10))
            event.update(deletion_ground="9(1)(i)", new_school_laestab=None, new_school_start_date=None,
                         last_attended_date=dt.date(2025, 10, 8), joint_enquiries_completed=True)
            outcome = record_notification(uows(), event, None, local_la=LA)
            assert outcome.child_id and outcome.opened_case
            lost_ids[outcome.child_id] = pupil
        # A fresh referral (enquiries not yet failed) gets no lost-pupil CTF.
        fresh = deletion_to_school(_as_child(_pupil(50, rng)), "3832001", "3832002", dt.date(2025, 11, 7),
                                   dt.date(2025, 11, 10))
        fresh.update(deletion_ground="9(1)(g)", new_school_laestab=None, new_school_start_date=None)
        assert record_notification(uows(), fresh, None, local_la=LA).opened_case
        candidates = lost_pupil_candidates(uows, LA)
        assert {c.id for c, _ in candidates} == set(lost_ids)
        assert all(case.status is CaseStatus.NOT_FOUND for _, case in candidates)
    finally:
        uows.dispose()
    out = tmp_path / "outgoing"
    result = CliRunner().invoke(s2s_app, ["lost-pupil-ctf", "--out", str(out), "--database-url", postgres_url])
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.xml"))
    assert len(files) == 5 and len({f.name for f in files}) == 5
    seen = set()
    for path in files:
        assert "_CTF_XXXXXXX_" in path.name
        parsed = parse_ctf(path.read_bytes(), path.name)
        assert parsed.quarantined == [] and len(parsed.events) == 1 and parsed.balanced()
        assert not [w for _, w in parsed.warnings if w.code == "file_name"]
        event = parsed.events[0]
        assert event["destination_kind"] == "unknown" and event["source_la"] == "383"
        assert event["source_estab"] == "2001" and event["leaving_date"] == dt.date(2025, 10, 8)
        child = event["child"]
        match = [p for p in lost_ids.values() if p["upn"] == child["upn"]]
        assert len(match) == 1
        pupil = match[0]
        assert (child["surname"], child["given_name"], child["date_of_birth"], child["sex"]) == (
            pupil["surname"], pupil["given_name"], pupil["date_of_birth"], pupil["sex"])
        assert child["addresses"][0]["postcode"] == pupil["postcode"]
        seen.add(child["upn"])
    assert len(seen) == 5

"""Lost-pupil CTFs read back through the CTF connector; S2S downloads read from folders and zips and searched."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from connectors.schools.ctf import parse_ctf
from services.matching.engine import Linker
from services.matching.records import Address as RecordAddress
from services.matching.records import PersonRecord
from services.register.model import (
    Address,
    Case,
    CaseStatus,
    Child,
    Identifier,
    IdentifierScheme,
    Identity,
    ReferralSource,
)
from services.transitions.lost_pupil import CannotWriteCtf, ctf_version, lost_pupil_ctf
from services.transitions.s2s import S2sInputError, iter_s2s_files, search_s2s

SENT = dt.datetime(2025, 11, 20, 9, 30, tzinfo=dt.UTC)


def _child(restricted: bool = False) -> Child:
    kid = Child(id="c-1", la_code="383", restricted=restricted)
    kid.record_identity(Identity("Amira", "OKAFOR", middle_names="Jane", former_surnames=("REID",),
                                 date_of_birth=dt.date(2014, 5, 17), sex="F"))
    kid.identifiers.add(Identifier(IdentifierScheme.UPN, "B801200005001"))
    if not restricted:
        kid.record_address(Address(("22 Nowhere Close",), "Leeds", "LS2 7AA"))
    return kid


def _case(last_school: str | None = "3832999") -> Case:
    return Case(id="k-1", child_id="c-1", status=CaseStatus.NOT_FOUND, referral_source=ReferralSource.SCHOOL,
                referred_on=dt.date(2025, 11, 3), date_last_seen=dt.date(2025, 10, 8), last_school=last_school)


def test_a_lost_pupil_ctf_reads_back_through_the_ctf_connector() -> None:
    made = lost_pupil_ctf(_child(), _case(), la="383", sent_at=SENT)
    assert made.file_name == "3832999_CTF_XXXXXXX_001.xml"
    parsed = parse_ctf(made.data, made.file_name)
    assert parsed.quarantined == [] and parsed.warnings == [] and len(parsed.events) == 1
    event = parsed.events[0]
    assert (event["destination_kind"], event["destination_la"], event["destination_estab"]) == ("unknown", None, None)
    assert (event["source_la"], event["source_estab"], event["ctf_version"]) == ("383", "2999", "25.0")
    assert event["leaving_date"] == dt.date(2025, 10, 8)
    child = event["child"]
    assert (child["upn"], child["surname"], child["given_name"], child["middle_names"], child["date_of_birth"],
            child["sex"], child["former_surnames"]) == (
        "B801200005001", "OKAFOR", "Amira", "Jane", dt.date(2014, 5, 17), "F", ["REID"])
    assert child["addresses"][0]["postcode"] == "LS2 7AA"


def test_the_la_sends_when_the_last_school_is_elsewhere_and_a_restricted_address_stays_out() -> None:
    made = lost_pupil_ctf(_child(restricted=True), _case(last_school="3844001"), la="383", sequence=7, sent_at=SENT)
    assert made.file_name == "383LLLL_CTF_XXXXXXX_007.xml"
    event = parse_ctf(made.data, made.file_name).events[0]
    assert event["source_estab"] == "LLLL" and event["child"]["addresses"] == []
    assert b"Nowhere" not in made.data


def test_a_child_without_the_minimum_details_gets_no_file() -> None:
    kid = Child(id="c-2", la_code="383")
    kid.record_identity(Identity("Amira", None, date_of_birth=None))
    with pytest.raises(CannotWriteCtf, match="surname, forename and date of birth"):
        lost_pupil_ctf(kid, _case(), la="383")


def test_ctf_versions_change_each_september() -> None:
    assert (ctf_version(dt.date(2025, 8, 31)), ctf_version(dt.date(2025, 9, 1))) == ("24.0", "25.0")


def test_s2s_downloads_are_read_from_folders_zips_and_files(tmp_path: Path) -> None:
    made = lost_pupil_ctf(_child(), _case(), la="383", sent_at=SENT)
    folder = tmp_path / "download"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / made.file_name).write_bytes(made.data)
    (folder / "readme.txt").write_text("not a CTF")
    assert [n for n, _ in iter_s2s_files(folder)] == [f"sub/{made.file_name}"]
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(made.file_name, made.data)
        z.writestr("notes.txt", "x")
    assert list(iter_s2s_files(archive)) == [(made.file_name, made.data)]
    assert [n for n, _ in iter_s2s_files(folder / "sub" / made.file_name)] == [made.file_name]
    with pytest.raises(S2sInputError, match="no such folder"):
        list(iter_s2s_files(tmp_path / "missing"))


def test_search_lists_the_match_with_its_weights_and_counts_add_up() -> None:
    linker = Linker()
    index = linker.build_index([
        PersonRecord(id="c-1", given_name="Amira", surname="OKAFOR", date_of_birth=dt.date(2014, 5, 17), sex="F",
                     upn="B801200005001",
                     addresses=(RecordAddress(text="22 Nowhere Close, Leeds", postcode="LS2 7AA"),)),
        PersonRecord(id="c-9", given_name="Tom", surname="BAKER", date_of_birth=dt.date(2013, 1, 2), sex="M"),
    ])
    good = lost_pupil_ctf(_child(), _case(), la="383", sent_at=SENT)
    broken = (b'<?xml version="1.0"?><CTfile><Header><DocumentName>Common Transfer File</DocumentName></Header>'
              b"</CTfile>")
    summary = search_s2s(iter([(good.file_name, good.data), ("3832999_CTF_XXXXXXX_002.xml", broken)]), linker, index)
    assert summary.files == 2 and summary.pupils == 2 and summary.balanced
    match, quarantined = summary.results
    assert match.decision == "match" and match.child_id == "c-1" and match.match_weight is not None
    assert match.comparisons and any(weight > 0 for _, _, weight in match.comparisons)
    assert quarantined.decision == "quarantined" and "CTFversion" in quarantined.reason
    assert summary.as_dict()["by_destination"] == {"unknown": 1}

"""A located child's case shows schools with a vacancy in the right year group, nearest first; or says none in range."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from typer.testing import CliRunner

from connectors.common.parsing import ParseContext
from connectors.places.csv_files import parse_vacancies
from services.commands.places import app as places_app
from services.places.proposals import proposals_for_case
from services.register.database import migrate
from services.register.handlers import act_on_case, record_notification
from services.register.lifecycle import Trigger, TriggerKind
from services.register.model import CaseStatus
from services.register.unit_of_work import UnitOfWorkFactory, unit_of_work_factory
from tests.integration.places.builders import child, deletion_to_school

LA = "383"
VACANCIES = """LAESTAB,URN,School name,Phase,Year group,Capacity,On roll,Vacancies,As of date,Postcode
3832101,107001,Hyde Park Primary,Primary,Year 4,60,58,2,2025-11-03,LS6 1AA
3832102,107002,Chapeltown Primary,Primary,Year 4,30,29,1,2025-11-03,LS7 3BB
3832103,107003,Headingley Primary,Primary,Year 4,60,60,0,2025-11-03,LS6 2DA
3832104,107004,Kirkstall Primary,Primary,Year 5,30,27,3,2025-11-03,LS5 3DD
3842105,108005,Wakefield Primary,Primary,Year 4,30,20,10,2025-11-03,WF1 2EE
3832106,107006,Harehills Primary,Primary,4,30,25,,2025-11-03,LS8 4FF
3832107,107007,Broken Primary,Primary,Year 19,30,25,5,2025-11-03,LS8 4FF
"""
OLDER = """LAESTAB,Year group,Capacity,On roll,Vacancies,As of date,Postcode
3832103,Y4,60,50,10,2025-10-01,LS6 2DA
"""
PROVIDERS = """Provider ID,Name,Type,Places,Places available,Ages,SEND suitable,Postcode
AP-1,Northside Learning Centre,AP,24,4,11-16,Y,LS7 2AB
TU-1,Bright Tuition,Tuition,10,3,5-16,N,LS6 4AB
TU-2,Far Tuition,Tuition,10,3,5-16,Y,WF9 4AB
"""


def _located_case(uows: UnitOfWorkFactory, n: int, dob: dt.date, postcode: str) -> str:
    payload = child(n, dob, random.Random(n), postcode=postcode)
    event = deletion_to_school(payload, "3832001", "3832002", dt.date(2025, 11, 3), dt.date(2025, 11, 3))
    event.update(deletion_ground="9(1)(g)", new_school_laestab=None, new_school_start_date=None)
    outcome = record_notification(uows(), event, None, local_la=LA)
    assert outcome.case_id
    move = act_on_case(uows(), outcome.case_id, Trigger(TriggerKind.LOCATE_LOCAL, dt.date(2025, 11, 6),
                                                        "officer:1", "home visit: living at the address"),
                       actor="officer:1")
    assert move.to_status is CaseStatus.LOCATED_LOCAL
    return outcome.case_id


def test_a_located_child_is_proposed_the_nearest_schools_with_a_vacancy(postgres_url: str, tmp_path: Path) -> None:
    (tmp_path / "vacancies.csv").write_text(VACANCIES)
    (tmp_path / "older.csv").write_text(OLDER)
    (tmp_path / "providers.csv").write_text(PROVIDERS)
    ingest = CliRunner().invoke(places_app, ["ingest", str(tmp_path / "vacancies.csv"), str(tmp_path / "older.csv"),
                                             str(tmp_path / "providers.csv"), "--database-url", postgres_url])
    assert ingest.exit_code == 1  # one row quarantined
    said = " ".join(ingest.stdout.split())
    assert "11 record(s): 10 event(s), 1 quarantined" in said and "9 applied, 1 older than held" in said
    assert "Year 19" in ingest.stderr
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    try:
        # Born 2017-05-05: Year 4 in 2025/26; lives in LS6.
        case_id = _located_case(uows, 1, dt.date(2017, 5, 5), "LS6 3XY")
        proposal = proposals_for_case(uows, case_id, on=dt.date(2025, 11, 10))
        assert proposal.year_group == "Y4" and proposal.any
        names = [s.name for s in proposal.schools]
        assert names == ["Hyde Park Primary", "Chapeltown Primary", "Harehills Primary"]  # nearest first
        assert all(s.detail == "Y4" and s.free_places > 0 for s in proposal.schools)
        distances = [s.distance_km for s in proposal.schools]
        assert distances == sorted(distances) and distances[-1] <= proposal.max_km
        assert [p.name for p in proposal.providers] == ["Bright Tuition"]  # age 8: not the 11-16 centre
        assert proposal.message.startswith("3 school(s) with a Y4 vacancy within 8 km of LS6, nearest Hyde Park")

        # A Year 9 child: no Year 9 vacancy anywhere in range, and it says so.
        older = _located_case(uows, 2, dt.date(2012, 3, 3), "LS7 1AB")
        none = proposals_for_case(uows, older, on=dt.date(2025, 11, 10))
        assert none.year_group == "Y9" and none.schools == []
        assert none.message.startswith("no vacancy in range: no school has a Y9 vacancy within 8 km of LS7")
        assert [p.name for p in none.providers] == ["Northside Learning Centre", "Bright Tuition"]
    finally:
        uows.dispose()
    shown = CliRunner().invoke(places_app, ["propose", "--year-group", "Y4", "--postcode", "LS6 3XY",
                                            "--database-url", postgres_url, "--json"])
    assert shown.exit_code == 0 and '"name": "Hyde Park Primary"' in shown.stdout


def test_places_events_recorded_by_the_matcher_reach_the_picture(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    try:
        parsed = parse_vacancies(VACANCIES.encode(), "v.csv", ParseContext(today=dt.date(2025, 11, 14)))
        for event in parsed.events:  # what the matching stream does with an event about no child
            assert record_notification(uows(), event, None, local_la=LA).child_id is None
    finally:
        uows.dispose()
    synced = CliRunner().invoke(places_app, ["sync", "--database-url", postgres_url])
    assert synced.exit_code == 0 and '"applied": 6' in synced.stdout
    shown = CliRunner().invoke(places_app, ["propose", "--year-group", "Y4", "--postcode", "LS6 3XY",
                                            "--database-url", postgres_url, "--json"])
    assert shown.exit_code == 0 and '"name": "Hyde Park Primary"' in shown.stdout

"""Vacancy and provider CSVs: every row an event or quarantined with reasons and original bytes."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.common.parsing import ParseContext
from connectors.places.csv_files import parse_places_file, parse_providers, parse_vacancies, year_group
from schemas.events import validate

CTX = ParseContext(default_la="383", today=dt.date(2025, 11, 14))

VACANCIES = (
    "LAESTAB,URN,School name,Phase,Year group,Capacity,On roll,Vacancies,As of date,Postcode\n"
    "383/2001,100001,Alpha Primary,Primary,Reception,60,58,2,2025-11-01,ls6 1aa\n"
    "3832002,100002,Beta Primary,Primary,Year 4,30,25,,2025-11-01,LS7 2AB\n"
    "3832003,,Gamma,Primary,Year 15,x,1,,2025-11-01,\n"
    "9992004,,Delta,Primary,Y3,30,31,-1,2030-01-01,NOTAPOSTCODE\n"
    "\n"
)


def test_vacancy_rows_become_events_or_quarantine_with_every_reason() -> None:
    result = parse_vacancies(VACANCIES.encode(), "vacancies.csv", CTX)
    assert result.records == 4 and result.balanced()
    first, second = result.events
    assert (first["school_laestab"], first["year_group"], first["vacancies"], first["postcode"]) == (
        "3832001", "R", 2, "LS6 1AA")
    assert second["vacancies"] == 5  # worked out from capacity and on roll
    assert all(validate(e) == [] for e in result.events)
    assert first["event_type"] == "places.school_vacancies" and first["child"] is None
    bad_year, bad_all = result.quarantined
    assert bad_year.position == "line 4" and bad_year.original.startswith(b"3832003,")
    assert bad_year.reasons == [
        "year group 'Year 15': not R or Year 1 to 13",
        "capacity 'x': not a whole number",
        "vacancies: missing, and capacity or on roll is missing to work it out",
    ]
    assert "LAESTAB 9992004: 999 is not an LA number" in bad_all.reasons
    assert "vacancies -1: cannot be negative" in bad_all.reasons
    assert "as-of date '2030-01-01': in the future" in bad_all.reasons
    assert "postcode 'NOTAPOSTCODE': not a UK postcode shape" in bad_all.reasons


def test_a_file_without_the_needed_columns_is_quarantined_whole() -> None:
    result = parse_vacancies(b"LAESTAB,Name\n3832001,Alpha\n", "v.csv", CTX)
    assert result.events == [] and result.records == 1 and result.balanced()
    (whole,) = result.quarantined
    assert whole.position == "whole file" and "no column for year_group, capacity" in whole.reasons[0]
    assert whole.original == b"LAESTAB,Name\n3832001,Alpha\n"


def test_providers_and_the_header_tells_the_kind() -> None:
    data = (b"Name,Type,Places,Places available,Ages,SEND suitable,Postcode\n"
            b"Bright Tuition,Tuition,10,3,5-16,Y,LS7 2AB\n"
            b"Nope,AP,4,9,16-11,maybe,\n")
    result = parse_places_file(data, "providers.csv", CTX)
    assert result.format == "places-providers-csv" and result.balanced()
    (event,) = result.events
    assert (event["provider_id"], event["provider_type"], event["age_from"], event["age_to"], event["send_suitable"],
            event["as_of"]) == ("BRIGHT-TUITION", "tuition", 5, 16, True, dt.date(2025, 11, 14))
    assert validate(event) == []
    assert result.quarantined[0].reasons == [
        "places available 9: not between 0 and places 4",
        "ages 16-11: the youngest age is above the oldest",
        "SEND suitability 'maybe': not yes or no",
    ]
    assert parse_places_file(VACANCIES.encode(), "v.csv", CTX).format == "places-vacancies-csv"
    assert parse_providers(b"\xff\xfe", "p.csv", CTX).quarantined[0].position == "whole file"


@pytest.mark.parametrize(("raw", "wanted"), [
    ("Reception", "R"), ("R", "R"), ("Year 7", "Y7"), ("7", "Y7"), ("Y13", "Y13"), ("year 14", None), ("", None),
    ("Nursery", None),
])
def test_year_groups(raw: str, wanted: str | None) -> None:
    assert year_group(raw) == wanted

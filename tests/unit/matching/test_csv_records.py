from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.matching.csv_records import CsvFormatError, read_records, records_from_rows
from services.matching.features import Prepared, date_parts, parse_date


@pytest.mark.parametrize("text", ["2014-02-15", "20140215", "15/02/2014", "15-02-2014", " 2014-02-15T00:00:00 "])
def test_dates_in_every_accepted_form(text: str) -> None:
    assert parse_date(text) == date(2014, 2, 15)


def test_impossible_date_kept_as_parts_and_nonsense_dropped() -> None:
    assert parse_date("2014-15-02") is None
    assert date_parts("2014-15-02") == (2014, 15, 2)
    assert date_parts("not a date") is None
    assert date_parts("") is None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "input.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_columns_in_any_order_unknown_ignored_optional_missing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Surname,colour,ID,date_of_birth,nhs_number,postcode\n"
        "Brown,blue,a1,15/02/2014,943 476 5919,ls1 4ab\n"
        "Khan,red,a2,20120901,,\n",
    )
    first, second = read_records(path)
    assert (first.id, first.surname, first.date_of_birth, first.nhs_number) == (
        "a1",
        "Brown",
        date(2014, 2, 15),
        "943 476 5919",
    )
    assert first.addresses[0].postcode == "ls1 4ab" and first.given_name is None
    assert second.date_of_birth == date(2012, 9, 1) and second.addresses == ()


def test_invalid_identifiers_and_dates_never_crash_and_stay_as_evidence(tmp_path: Path) -> None:
    path = write(tmp_path, "id,upn,nhs_number,date_of_birth\nx,Z801200001001,12345,31/02/2014\n")
    (record,) = read_records(path)
    assert record.date_of_birth is None and record.date_of_birth_text == "31/02/2014"
    prepared = Prepared(record)
    assert prepared.upns == frozenset() and prepared.upn_invalid == {"Z801200001001"}
    assert prepared.nhs == "" and prepared.nhs_invalid == "12345"
    assert prepared.dob == (2014, 2, 31)


def test_missing_id_column_and_empty_id_are_errors_that_say_where(tmp_path: Path) -> None:
    with pytest.raises(CsvFormatError, match="no 'id' column"):
        read_records(write(tmp_path, "given_name\nOliver\n"))
    with pytest.raises(CsvFormatError, match="line 3"):
        list(records_from_rows([{"id": "a"}, {"id": " "}], "input"))


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,given_name\nr1,Oliver\n".encode())
    assert read_records(path)[0].id == "r1"

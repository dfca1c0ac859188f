"""Records from CSV: the batch command's input (``id, given_name, …, other_id``; any order)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from services.matching.features import parse_date
from services.matching.records import Address, PersonRecord

COLUMNS = (
    "id",
    "given_name",
    "middle_names",
    "surname",
    "date_of_birth",
    "sex",
    "address",
    "postcode",
    "upn",
    "nhs_number",
    "other_id",
)


class CsvFormatError(ValueError):
    """A CSV file the batch command cannot read; the message names the file and line."""


def record_from_row(row: Mapping[str, str | None]) -> PersonRecord:
    """One record from a CSV row (keys already lower-case); unparseable dates are kept as text."""

    def value(name: str) -> str | None:
        text = row.get(name)
        text = text.strip() if text else ""
        return text or None

    dob_text = value("date_of_birth")
    dob = parse_date(dob_text)
    address, postcode = value("address"), value("postcode")
    return PersonRecord(
        id=value("id") or "",
        given_name=value("given_name"),
        middle_names=value("middle_names"),
        surname=value("surname"),
        date_of_birth=dob,
        date_of_birth_text=None if dob else dob_text,
        sex=value("sex"),
        addresses=(Address(text=address, postcode=postcode),) if address or postcode else (),
        upn=value("upn"),
        nhs_number=value("nhs_number"),
        other_id=value("other_id"),
    )


def records_from_rows(rows: Iterable[Mapping[str, str | None]], source: str = "input") -> Iterator[PersonRecord]:
    """Records from parsed rows; a row without an id is an error naming its line."""
    for line, row in enumerate(rows, start=2):
        record = record_from_row({(k or "").strip().lower(): v for k, v in row.items()})
        if not record.id:
            raise CsvFormatError(f"{source} line {line}: the 'id' column is empty")
        yield record


def read_records(path: str | Path) -> list[PersonRecord]:
    """Every record of a CSV file with a header row."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [(h or "").strip().lower() for h in reader.fieldnames or ()]
        if "id" not in header:
            raise CsvFormatError(f"{path}: no 'id' column in the header (found {', '.join(header) or 'none'})")
        return list(records_from_rows(reader, str(path)))


def write_links(path: str | Path, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """Write ``record_id, register_id, match_probability, decision`` rows."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("record_id", "register_id", "match_probability", "decision"))
        writer.writerows(rows)

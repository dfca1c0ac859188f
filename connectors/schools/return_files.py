"""Reading school returns off the wire: CSV rows and JSON objects into one flat form.

No national wire format exists, so the hub accepts its own published shapes:

* CSV with a header row, columns in any order, names case-insensitive (``deletion_return.csv``
  is the reference; aliases such as ``date_of_birth`` for ``dob`` are accepted). The return type
  comes from a ``return_type`` column or from the columns present (``ground`` → deletion,
  ``admission_date`` → admission, ``first_absence_date`` → absence referral).
* JSON: one return object, a list of them or ``{"returns": [...]}``, shaped like
  ``deletion_return.json`` (``school``, ``pupil``, and ``deletion`` / ``admission`` / ``absence``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.common import identifiers as ids
from connectors.common.canonical import AddressInput, ContactInput, clean
from connectors.common.parsing import list_at, obj_at, text_of
from connectors.common.problems import Problem, UnreadableInput

DELETION, ADMISSION, ABSENCE = "deletion", "admission", "absence_referral"

# CSV header aliases: every accepted spelling → the hub's column name.
_ALIASES: dict[str, tuple[str, ...]] = {
    "laestab": ("school_laestab", "dfe_number", "lea_estab"),
    "forename": ("given_name", "first_name", "legal_forename"),
    "surname": ("family_name", "last_name", "legal_surname"),
    "dob": ("date_of_birth", "birth_date"),
    "sex": ("gender",),
    "postcode": ("post_code",),
    "ground": ("deletion_ground", "reg9_ground", "reason_code"),
    "deleted_on": ("deletion_date", "date_of_deletion", "date_deleted"),
    "admission_date": ("admitted_on", "start_date", "date_of_admission"),
    "first_absence_date": ("absent_from", "first_day_absent"),
    "school_days_absent": ("days_absent",),
    "last_attended": ("last_attended_date", "date_last_attended"),
    "new_school_start": ("new_school_start_date",),
    "ground_text": ("deletion_ground_text",),
}
_CANONICAL = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}


@dataclass(slots=True)
class SchoolReturn:
    """One return in the hub's flat form, whatever the wire format it came in."""

    values: dict[str, Any]
    original: bytes
    position: str
    parents: list[ContactInput] = field(default_factory=list)
    new_address: AddressInput | None = None


def _col(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _CANONICAL.get(key, key)


def return_type_of(values: dict[str, Any]) -> str | None:
    """Which return a flat record is: from ``return_type`` or from the fields it carries."""
    declared = (text_of(values.get("return_type")) or "").strip().lower().replace("-", "_")
    if declared in ("deletion", "deletion_return"):
        return DELETION
    if declared in ("admission", "admission_return", "new_pupil", "new_pupil_return"):
        return ADMISSION
    if declared in ("absence", "absence_referral", "10_day_absence", "ten_day_absence"):
        return ABSENCE
    if declared:
        return None
    if "ground" in values or "deleted_on" in values:
        return DELETION
    if "admission_date" in values:
        return ADMISSION
    if "first_absence_date" in values or "school_days_absent" in values:
        return ABSENCE
    return None


def csv_returns(text: str, file_name: str) -> Iterator[SchoolReturn | Problem]:
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        yield Problem("csv_unreadable", f"{file_name}: no header row")
        return
    columns = [_col(h) for h in header]
    consumed = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableInput(
                "csv_unreadable", f"{file_name}: CSV cannot be read after line {consumed} ({exc})"
            ) from exc
        start, consumed = consumed, reader.line_num
        original = "".join(lines[start:consumed]).encode("utf-8")
        if not any(cell.strip() for cell in row):
            continue
        position = f"line {start + 1}"
        if len(row) != len(columns):
            yield SchoolReturn({"_shape_problem": f"{len(row)} values for {len(columns)} columns"}, original, position)
            continue
        values: dict[str, Any] = {c: v for c, v in zip(columns, row, strict=True) if c}
        parents = []
        if clean(values.get("parent_name")) or clean(values.get("parent_phone")):
            phones = [p for p in re.split(r"[;|]", values.get("parent_phone") or "") if p.strip()]
            parents.append(
                ContactInput(name=values.get("parent_name"), phones=phones, has_parental_responsibility=True)
            )
        new_address = None
        if clean(values.get("new_address")):
            parts = [p.strip() for p in (values.get("new_address") or "").split(",") if p.strip()]
            postcode = values.get("new_postcode")
            if not postcode and parts and ids.normalise_postcode(parts[-1]).valid:
                postcode = parts.pop()
            new_address = AddressInput(lines=parts, postcode=postcode)
        values["address_lines"] = [values.get(f"address_line{i}") for i in range(1, 6)]
        yield SchoolReturn(values, original, position, parents, new_address)


def _json_address(obj: Any) -> AddressInput | None:
    if not isinstance(obj, dict) or obj.get("same_as_pupil"):
        return None
    return AddressInput(
        lines=[text_of(x) or "" for x in list_at(obj, "lines")],
        town=text_of(obj.get("town")),
        postcode=text_of(obj.get("postcode")),
        uprn=text_of(obj.get("uprn")),
    )


def flatten_json_return(obj: dict[str, Any]) -> tuple[dict[str, Any], list[ContactInput], AddressInput | None]:
    """A JSON return (``deletion_return.json`` shape) as the flat values the CSV also gives."""
    school = obj_at(obj, "school")
    pupil = obj_at(obj, "pupil")
    name = obj_at(pupil, "full_name")
    address = _json_address(pupil.get("address"))
    values: dict[str, Any] = {
        "return_type": obj.get("return_type"),
        "laestab": text_of(school.get("laestab")),
        "school_urn": text_of(school.get("urn")),
        "school_name": text_of(school.get("name")),
        "upn": text_of(pupil.get("upn")),
        "nhs_number": text_of(pupil.get("nhs_number")),
        "uln": text_of(pupil.get("uln")),
        "forename": text_of(name.get("forename", pupil.get("forename"))),
        "middle_names": text_of(name.get("middle_names")),
        "surname": text_of(name.get("surname", pupil.get("surname"))),
        "dob": text_of(pupil.get("date_of_birth", pupil.get("dob"))),
        "sex": text_of(pupil.get("sex")),
        "address_lines": address.lines if address else [],
        "town": address.town if address else None,
        "postcode": address.postcode if address else None,
        "uprn": address.uprn if address else None,
    }
    for block in ("deletion", "admission", "absence"):
        if isinstance(obj.get(block), dict):
            if not values["return_type"]:
                values["return_type"] = block
            for key, value in obj[block].items():
                values[_col(key)] = value
    dest = obj_at(obj, "destination_school")
    values.update(
        new_school_name=text_of(dest.get("name")),
        new_school_laestab=text_of(dest.get("laestab")),
        new_school_start=text_of(dest.get("start_date")),
    )
    flags = obj_at(obj, "flags")
    if "safeguarding_concern" in flags:
        values.setdefault("safeguarding_concern", flags.get("safeguarding_concern"))
    if "destination_unknown" in flags:
        values["destination_unknown"] = flags.get("destination_unknown")
    parents = []
    for parent in list_at(obj, "parents_normally_living_with"):
        if isinstance(parent, dict):
            phones = list_at(parent, "emergency_phones")
            parents.append(
                ContactInput(
                    name=text_of(parent.get("full_name")),
                    relationship=text_of(parent.get("relationship")),
                    phones=[text_of(p) or "" for p in phones],
                    has_parental_responsibility=True,
                )
            )
    future = obj_at(obj, "future_residence")
    new_address = _json_address(future.get("address"))
    values["new_address_from"] = text_of(future.get("from_date"))
    return values, parents, new_address


def json_returns(text: str, file_name: str) -> Iterator[SchoolReturn]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInput("json_unreadable", f"{file_name}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    items = doc.get("returns") if isinstance(doc, dict) and "returns" in doc else doc
    items = items if isinstance(items, list) else [items]
    for n, item in enumerate(items, start=1):
        original = json.dumps(item, ensure_ascii=False).encode("utf-8") if len(items) > 1 else text.encode("utf-8")
        position = f"return {n}"
        if not isinstance(item, dict):
            yield SchoolReturn({"_shape_problem": "a return should be a JSON object"}, original, position)
            continue
        values, parents, new_address = flatten_json_return(item)
        yield SchoolReturn(values, original, position, parents, new_address)

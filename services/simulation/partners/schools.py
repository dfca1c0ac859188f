"""School traffic: Common Transfer Files (incl. lost-pupil ``XXX`` files) and statutory returns (CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from services.simulation.model import Home, School
from services.simulation.partners import Record

GROUND_TEXT = {
    "9(1)(a)": "registered at another school",
    "9(1)(f)": "parent has notified in writing of education otherwise than at school",
    "9(1)(g)": "no longer lives within reasonable distance of the school",
    "9(1)(h)": "not returned within ten school days after leave of absence; enquiries failed",
    "9(1)(i)": "continually absent for 20 school days; whereabouts unknown after joint reasonable enquiries",
    "9(1)(o)": "permanently excluded",
}


def _el(tag: str, value: Any, indent: int) -> str:
    if value is None or value == "":
        return ""
    return f"{'  ' * indent}<{tag}>{escape(str(value))}</{tag}>\n"


def _address_xml(home: Home | None, indent: int) -> str:
    if home is None:
        return ""
    pad = "  " * indent
    flat = next((line for line in home.lines if line.startswith("Flat")), None)
    street_line = home.lines[-1]
    number, _, street = street_line.partition(" ")
    return (
        f"{pad}<Address>\n{pad}  <BS7666Address>\n"
        + _el("SAON", flat, indent + 2)
        + _el("PAON", number, indent + 2)
        + _el("Street", street, indent + 2)
        + _el("Town", home.town, indent + 2)
        + _el("PostTown", home.town, indent + 2)
        + _el("UniquePropertyReferenceNumber", home.uprn, indent + 2)
        + f"{pad}  </BS7666Address>\n"
        + _el("PostCode", home.postcode, indent + 1)
        + f"{pad}</Address>\n"
    )


def ctf_file_name(source: School, destination: str | School, sequence: int) -> str:
    """``LLLSSSS_CTF_DDDEEEE_NNN.xml``: source, destination (or XXXXXXX / MMMMMMM) and a sequence."""
    dest = destination.laestab if isinstance(destination, School) else destination[0] * 7
    return f"{source.laestab}_CTF_{dest}_{sequence:03d}.xml"


def ctf_xml(
    source: School, destination: str | School, sent_at: datetime, pupil: dict[str, Any], leaving: date,
    entry: date | None, year_group: int, academic_year: int, sessions: tuple[int, int, int, int],
) -> bytes:
    """A CTF 25 file for one pupil (lost-pupil files hold exactly one)."""
    if isinstance(destination, School):
        dest = f"      <LEA>{destination.la}</LEA>\n      <Estab>{destination.estab}</Estab>\n" + (
            f"      <URN>{destination.urn}</URN>\n" if destination.urn else "")
    else:
        dest = f"      <LEA>{destination[0] * 3}</LEA>\n      <Estab>{destination[0] * 4}</Estab>\n"
    dob = pupil["dob"].isoformat() if pupil["dob"] else None
    possible, attended, authorised, unauthorised = sessions
    contacts = ""
    for order, parent in enumerate(pupil["parents"], start=1):
        contacts += (
            "        <Contact>\n"
            + _el("Order", order, 5)
            + _el("Title", "Mrs" if parent.sex == "F" else "Mr", 5)
            + _el("Surname", parent.surname, 5)
            + _el("Forename", parent.given_name, 5)
            + _el("Relationship", "PAM" if parent.sex == "F" else "PAF", 5)
            + _el("Responsibility", "true", 5)
            + _el("AddressAsPupil", "true", 5)
            + "          <Phones>\n            <Phone>\n"
            + _el("TelephoneType", "M", 7)
            + _el("PhoneNo", parent.phone, 7)
            + "            </Phone>\n          </Phones>\n"
            + "        </Contact>\n"
        )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>\n'
        "    <DocumentName>Common Transfer File</DocumentName>\n    <CTFversion>25.0</CTFversion>\n"
        f"    <DateTime>{sent_at:%Y-%m-%dT%H:%M:%S}</DateTime>\n    <DocumentQualifier>full</DocumentQualifier>\n"
        "    <SupplierID>SimMIS</SupplierID>\n    <SourceSchool>\n"
        f"      <LEA>{source.la}</LEA>\n      <Estab>{source.estab}</Estab>\n      <URN>{source.urn}</URN>\n"
        + _el("SchoolName", source.name, 3)
        + f"      <AcademicYear>{academic_year}</AcademicYear>\n    </SourceSchool>\n"
        f"    <DestSchool>\n{dest}    </DestSchool>\n  </Header>\n  <CTFpupilData>\n    <Pupil>\n"
        + _el("UPN", pupil["upn"], 3)
        + _el("Surname", pupil["surname"], 3)
        + _el("Forename", pupil["given_name"], 3)
        + (_el("DOB", dob, 3) if dob else "")
        + _el("Sex", pupil["sex"], 3)
        + "      <BasicDetails>\n"
        + _el("MiddleNames", pupil["middle_names"], 4)
        + _el("NCyearActual", "R" if year_group == 0 else year_group, 4)
        + _el("Ethnicity", pupil["ethnicity"], 4)
        + _el("EnrolStatus", "C", 4)
        + "      </BasicDetails>\n"
        + _address_xml(pupil["home"], 3)
        + (f"      <Contacts>\n{contacts}      </Contacts>\n" if contacts else "")
        + "      <Attendance>\n        <YearData>\n"
        + _el("Year", academic_year, 5)
        + _el("LEA", source.la, 5)
        + _el("Estab", source.estab, 5)
        + _el("SchoolName", source.name, 5)
        + _el("SessionsPossible", possible, 5)
        + _el("SessionsAuthorised", authorised, 5)
        + _el("SessionsAttended", attended, 5)
        + _el("SessionsUnauthorised", unauthorised, 5)
        + "        </YearData>\n      </Attendance>\n      <SchoolHistory>\n        <School>\n"
        + _el("LEA", source.la, 5)
        + _el("Estab", source.estab, 5)
        + _el("SchoolName", source.name, 5)
        + _el("EntryDate", entry.isoformat() if entry else None, 5)
        + _el("LeavingDate", leaving.isoformat(), 5)
        + "        </School>\n      </SchoolHistory>\n    </Pupil>\n  </CTFpupilData>\n</CTfile>\n"
    )
    return text.encode("utf-8")


# -- statutory returns ---------------------------------------------------------------------------

CSV_COLUMNS = {
    "deletion": (
        "laestab", "upn", "forename", "middle_names", "surname", "dob", "sex", "address_line1", "address_line2",
        "postcode", "parent_name", "parent_phone", "new_address", "new_address_from", "new_school_name",
        "new_school_laestab", "new_school_start", "ground", "deleted_on", "last_attended",
        "joint_enquiries_completed", "safeguarding_concern",
    ),
    "admission": (
        "laestab", "upn", "forename", "middle_names", "surname", "dob", "sex", "address_line1", "address_line2",
        "postcode", "parent_name", "parent_phone", "admission_date", "year_group", "previous_school_laestab",
        "previous_la",
    ),
    "absence": (
        "laestab", "upn", "forename", "middle_names", "surname", "dob", "sex", "address_line1", "address_line2",
        "postcode", "parent_name", "parent_phone", "first_absence_date", "last_attended", "school_days_absent",
        "absence_codes", "enquiries_made", "safeguarding_concern",
    ),
}  # fmt: skip

ENQUIRIES = "phoned all contacts;home visit;checked siblings' schools;letter sent"


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _bool(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def flat_return(kind: str, school: School, pupil: dict[str, Any], details: dict[str, Any]) -> dict[str, str]:
    """One return as the flat columns of the CSV form."""
    home = pupil["home"]
    parent = pupil["parents"][0] if pupil["parents"] else None
    row = {
        "laestab": school.laestab,
        "upn": pupil["upn"] or "",
        "forename": pupil["given_name"] or "",
        "middle_names": pupil["middle_names"] or "",
        "surname": pupil["surname"] or "",
        "dob": _iso(pupil["dob"]),
        "sex": pupil["sex"],
        "address_line1": ", ".join(home.lines) if home else "",
        "address_line2": home.town if home else "",
        "postcode": home.postcode if home else "",
        "parent_name": f"{parent.given_name} {parent.surname}" if parent else "",
        "parent_phone": parent.phone if parent else "",
    }
    if kind == "deletion":
        new_school = details.get("new_school")
        new_home = details.get("new_address")
        row.update(
            new_address=f"{', '.join(new_home.lines)}, {new_home.town}, {new_home.postcode}" if new_home else "",
            new_address_from=_iso(details.get("new_address_from")),
            new_school_name=new_school.name if new_school else "",
            new_school_laestab=new_school.laestab if new_school else "",
            new_school_start=_iso(details.get("new_school_start")),
            ground=details["ground"],
            deleted_on=_iso(details["deleted_on"]),
            last_attended=_iso(details.get("last_attended")),
            joint_enquiries_completed=_bool(details.get("joint_enquiries")),
            safeguarding_concern=_bool(bool(details.get("safeguarding"))),
        )
    elif kind == "admission":
        previous = details.get("previous")
        row.update(
            admission_date=_iso(details["admission_date"]),
            year_group=str(details["year_group"]),
            previous_school_laestab=previous.laestab if previous else "",
            previous_la=details.get("previous_la") or "",
        )
    else:
        row.update(
            first_absence_date=_iso(details["first_absence"]),
            last_attended=_iso(details.get("last_attended")),
            school_days_absent=str(details["days"]),
            absence_codes=details["codes"],
            enquiries_made=ENQUIRIES,
            safeguarding_concern=_bool(bool(details.get("safeguarding"))),
        )
    return row


def returns_csv(kind: str, rows: list[dict[str, str]]) -> bytes:
    """Returns of one kind as CSV with a header row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS[kind], lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def json_return(
    kind: str, school: School, pupil: dict[str, Any], details: dict[str, Any], sent: datetime
) -> dict[str, Any]:
    """One return in the hub's JSON shape (``deletion_return.json``)."""
    flat = flat_return(kind, school, pupil, details)
    home = pupil["home"]
    doc: dict[str, Any] = {
        "return_type": {"absence": "absence_referral"}.get(kind, kind),
        "school": {"laestab": school.laestab, "urn": school.urn, "name": school.name},
        "submitted_at": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pupil": {
            "upn": pupil["upn"],
            "full_name": {"forename": pupil["given_name"], "middle_names": pupil["middle_names"],
                          "surname": pupil["surname"]},
            "date_of_birth": flat["dob"] or None,
            "sex": pupil["sex"],
            "address": {"lines": [*list(home.lines), home.town], "postcode": home.postcode} if home else None,
        },
        "parents_normally_living_with": [
            {"full_name": f"{p.given_name} {p.surname}", "address": {"same_as_pupil": True},
             "emergency_phones": [p.phone]}
            for p in pupil["parents"]
        ],
    }
    if kind == "deletion":
        new_home = details.get("new_address")
        new_school = details.get("new_school")
        doc["future_residence"] = {
            "address": {"lines": [*list(new_home.lines), new_home.town], "postcode": new_home.postcode}
            if new_home else None,
            "from_date": flat["new_address_from"] or None,
        }
        doc["destination_school"] = {
            "name": new_school.name if new_school else None,
            "laestab": new_school.laestab if new_school else None,
            "start_date": flat["new_school_start"] or None,
        }
        doc["deletion"] = {
            "ground": flat["ground"],
            "ground_text": GROUND_TEXT.get(flat["ground"]),
            "deleted_on": flat["deleted_on"],
            "last_attended": flat["last_attended"] or None,
            "joint_enquiries_completed": details.get("joint_enquiries"),
            "safeguarding_concern": bool(details.get("safeguarding")),
        }
    elif kind == "admission":
        doc["admission"] = {
            "admission_date": flat["admission_date"],
            "year_group": flat["year_group"],
            "previous_school_laestab": flat["previous_school_laestab"] or None,
            "previous_la": flat["previous_la"] or None,
        }
    else:
        doc["absence"] = {
            "first_absence_date": flat["first_absence_date"],
            "last_attended": flat["last_attended"] or None,
            "school_days_absent": int(flat["school_days_absent"]),
            "absence_codes": flat["absence_codes"].split(";"),
            "enquiries_made": ENQUIRIES.split(";"),
            "safeguarding_concern": bool(details.get("safeguarding")),
        }
    return doc


def returns_json(docs: list[dict[str, Any]]) -> bytes:
    """Returns as one JSON document (``{"returns": [...]}``)."""
    return (json.dumps({"returns": docs}, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def records_positions(kind: str, fmt: str, records: list[Record]) -> None:
    """Number records as the connector names their positions (CSV lines from 2, JSON returns from 1)."""
    for n, record in enumerate(records, start=1):
        record.position = f"line {n + 1}" if fmt == "returns-csv" else f"return {n}"

"""Outgoing lost-pupil CTFs (``XXX``/``XXXX``, one pupil per file) for children whose whereabouts stay unknown.

The files are for the DfE Lost Pupils Database (upload through S2S by the LA's named S2S
administrator). They carry the minimum demographic set and the child's last school; they must
read back through the project's own CTF connector (``connectors.schools.ctf``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, indent, tostring

import sqlalchemy as sa

from services.register.model import Case, CaseStatus, Child, IdentifierScheme
from services.register.orm import CaseRow, ChildRow
from services.register.unit_of_work import UnitOfWorkFactory

# Cases whose enquiries have failed: the child is not found, escalated, or already on the LPD (re-sent).
WHEREABOUTS_UNKNOWN = (CaseStatus.NOT_FOUND, CaseStatus.ESCALATED, CaseStatus.LOST_PUPIL)


class CannotWriteCtf(ValueError):
    """A lost-pupil CTF cannot be written for this child; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class LostPupilFile:
    """One generated file (the bytes hold personal data: write them only where S2S uploads are prepared)."""

    file_name: str
    data: bytes
    case_id: str
    child_id: str


def ctf_version(on: dt.date) -> str:
    """The CTF version in use on a date (a new one each September: 25.0 from Sep 2025)."""
    return f"{(on.year if on.month >= 9 else on.year - 1) - 2000}.0"


def _sub(parent: Element, tag: str, value: str | None) -> None:
    if value:
        SubElement(parent, tag).text = value


def lost_pupil_ctf(
    child: Child, case: Case, *, la: str, sequence: int = 1, sent_at: dt.datetime | None = None,
    supplier: str = "CMEHub",
) -> LostPupilFile:
    """The lost-pupil CTF of one child: source is the last school (or the LA, ``LLLL``), destination XXX/XXXX."""
    ident = child.identity
    if ident is None or not ident.surname or not ident.given_name or ident.date_of_birth is None:
        raise CannotWriteCtf(f"child {child.id}: a CTF needs surname, forename and date of birth")
    sent_at = sent_at or dt.datetime.now(dt.UTC)
    school = case.last_school if case.last_school and case.last_school.startswith(la) else None
    lea, estab = (school[:3], school[3:]) if school else (la, "LLLL")
    root = Element("CTfile")
    header = SubElement(root, "Header")
    _sub(header, "DocumentName", "Common Transfer File")
    _sub(header, "CTFversion", ctf_version(sent_at.date()))
    _sub(header, "DateTime", sent_at.strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(header, "DocumentQualifier", "partial")
    _sub(header, "DataDescriptor", "lost pupil: whereabouts unknown after enquiries")
    _sub(header, "SupplierID", supplier)
    source = SubElement(header, "SourceSchool")
    _sub(source, "LEA", lea)
    _sub(source, "Estab", estab)
    _sub(source, "AcademicYear", str(sent_at.year if sent_at.month >= 9 else sent_at.year - 1))
    dest = SubElement(header, "DestSchool")
    _sub(dest, "LEA", "XXX")
    _sub(dest, "Estab", "XXXX")
    pupil = SubElement(SubElement(root, "CTFpupilData"), "Pupil")
    upns = sorted(i.value for i in child.identifiers if i.scheme is IdentifierScheme.UPN)
    _sub(pupil, "UPN", upns[-1] if upns else None)
    _sub(pupil, "Surname", ident.surname)
    _sub(pupil, "Forename", ident.given_name)
    _sub(pupil, "DOB", ident.date_of_birth.isoformat())
    _sub(pupil, "Sex", ident.sex if ident.sex in ("M", "F") else None)
    former = [s for s in ident.former_surnames if s and s != ident.surname]
    if ident.middle_names or former:
        basic = SubElement(pupil, "BasicDetails")
        _sub(basic, "FormerSurname", former[-1] if former else None)
        _sub(basic, "MiddleNames", ident.middle_names)
    last = next((a for a in reversed(child.addresses) if a.postcode or a.lines), None)
    if last is not None and not child.restricted:
        address = SubElement(pupil, "Address")
        lines = SubElement(address, "AddressLines")
        for i, line in enumerate([*last.lines, *([last.town] if last.town else [])][:5], start=1):
            _sub(lines, f"AddressLine{i}", line)
        _sub(address, "PostCode", last.postcode)
    if school:
        history = SubElement(SubElement(pupil, "SchoolHistory"), "School")
        _sub(history, "LEA", lea)
        _sub(history, "Estab", estab)
        _sub(history, "LeavingDate", (case.date_last_seen or case.referred_on).isoformat())
    indent(root)
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8") + b"\n"
    return LostPupilFile(f"{lea}{estab}_CTF_XXXXXXX_{sequence:03d}.xml", data, case.id, child.id)


def lost_pupil_candidates(uows: UnitOfWorkFactory, la: str) -> list[tuple[Child, Case]]:
    """Children of this authority with an open case whose whereabouts stay unknown after enquiries."""
    statuses = [s.value for s in WHEREABOUTS_UNKNOWN]
    out: list[tuple[Child, Case]] = []
    with uows() as uow:
        session = uow.session
        assert session is not None
        case_ids = session.scalars(
            sa.select(CaseRow.id).join(ChildRow, ChildRow.id == CaseRow.child_id)
            .where(CaseRow.status.in_(statuses), ChildRow.la_code == la).order_by(CaseRow.referred_on, CaseRow.id)
        ).all()
        for case_id in case_ids:
            case = uow.register.get_case(case_id)
            child = uow.register.get_child(case.child_id) if case else None
            if case is not None and child is not None:
                out.append((child, case))
    return out


def write_lost_pupil_ctfs(
    uows: UnitOfWorkFactory, la: str, out_dir: Path, *, sent_at: dt.datetime | None = None
) -> tuple[list[Path], list[str]]:
    """One file per child whose whereabouts stay unknown; returns the files and what could not be written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    refused: list[str] = []
    used = {p.name for p in out_dir.glob("*.xml")}
    for child, case in lost_pupil_candidates(uows, la):
        try:
            sequence = 1
            made = lost_pupil_ctf(child, case, la=la, sequence=sequence, sent_at=sent_at)
            while made.file_name in used:  # one pupil per file: number the files of one source apart
                sequence += 1
                made = lost_pupil_ctf(child, case, la=la, sequence=sequence, sent_at=sent_at)
        except CannotWriteCtf as exc:
            refused.append(str(exc))
            continue
        used.add(made.file_name)
        target = out_dir / made.file_name
        target.write_bytes(made.data)
        written.append(target)
    return written, refused

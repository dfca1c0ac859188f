"""DfE Common Transfer File (CTF) XML: one ``school.ctf_transfer`` event per pupil.

Accepts any ``NN.0`` version, ``<Sex>`` or the older ``<Gender>``, BS7666 or plain address lines,
and classifies the destination: a known school, unknown (``XXX``/``XXXX``, a "lost pupil" file that
must hold exactly one pupil) or outside the maintained sector (``MMM``/``MMMM``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, tostring

from connectors.common import identifiers as ids
from connectors.common.canonical import AddressInput, ChildInput, ContactInput, build_child, make_event
from connectors.common.parsing import ParseContext, at_midnight, dob_problems, parse_date, parse_datetime, whole_file
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined
from connectors.common.xml import element_slices, find_all, parse_xml, text, texts

FORMAT = "ctf"
KIND = "school"
_FILE_NAME = re.compile(r"^(\d{3}[0-9A-Z]{4})_CTF_([0-9A-Z]{7})_(\d{3})\.xml$", re.I)


@dataclass(frozen=True, slots=True)
class CtfHeader:
    """What the CTF header says about the transfer."""

    version: str
    sent_at: str | None
    document_qualifier: str | None
    source_la: str
    source_estab: str
    source_school_name: str | None
    destination_kind: str
    destination_la: str | None
    destination_estab: str | None


def _destination(lea: str | None, estab: str | None) -> tuple[str, list[str]]:
    if lea == "XXX" and estab == "XXXX":
        return "unknown", []
    if lea == "MMM" and estab == "MMMM":
        return "outside_maintained_sector", []
    problems = []
    if not (lea and re.fullmatch(r"\d{3}", lea) and ids.is_la_code(lea)):
        problems.append(f"DestSchool LEA '{lea or ''}': not an LA number, XXX (unknown) or MMM (outside sector)")
    if not (estab and re.fullmatch(r"\d{4}", estab)):
        problems.append(f"DestSchool Estab '{estab or ''}': not 4 digits, XXXX or MMMM")
    return "school", problems


def read_header(root: Element, file_name: str) -> tuple[CtfHeader | None, list[str], list[str]]:
    """The header, the reasons the whole file cannot be trusted, and file-level warnings."""
    problems: list[str] = []
    warnings: list[str] = []
    if root.tag != "CTfile":
        return None, [f"{file_name}: root element is <{root.tag}>, not <CTfile>"], []
    header = root.find("Header")
    if header is None:
        return None, [f"{file_name}: no <Header>"], []
    doc_name = text(header, "DocumentName")
    if doc_name != "Common Transfer File":
        problems.append(f"DocumentName '{doc_name or ''}': should be 'Common Transfer File'")
    version = text(header, "CTFversion") or ""
    if not re.fullmatch(r"\d{2}\.0", version):
        problems.append(f"CTFversion '{version}': should be NN.0, e.g. 25.0")
    src_lea, src_estab = text(header, "SourceSchool/LEA"), text(header, "SourceSchool/Estab")
    if not (src_lea and re.fullmatch(r"\d{3}", src_lea) and ids.is_la_code(src_lea)):
        problems.append(f"SourceSchool LEA '{src_lea or ''}': not an LA number")
    # LLLL stands in for the estab when the LA itself sends the file.
    if not (src_estab and (re.fullmatch(r"\d{4}", src_estab) or src_estab == "LLLL")):
        problems.append(f"SourceSchool Estab '{src_estab or ''}': should be 4 digits (or LLLL when an LA sends)")
    dest_lea, dest_estab = text(header, "DestSchool/LEA"), text(header, "DestSchool/Estab")
    dest_kind, dest_problems = _destination(dest_lea, dest_estab)
    problems.extend(dest_problems)
    sent_at = text(header, "DateTime")
    if sent_at and parse_datetime(sent_at, "DateTime")[1]:
        problems.append(f"Header DateTime '{sent_at}': not an ISO-8601 date-time")
    if problems:
        return None, problems, []
    assert src_lea and src_estab  # checked above
    m = _FILE_NAME.match(file_name.rsplit("/", 1)[-1])
    if m:
        expected_dest = {"unknown": "XXXXXXX", "outside_maintained_sector": "MMMMMMM"}.get(
            dest_kind, f"{dest_lea}{dest_estab}"
        )
        if m.group(1).upper() != f"{src_lea}{src_estab}".upper():
            warnings.append(f"file name source {m.group(1)} does not match header SourceSchool {src_lea}{src_estab}")
        if m.group(2).upper() != expected_dest:
            warnings.append(f"file name destination {m.group(2)} does not match header DestSchool {expected_dest}")
    return (
        CtfHeader(
            version=version,
            sent_at=sent_at,
            document_qualifier=text(header, "DocumentQualifier"),
            source_la=src_lea,
            source_estab=src_estab,
            source_school_name=text(header, "SourceSchool/SchoolName"),
            destination_kind=dest_kind,
            destination_la=dest_lea if dest_kind == "school" else None,
            destination_estab=dest_estab if dest_kind == "school" else None,
        ),
        [],
        warnings,
    )


def _address(pupil: Element) -> list[AddressInput]:
    addr = pupil.find("Address")
    if addr is None:
        return []
    a = texts(addr)
    bs_el = addr.find("BS7666Address")
    if bs_el is not None:
        bs = texts(bs_el)
        paon_street = _joined(bs.get("PAON"), bs.get("Street"))
        lines = [x for x in (bs.get("SAON"), paon_street, bs.get("Locality")) if x]
        town = bs.get("PostTown") or bs.get("Town")
        uprn = bs.get("UniquePropertyReferenceNumber")
    else:
        al = texts(addr.find("AddressLines"))
        lines = [x for i in range(1, 6) if (x := al.get(f"AddressLine{i}"))]
        town, uprn = None, None
    return [AddressInput(lines=lines, town=town, postcode=a.get("PostCode"), uprn=uprn, kind="home")]


def _joined(first: str | None, second: str | None) -> str | None:
    """Two optional texts joined by a space (either alone when the other is missing)."""
    if first and second:
        return f"{first} {second}"
    return first or second


_RESPONSIBILITY = {"true": True, "1": True, "false": False, "0": False}


def _contacts(pupil: Element) -> list[ContactInput]:
    contacts = []
    for c in find_all(pupil, "Contacts/Contact"):
        f = texts(c)
        contacts.append(
            ContactInput(
                _joined(f.get("Forename"), f.get("Surname")),
                f.get("Relationship"),
                [p for ph in find_all(c, "Phones/Phone") if (p := text(ph, "PhoneNo"))],
                _RESPONSIBILITY.get(f.get("Responsibility", "").lower()),
            )
        )
    return contacts


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def read_pupil(
    pupil: Element, header: CtfHeader, ctx: ParseContext
) -> tuple[ChildInput, dict[str, Any], list[Problem], list[Problem]]:
    """A pupil's identity and event fields, the reasons to quarantine it, and its warnings."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    f = texts(pupil)
    basic = texts(pupil.find("BasicDetails"))
    surname, forename = f.get("Surname"), f.get("Forename")
    if not surname:
        problems.append(Problem("missing_name", "Surname missing"))
    if not forename:
        problems.append(Problem("missing_name", "Forename missing"))
    dob_raw = f.get("DOB")
    dob, dob_errs = parse_date(dob_raw, "DOB")
    problems.extend(dob_errs)
    if dob_raw is None:
        problems.append(Problem("missing_dob", "DOB missing"))
    elif dob is not None:
        problems.extend(dob_problems(dob, ctx.as_of, "DOB"))
    sex = f.get("Sex") or f.get("Gender")
    if sex not in ("M", "F"):
        warnings.append(Problem("unknown_sex", f"Sex '{sex or ''}': not M or F, recorded as unknown"))
    upn = f.get("UPN")
    if not upn:
        warnings.append(Problem("missing_upn", "UPN missing"))
    sen = [s for s in (text(x, "SENprovision") for x in find_all(pupil, "SENhistory/SEN")) if s]
    in_care = (text(pupil, "LookedAfter/InCare") or "").lower() in ("true", "1")
    former_surname = basic.get("FormerSurname")
    child = ChildInput(
        given_name=forename,
        middle_names=basic.get("MiddleNames"),
        surname=surname,
        former_surnames=[former_surname] if former_surname and former_surname != surname else [],
        date_of_birth=dob,
        sex=sex if sex in ("M", "F") else "U",
        upn=upn,
        former_upn=basic.get("FormerUPN"),
        uln=f.get("UniqueLearnerNumber"),
        addresses=_address(pupil),
        contacts=_contacts(pupil),
        looked_after=in_care,
        sen_support=bool(sen) and sen[-1] == "K",
        ehcp=bool(sen) and sen[-1] == "E",
    )
    leaving_dates = []
    for school in find_all(pupil, "SchoolHistory/School"):
        left, errs = parse_date(text(school, "LeavingDate"), "SchoolHistory LeavingDate")
        warnings.extend(errs)
        if left:
            leaving_dates.append(left)
    years = find_all(pupil, "Attendance/YearData")
    if len(years) > 1:
        years = [max(years, key=lambda y: text(y, "Year") or "")]
    latest = texts(years[0]) if years else {}
    possible = _int(latest.get("SessionsPossible"))
    attended = _int(latest.get("SessionsAttended"))
    if possible is not None:
        counted = sum(
            _int(latest.get(t)) or 0 for t in ("SessionsAttended", "SessionsAuthorised", "SessionsUnauthorised")
        )
        if counted > possible:
            warnings.append(
                Problem("attendance_sum", f"Attendance: {counted} sessions recorded but only {possible} possible")
            )
    fields = {
        "ctf_version": header.version,
        "source_la": header.source_la,
        "source_estab": header.source_estab,
        "source_school_name": header.source_school_name,
        "destination_kind": header.destination_kind,
        "destination_la": header.destination_la,
        "destination_estab": header.destination_estab,
        "document_qualifier": header.document_qualifier,
        "leaving_date": max(leaving_dates) if leaving_dates else None,
        "sessions_possible": possible,
        "sessions_attended": attended,
    }
    return child, fields, problems, warnings


def _version_warning(version: str, ctx: ParseContext) -> Problem | None:
    """A warning for a CTF version older than the current and previous ones (new ones come each September)."""
    day = ctx.as_of
    current = day.year - 2000 if day.month >= 9 else day.year - 2001
    number = int(version.split(".")[0])
    if number >= current - 1:
        return None
    return Problem(
        "old_ctf_version",
        f"CTFversion {version}: older than the current ({current}.0) and previous ({current - 1}.0) versions",
    )


def _dedupe_keys(child: dict[str, Any]) -> list[tuple[object, ...]]:
    """Keys that make two pupils of one file the same child: the UPN, then name, birth date and postcode."""
    keys: list[tuple[object, ...]] = []
    if child["upn"]:
        keys.append(("UPN", child["upn"]))
    postcode = child["addresses"][0]["postcode"] if child["addresses"] else None
    keys.append(
        ("name, date of birth and postcode", child["surname"], child["given_name"], child["date_of_birth"], postcode)
    )
    return keys


def parse_ctf(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """Parse a CTF file into ``school.ctf_transfer`` events and quarantined pupils."""
    ctx = ctx or ParseContext()
    try:
        root = parse_xml(data, file_name)
    except UnreadableInput as exc:
        return whole_file(FORMAT, file_name, data, "unknown-school", KIND, exc.problem)
    header, header_problems, file_warnings = read_header(root, file_name)
    file_problems = [Problem("file_name", w) for w in file_warnings]
    if header is not None and (version_warning := _version_warning(header.version, ctx)):
        file_problems.append(version_warning)
    pupils = find_all(root, "CTFpupilData/Pupil")
    if header is not None and header.destination_kind == "unknown" and len(pupils) != 1:
        header_problems.append(
            f"lost-pupil CTF (destination XXX/XXXX) must hold exactly one pupil, found {len(pupils)}"
        )
    if header is None or header_problems:
        src = text(root, "Header/SourceSchool/LEA")
        partner = f"{src or ''}{text(root, 'Header/SourceSchool/Estab') or ''}" or "unknown-school"
        result = ParseResult(file_name=file_name, format=FORMAT, records=1)
        result.quarantined.append(
            Quarantined(
                partner,
                KIND,
                file_name,
                "whole file",
                [Problem("ctf_header", p) for p in header_problems],
                data,
                src if src and ids.is_la_code(src) else None,
            )
        )
        return result
    partner_id = f"{header.source_la}{header.source_estab}"
    sent_at, _ = parse_datetime(header.sent_at, "DateTime")
    slices: list[bytes] | None = None  # each pupil's original bytes, found when one is first quarantined
    result = ParseResult(file_name=file_name, format=FORMAT, records=len(pupils))
    base = file_name.rsplit("/", 1)[-1]
    seen: dict[tuple[object, ...], str] = {}  # dedupe key → first position
    for n, pupil in enumerate(pupils, start=1):
        position = f"pupil {n}"
        child_in, fields, problems, warnings = read_pupil(pupil, header, ctx)
        warnings = file_problems + warnings
        child, id_warnings = build_child(child_in)
        if problems:
            reasons = problems + warnings + id_warnings  # every reason found, not only the first
            if slices is None:
                slices = element_slices(data, "Pupil")
            original = slices[n - 1] if len(slices) == len(pupils) else tostring(pupil, encoding="utf-8")
            result.quarantined.append(
                Quarantined(partner_id, KIND, file_name, position, reasons, original, header.source_la)
            )
            continue
        keys = _dedupe_keys(child)
        for key in keys:
            if key in seen:
                warnings.append(Problem("duplicate_pupil", f"{position} repeats {seen[key]} ({key[0]} matches)"))
                break
        for key in keys:
            seen.setdefault(key, position)
        leaving = fields["leaving_date"]
        occurred = at_midnight(leaving) if leaving else (sent_at or ctx.received_at)
        event = make_event(
            event_type="school.ctf_transfer",
            partner_id=partner_id,
            kind=KIND,
            reference=f"{base}#{position}",
            responsible_la=header.source_la,
            occurred_at=occurred,
            received_at=ctx.received_at,
            child=child,
            fields={"file_name": base, **fields},
        )
        result.add_event(event, warnings + id_warnings)
    return result

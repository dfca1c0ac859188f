"""UN/EDIFACT PAXLST passenger lists: arrivals and departures of school-age children.

Checks the envelope (UNB/UNZ, optional UNG/UNE groups, UNH/UNT segment counts, ``BGM+745``,
``CNT+42`` against the passengers listed); a fault there means the list cannot be trusted and the
whole file is quarantined. Each passenger (``NAD+FL`` up to the next) is then one record: a child
of school age becomes a ``border.arrival`` or ``border.departure`` event; an adult is out of scope
(counted, and named as a travelling companion of a child on the same booking); a passenger whose
date of birth cannot be read is quarantined. ``YYMMDD`` birth dates take the century that does
not put the birth after the travel date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.border.edifact import Segment, read_segments
from connectors.common.canonical import AddressInput, ChildInput, ContactInput, build_child, make_event
from connectors.common.parsing import ParseContext, whole_file
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined

FORMAT = "paxlst"
KIND = "border"
SCHOOL_AGE = range(4, 18)  # reception (4) up to the end of year 13 (17)
# UK airports and seaports seen on API feeds (IATA codes); a port outside the list is foreign.
UK_PORTS = frozenset(
    {
        "LHR", "LGW", "STN", "LTN", "LCY", "SEN", "MAN", "BHX", "BRS", "EDI", "GLA", "PIK", "NCL", "LBA", "LPL",
        "EMA", "EXT", "SOU", "BOH", "CWL", "ABZ", "INV", "BFS", "BHD", "NWI", "HUY", "MME", "NQY", "ISC", "LDY",
        "DVR", "HRW", "PME", "XQP", "QQS",
    }
)  # fmt: skip


@dataclass(slots=True)
class Passenger:
    """One passenger's segments and what they say."""

    index: int
    segments: list[Segment] = field(default_factory=list)

    def first(self, tag: str, qualifier: str | None = None) -> Segment | None:
        """The passenger's first segment with ``tag`` (and qualifier)."""
        for seg in self.segments:
            if seg.tag == tag and (qualifier is None or seg.qualifier() == qualifier):
                return seg
        return None

    @property
    def raw(self) -> bytes:
        """The passenger's original segments."""
        return "\n".join(s.raw for s in self.segments).encode("utf-8")

    @property
    def booking(self) -> str | None:
        """The PNR locator (``RFF+AVF``) linking travelling companions."""
        seg = self.first("RFF", "AVF")
        return seg.get(0, 1) if seg else None


def _travel_datetime(seg: Segment | None, label: str) -> tuple[datetime | None, list[Problem]]:
    if seg is None:
        return None, [Problem("missing_travel_time", f"{label} missing")]
    value, fmt = seg.get(0, 1) or "", seg.get(0, 2) or "201"
    patterns = {"201": ("%y%m%d%H%M", 10), "203": ("%Y%m%d%H%M", 12), "102": ("%Y%m%d", 8), "101": ("%y%m%d", 6)}
    pattern, length = patterns.get(fmt, ("%y%m%d%H%M", 10))
    try:
        if len(value) != length:
            raise ValueError
        return datetime.strptime(value, pattern).replace(tzinfo=UTC), []
    except ValueError:
        return None, [Problem("bad_travel_time", f"{label} '{value}': not a date-time in format {fmt}")]


def yymmdd(value: str | None, label: str, not_after: date) -> tuple[date | None, list[Problem]]:
    """A ``YYMMDD`` date with the century that keeps it on or before ``not_after``."""
    if not value:
        return None, [Problem("missing_dob", f"{label} missing")]
    if not re.fullmatch(r"\d{6}", value):
        return None, [Problem("bad_dob", f"{label} '{value}': not YYMMDD")]
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= mm <= 12:
        return None, [Problem("bad_dob", f"{label} '{value}': month {mm}")]
    for century in (2000, 1900):
        try:
            candidate = date(century + yy, mm, dd)
        except ValueError:
            return None, [Problem("bad_dob", f"{label} '{value}': day {dd} is not in month {mm}")]
        if candidate <= not_after:
            return candidate, []
    return None, [Problem("bad_dob", f"{label} '{value}': in the future")]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass(slots=True)
class Voyage:
    """The message-level facts every passenger event carries."""

    direction: str
    port: str
    other_port: str | None
    travel_at: datetime
    carrier: str | None
    transport_id: str | None


def check_envelope(segments: list[Segment]) -> tuple[list[Problem], list[list[Segment]]]:
    """Envelope faults (each makes the whole file untrustworthy) and the messages' segments."""
    problems: list[Problem] = []
    tags = [s.tag for s in segments]
    if not tags or tags[0] != "UNB":
        problems.append(Problem("edifact_envelope", "interchange does not start with UNB"))
    if not tags or tags[-1] != "UNZ":
        problems.append(Problem("edifact_envelope", "interchange does not end with UNZ (file may be cut short)"))
    messages: list[list[Segment]] = []
    current: list[Segment] | None = None
    groups = 0
    in_group = 0
    for seg in segments:
        if seg.tag == "UNG":
            groups += 1
            in_group = 0
        elif seg.tag == "UNE":
            declared = seg.get(0)
            if declared is not None and declared != str(in_group):
                problems.append(Problem("edifact_count", f"UNE says {declared} messages, group holds {in_group}"))
        elif seg.tag == "UNH":
            if current is not None:
                problems.append(Problem("edifact_envelope", "UNH before the previous message's UNT"))
            current = [seg]
        elif current is not None:
            current.append(seg)
            if seg.tag == "UNT":
                declared = seg.get(0)
                if declared != str(len(current)):
                    problems.append(
                        Problem(
                            "edifact_count", f"UNT says {declared} segments, message has {len(current)} (UNH to UNT)"
                        )
                    )
                if seg.get(1) != current[0].get(0):
                    problems.append(
                        Problem(
                            "edifact_envelope", f"UNT reference {seg.get(1)} does not match UNH {current[0].get(0)}"
                        )
                    )
                messages.append(current)
                in_group += 1
                current = None
    if current is not None:
        problems.append(Problem("edifact_envelope", "message has no UNT (file may be cut short)"))
    if tags and tags[-1] == "UNZ":
        unz = segments[-1]
        expected = groups or len(messages)
        if unz.get(0) != str(expected):
            problems.append(Problem("edifact_count", f"UNZ says {unz.get(0)}, interchange holds {expected}"))
        if segments[0].tag == "UNB" and unz.get(1) != segments[0].get(4):
            problems.append(Problem("edifact_envelope", "UNZ control reference does not match UNB"))
    if not messages:
        problems.append(Problem("edifact_envelope", "no UNH...UNT message"))
    return problems, messages


def _voyage(message: list[Segment], problems: list[Problem]) -> Voyage | None:
    first_pax = next(
        (i for i, s in enumerate(message) if s.tag == "NAD" and s.qualifier() in ("FL", "FM")), len(message)
    )
    head = message[:first_pax]
    locs = {s.qualifier(): s.get(1) for s in head if s.tag == "LOC"}
    dtms = {s.get(0): s for s in head if s.tag == "DTM"}
    tdt = next((s for s in head if s.tag == "TDT"), None)
    departure_port, arrival_port = locs.get("125"), locs.get("87")
    if arrival_port in UK_PORTS:
        direction, port, other, when_seg, label = (
            "arrival",
            arrival_port,
            departure_port,
            dtms.get("232"),
            "DTM+232 arrival",
        )
    elif departure_port in UK_PORTS:
        direction, port, other, when_seg, label = (
            "departure",
            departure_port,
            arrival_port,
            dtms.get("189"),
            "DTM+189 departure",
        )
    else:
        problems.append(
            Problem(
                "no_uk_port", f"neither LOC+87 '{arrival_port or ''}' nor LOC+125 '{departure_port or ''}' is a UK port"
            )
        )
        return None
    travel_at, errs = _travel_datetime(when_seg, label)
    problems.extend(errs)
    if travel_at is None or port is None:
        return None
    return Voyage(direction, port, other, travel_at, tdt.get(4) if tdt else None, tdt.get(1) if tdt else None)


def _passengers(message: list[Segment]) -> list[Passenger]:
    passengers: list[Passenger] = []
    current: Passenger | None = None
    for seg in message:
        if seg.tag == "NAD" and seg.qualifier() in ("FL", "FM", "DDT", "DDU", "COT"):
            current = Passenger(len(passengers) + 1, [seg])
            passengers.append(current)
        elif seg.tag in ("CNT", "UNT"):
            current = None
        elif current is not None:
            current.segments.append(seg)
    return passengers


def _child(p: Passenger, dob: date, companions: list[Passenger]) -> ChildInput:
    nad = p.segments[0]
    street, city, postcode, country = nad.get(4), nad.get(5), nad.get(7), nad.get(8)
    addresses = []
    if street or city or postcode:
        uk = country in (None, "GBR", "GB")
        lines = [x for x in (street, None if uk else postcode, None if uk else country) if x]
        addresses.append(AddressInput(lines=lines, town=city, postcode=postcode if uk else None, kind="unknown"))
    att = p.first("ATT", "2")
    sex = (att.get(2) if att else None) or "U"
    return ChildInput(
        given_name=nad.get(3, 1),
        middle_names=nad.get(3, 2),
        surname=nad.get(3, 0),
        date_of_birth=dob,
        sex=sex if sex in ("M", "F") else "U",
        addresses=addresses,
        contacts=[
            ContactInput(
                name=" ".join(x for x in (c.segments[0].get(3, 1), c.segments[0].get(3, 0)) if x) or None,
                relationship="travelling companion (same booking)",
            )
            for c in companions
        ],
    )


# UNB syntax identifiers and the character sets they name (ISO 9735).
_CHARSETS = {"A": "ascii", "B": "ascii", "C": "latin-1", "D": "iso8859_2", "E": "iso8859_5", "F": "iso8859_7",
             "G": "iso8859_3", "H": "iso8859_4", "I": "iso8859_6", "J": "iso8859_8", "K": "iso8859_9",
             "W": "utf-8", "Y": "utf-8"}  # fmt: skip


def decode_interchange(data: bytes, file_name: str) -> str:
    """The interchange as text, in the character set its UNB syntax identifier names (UNOA … UNOY)."""
    m = re.search(rb"UNB.UNO([A-Z])", data[:400])
    charset = _CHARSETS.get(m.group(1).decode(), "utf-8") if m else "utf-8"
    if charset == "ascii":
        charset = "utf-8"  # UTF-8 is a superset; carriers often send it under UNOA
    try:
        return data.decode(charset)
    except UnicodeDecodeError as exc:
        syntax = f"UNO{m.group(1).decode()}" if m else "no UNB syntax identifier"
        raise UnreadableInput(
            "wrong_encoding", f"{file_name}: byte {exc.start} is not valid {charset} text ({syntax})"
        ) from exc


def parse_paxlst(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """Parse a PAXLST interchange into border events for school-age children."""
    ctx = ctx or ParseContext()
    try:
        _, segments = read_segments(decode_interchange(data, file_name), file_name)
    except UnreadableInput as exc:
        return whole_file(FORMAT, file_name, data, "border-unknown", KIND, exc.problem, ctx.default_la)
    unb = segments[0] if segments[0].tag == "UNB" else None
    sender = (unb.get(1) if unb else None) or "unknown"
    partner_id = f"border-{sender.lower()}"
    control_ref = unb.get(4) if unb else None
    problems, messages = check_envelope(segments)
    for message in messages:
        bgm = next((s for s in message if s.tag == "BGM"), None)
        if bgm is None or bgm.get(0) not in ("745", "250"):
            problems.append(
                Problem("not_passenger_list", f"BGM '{bgm.get(0) if bgm else ''}': not 745 (passenger list)")
            )
        pax = [s for s in message if s.tag == "NAD" and s.qualifier() in ("FL", "FM", "DDT", "DDU", "COT")]
        cnt = next((s for s in message if s.tag == "CNT" and s.qualifier() == "42"), None)
        if cnt is not None and cnt.get(0, 1) != str(len(pax)):
            problems.append(Problem("edifact_count", f"CNT+42 says {cnt.get(0, 1)} passengers, list holds {len(pax)}"))
    voyages = [_voyage(m, problems) for m in messages] if not problems else []
    if problems or any(v is None for v in voyages):
        result = ParseResult(file_name=file_name, format=FORMAT, records=1)
        result.quarantined.append(
            Quarantined(partner_id, KIND, file_name, "whole file", problems, data, ctx.default_la)
        )
        return result
    result = ParseResult(file_name=file_name, format=FORMAT)
    seen = 0
    for message, voyage in zip(messages, voyages, strict=True):
        assert voyage is not None
        passengers = _passengers(message)
        bgm = next(s for s in message if s.tag == "BGM")
        if bgm.get(0) == "250":  # a crew list: no children
            result.out_of_scope += len(passengers)
            continue
        travel_day = voyage.travel_at.date()
        births = {
            p.index: yymmdd((p.first("DTM", "329") or Segment("DTM", (), "")).get(0, 1), "DTM+329", travel_day)
            for p in passengers
        }
        adults = [p for p in passengers if (born := births[p.index][0]) is not None and _age(born, travel_day) >= 18]
        for p in passengers:
            seen += 1
            position = f"passenger {seen}"
            dob, dob_errs = births[p.index]
            if dob is not None and _age(dob, travel_day) not in SCHOOL_AGE:
                result.out_of_scope += 1
                continue
            result.records += 1
            _emit_child(p, dob, dob_errs, voyage, adults, position, control_ref, partner_id, file_name, ctx, result)
    return result


def _emit_child(
    p: Passenger,
    dob: date | None,
    dob_errs: list[Problem],
    voyage: Voyage,
    adults: list[Passenger],
    position: str,
    control_ref: str | None,
    partner_id: str,
    file_name: str,
    ctx: ParseContext,
    result: ParseResult,
) -> None:
    problems = list(dob_errs)
    nad = p.segments[0]
    if not nad.get(3, 0):
        problems.append(Problem("missing_name", "NAD+FL surname missing"))
    if problems or dob is None:
        result.quarantined.append(Quarantined(partner_id, KIND, file_name, position, problems, p.raw, ctx.default_la))
        return
    warnings: list[Problem] = []
    booking = p.booking
    companions = [a for a in adults if booking and a.booking == booking]
    doc = p.first("DOC")
    expiry_seg = p.first("DTM", "36")
    if expiry_seg and (expiry := expiry_seg.get(0, 1)) and re.fullmatch(r"\d{6}", expiry):
        try:
            expires = date(2000 + int(expiry[:2]), int(expiry[2:4]), int(expiry[4:]))
        except ValueError:
            warnings.append(Problem("bad_document_expiry", f"DTM+36 '{expiry}': not a real date"))
        else:
            if expires < voyage.travel_at.date():
                warnings.append(Problem("document_expired", f"travel document expired on {expires.isoformat()}"))
    issuing = p.first("LOC", "91")
    residence = p.first("LOC", "174")
    nat = p.first("NAT", "2")
    child, id_warnings = build_child(_child(p, dob, companions))
    fields: dict[str, Any] = {
        "direction": voyage.direction,
        "port": voyage.port,
        "other_port": voyage.other_port,
        "carrier": voyage.carrier,
        "transport_id": voyage.transport_id,
        "travel_at": voyage.travel_at,
        "origin_country": "GBR" if voyage.direction == "departure" else None,
        "destination_country": "GBR" if voyage.direction == "arrival" else None,
        "nationality": nat.get(1) if nat else None,
        "country_of_residence": residence.get(1) if residence else None,
        "document_type": doc.get(0, 0) if doc else None,
        "document_number": doc.get(1, 0) if doc else None,
        "document_issuing_state": issuing.get(1) if issuing else None,
        "accompanied": bool(companions) if booking else None,
        "interchange_reference": control_ref,
    }
    event = make_event(
        event_type=f"border.{voyage.direction}",
        partner_id=partner_id,
        kind=KIND,
        reference=f"paxlst/{control_ref or file_name}/{position}",
        responsible_la=ctx.default_la,
        occurred_at=voyage.travel_at,
        received_at=ctx.received_at,
        child=child,
        fields=fields,
    )
    result.add_event(event, warnings + id_warnings)

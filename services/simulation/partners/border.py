"""Border traffic: UN/EDIFACT PAXLST passenger lists (D.05B, IATA profile), one flight per file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from services.simulation.noise import ascii_fold


def _edi(text: str) -> str:
    """Upper-case ASCII with the EDIFACT release character before service characters."""
    plain = ascii_fold(text).upper()
    return "".join(f"?{c}" if c in "?'+:" else c for c in plain)


def passenger_segments(person: dict[str, Any], flight: dict[str, Any], document: str, expiry: date,
                       nationality: str, with_address: bool) -> list[str]:
    """The segments of one passenger (``NAD+FL`` to the last document segment)."""
    names = ":".join(_edi(x) for x in (person["surname"], person["given_name"], person.get("middle_names") or "") if x)
    home = person.get("home")
    if with_address and home is not None:
        nad = f"NAD+FL+++{names}+{_edi(home.lines[-1])}+{_edi(home.town)}++{_edi(home.postcode)}+GBR"
    else:
        nad = f"NAD+FL+++{names}"
    dob: date | None = person.get("dob")
    segs = [nad, f"ATT+2++{person['sex']}"]
    if dob is not None:
        segs.append(f"DTM+329:{dob:%y%m%d}")
    segs += [
        f"LOC+22+{flight['destination']}",
        f"LOC+178+{flight['origin']}",
        f"LOC+179+{flight['destination']}",
        f"NAT+2+{nationality}",
        f"RFF+AVF:{flight['pnr']}",
        f"DOC+P:110:111+{document}",
        f"DTM+36:{expiry:%y%m%d}",
        f"LOC+91+{nationality}",
    ]
    return segs


def paxlst(flight: dict[str, Any], passengers: list[list[str]], reference: str, sent: datetime) -> bytes:
    """A PAXLST interchange for one flight with its passengers' segments."""
    departs: datetime = flight["departs"]
    arrives: datetime = flight["arrives"]
    carrier = flight["carrier"]
    body = [
        f"UNH+M0001+PAXLST:D:05B:UN:IATA+{flight['number']}{departs:%y%m%d}+01:F",
        "BGM+745",
        f"RFF+TN:{reference}",
        "NAD+MS+++OPERATIONS DESK",
        "COM+0000 000000:TE",
        f"TDT+20+{flight['number']}+++{carrier}",
        f"LOC+125+{flight['origin']}",
        f"DTM+189:{departs:%y%m%d%H%M}:201",
        f"LOC+87+{flight['destination']}",
        f"DTM+232:{arrives:%y%m%d%H%M}:201",
    ]
    for segs in passengers:
        body += segs
    body.append(f"CNT+42:{len(passengers)}")
    body.append(f"UNT+{len(body) + 1}+M0001")
    stamp = (sent - timedelta(minutes=0)).strftime("%y%m%d:%H%M")
    lines = [f"UNB+UNOA:4+{carrier}AIR:ZZ+UKBFAPI:ZZ+{stamp}+{reference[:14]}++APIS", *body,
             f"UNZ+1+{reference[:14]}"]
    return ("UNA:+.? '\n" + "'\n".join(lines) + "'\n").encode("ascii")

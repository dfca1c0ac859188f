"""Events of a simulated admissions round (fictional children, valid UPNs from the simulation's helper)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from schemas.events import LAWFUL_BASIS_CME, LAWFUL_BASIS_RETURNS, empty_address, empty_child, make_envelope, make_event

GIVEN = ["Amira", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jack", "Kai", "Lena", "Milo",
         "Nia", "Omar", "Poppy", "Quinn", "Ruby", "Sami", "Tia"]
SURNAMES = ["ASHBY", "BRENNAN", "CHOWDHURY", "DOYLE", "EZE", "FARRELL", "GILL", "HUSSAIN", "IQBAL", "JONES",
            "KOWALSKI", "LEWIS", "MAHMOOD", "NOWAK", "OKAFOR", "PATEL", "QURESHI", "REID", "SHAH", "TAYLOR"]
DISTRICTS = ["LS6", "LS7", "LS8", "LS9", "LS11", "LS12"]


def child(n: int, dob: dt.date, rng: random.Random, postcode: str | None = None) -> dict[str, Any]:
    """A distinct fictional child (name, date of birth, home postcode)."""
    pc = postcode or f"{rng.choice(DISTRICTS)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"
    return empty_child(
        given_name=GIVEN[n % len(GIVEN)],
        surname=SURNAMES[(n // len(GIVEN)) % len(SURNAMES)] + ("" if n < 400 else "X"),
        date_of_birth=dob, date_of_birth_precision="day", sex="F" if n % 2 else "M",
        addresses=[empty_address(lines=[f"{n + 1} Sample Street"], town="Leeds", postcode=pc, kind="home")],
    )


def offer(child_payload: dict[str, Any], ref: str, school: str, year: str, offered_on: dt.date,
          start: dt.date, round_name: str) -> dict[str, Any]:
    env = make_envelope("admissions.offer", partner_id="la:383:admissions", source_kind="authority",
                        responsible_la="383", occurred_at=dt.datetime.combine(offered_on, dt.time(9), dt.UTC),
                        reference=f"offer/{ref}", lawful_basis=LAWFUL_BASIS_CME)
    return make_event("admissions.offer", env, child=child_payload, application_reference=ref, school_laestab=school,
                      year_group=year, offered_on=offered_on, expected_start_date=start, offer_round=round_name)


def admission_return(child_payload: dict[str, Any], school: str, on: dt.date, year: str) -> dict[str, Any]:
    env = make_envelope("school.admission_return", partner_id=f"school:{school}", source_kind="school",
                        responsible_la="383", occurred_at=dt.datetime.combine(on, dt.time(15), dt.UTC),
                        reference=f"ar/{school}/{child_payload['given_name']}/{child_payload['surname']}/{on}",
                        lawful_basis=LAWFUL_BASIS_RETURNS)
    return make_event("school.admission_return", env, child=child_payload, school_laestab=school,
                      admission_date=on, year_group=year)


def deletion_to_school(child_payload: dict[str, Any], school: str, new_school: str, deleted_on: dt.date,
                       start: dt.date) -> dict[str, Any]:
    env = make_envelope("school.deletion_return", partner_id=f"school:{school}", source_kind="school",
                        responsible_la="383", occurred_at=dt.datetime.combine(deleted_on, dt.time(15), dt.UTC),
                        reference=f"dr/{school}/{child_payload['given_name']}/{deleted_on}",
                        lawful_basis=LAWFUL_BASIS_RETURNS)
    return make_event("school.deletion_return", env, child=child_payload, school_laestab=school,
                      deletion_ground="9(1)(a)", deletion_date=deleted_on, new_school_laestab=new_school,
                      new_school_start_date=start)


def ctf_xml(
    source: str, dest: tuple[str, str], pupils: list[dict[str, Any]], when: str = "2025-11-14T10:00:00"
) -> bytes:
    """A CTF as an MIS writes it (independent of the hub's own writer), with the pupils given."""
    body = []
    for p in pupils:
        upn = f"<UPN>{p['upn']}</UPN>" if p.get("upn") else ""
        body.append(
            f"<Pupil>{upn}<Surname>{p['surname']}</Surname><Forename>{p['given_name']}</Forename>"
            f"<DOB>{p['date_of_birth'].isoformat()}</DOB><Sex>{p['sex']}</Sex>"
            f"<Address><AddressLines><AddressLine1>{p['line']}</AddressLine1><AddressLine2>Leeds</AddressLine2>"
            f"</AddressLines><PostCode>{p['postcode']}</PostCode></Address></Pupil>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><CTfile><Header><DocumentName>Common Transfer File</DocumentName>'
        f"<CTFversion>25.0</CTFversion><DateTime>{when}</DateTime><DocumentQualifier>full</DocumentQualifier>"
        f"<SupplierID>TestMIS</SupplierID><SourceSchool><LEA>{source[:3]}</LEA><Estab>{source[3:]}</Estab>"
        f"<SchoolName>Example School</SchoolName><AcademicYear>2025</AcademicYear></SourceSchool>"
        f"<DestSchool><LEA>{dest[0]}</LEA><Estab>{dest[1]}</Estab></DestSchool></Header>"
        f"<CTFpupilData>{''.join(body)}</CTFpupilData></CTfile>"
    ).encode()

"""Police traffic: the hub's published JSON for missing, found and Operation Encompass notices."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from services.simulation.model import Home, School
from services.simulation.partners import iso_z


def _child(person: dict[str, Any], la: str) -> dict[str, Any]:
    home: Home | None = person["home"]
    return {
        "forename": person["given_name"],
        "middle_names": person["middle_names"],
        "surname": person["surname"],
        "dob": person["dob"].isoformat() if person["dob"] else None,
        "sex": person["sex"],
        "identifiers": {"upn": person["upn"], "nhs_number": person["nhs_number"], "la_child_id": None},
        "home_address": {"lines": list(home.lines), "town": home.town, "postcode": home.postcode, "uprn": None}
        if home else None,
        "looked_after": False,
        "responsible_la": la,
    }


def _sender(force: str, code: str) -> dict[str, Any]:
    return {"force": force, "force_code": code, "unit": "Missing Persons Unit",
            "contact": f"mpu@{code.lower()}.police.example"}


def missing_notice(
    notification_id: str, force: str, code: str, person: dict[str, Any], la: str, reference: str,
    reported: datetime, risk: str, last_seen: Home | None, school: School | None,
) -> dict[str, Any]:
    """A missing-child notice (``cme-hub/police-missing-child/0.1``)."""
    return {
        "schema": "cme-hub/police-missing-child/0.1",
        "notification_id": notification_id,
        "sent_at": iso_z(reported + timedelta(minutes=40)),
        "sender": _sender(force, code),
        "police_reference": reference,
        "event": {
            "type": "missing",
            "status": "open",
            "reported_at": iso_z(reported),
            "last_seen_at": iso_z(reported - timedelta(hours=3)),
            "last_seen_location": {"description": "near home" if last_seen else None,
                                   "postcode": last_seen.postcode if last_seen else None},
            "risk_grade": risk,
        },
        "child": _child(person, la),
        "school": {"laestab": school.laestab, "name": school.name} if school else None,
        "outcome": None,
    }


def found_notice(
    notification_id: str, force: str, code: str, person: dict[str, Any], la: str, reference: str,
    reported: datetime, found: datetime, where: Home | None,
) -> dict[str, Any]:
    """A found notice closing a missing episode, with the return-home interview due in 72 hours."""
    return {
        "schema": "cme-hub/police-missing-child/0.1",
        "notification_id": notification_id,
        "sent_at": iso_z(found + timedelta(minutes=50)),
        "sender": _sender(force, code),
        "police_reference": reference,
        "event": {"type": "found", "status": "closed", "reported_at": iso_z(reported),
                  "last_seen_at": iso_z(reported - timedelta(hours=3)), "risk_grade": None},
        "child": _child(person, la),
        "outcome": {
            "found_at": iso_z(found),
            "found_location": {"description": f"{where.lines[-1]}, {where.town}" if where else None,
                               "postcode": where.postcode if where else None},
            "return_home_interview_due_by": (found + timedelta(hours=72)).date().isoformat(),
        },
    }


def encompass_notice(
    notification_id: str, force: str, code: str, person: dict[str, Any], la: str, reference: str,
    incident: datetime, school: School | None,
) -> dict[str, Any]:
    """An Operation Encompass notice to the school's designated safeguarding lead."""
    home: Home | None = person["home"]
    return {
        "schema": "cme-hub/op-encompass/0.1",
        "notification_id": notification_id,
        "sender": _sender(force, code),
        "police_reference": reference,
        "incident": {"date_time": iso_z(incident), "location_postcode": home.postcode if home else None},
        "child": _child(person, la),
        "child_present": True,
        "child_spoken_to": False,
        "voice_of_child": None,
        "recipient": {"type": "school_dsl", "laestab": school.laestab if school else None},
        "circumstances_summary": "Domestic incident attended; child present.",
    }


def police_file(notices: list[dict[str, Any]]) -> bytes:
    """One day's notices from a force."""
    return (json.dumps({"notifications": notices}, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def day_of(moment: datetime) -> date:
    """The calendar day of a timestamp."""
    return moment.date()

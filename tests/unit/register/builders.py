"""Events for register tests, built through the real event contracts (schemas.events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.events import empty_address, empty_child, make_envelope, make_event, validate

LA = "383"
SCHOOL = "3832001"
OTHER_LA_SCHOOL = "8204001"


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def child(
    given: str = "Amelia",
    surname: str = "Okafor",
    dob: dt.date = dt.date(2014, 5, 17),
    upn: str | None = "P801200001005",
    nhs: str | None = None,
    postcode: str = "LS9 8AB",
    **flags: bool,
) -> dict[str, Any]:
    return empty_child(
        given_name=given,
        surname=surname,
        date_of_birth=dob,
        date_of_birth_precision="day",
        sex="F",
        upn=upn,
        nhs_number=nhs,
        addresses=[empty_address(lines=["12 Harehills Lane"], town="Leeds", postcode=postcode, kind="home")],
        flags={"looked_after": False, "sen_support": False, "ehcp": False, "restricted": False, **flags},
    )


def event(event_type: str, day: dt.date, ref: str, kid: dict[str, Any] | None = None, kind: str = "school",
          partner: str = "school-3832001", **fields: Any) -> dict[str, Any]:
    env = make_envelope(event_type, partner_id=partner, source_kind=kind, responsible_la=LA, occurred_at=at(day),
                        reference=ref, received_at=at(day, 10))
    built = make_event(event_type, env, child=kid if kid is not None else child(), **fields)
    problems = validate(built)
    assert not problems, problems  # test events honour the real contract
    return built


def deletion(day: dt.date, ref: str, ground: str = "9(1)(g)", kid: dict[str, Any] | None = None,
             **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(school_laestab=SCHOOL, school_urn=None, school_name="Harehills Primary",
                                deletion_ground=ground, deletion_ground_text=None, deletion_date=day,
                                last_attended_date=day - dt.timedelta(days=3), new_school_laestab=None,
                                new_school_name=None, new_school_start_date=None, new_address=None,
                                destination_la=None, joint_enquiries_completed=None, safeguarding_concern=False)
    base.update(fields)
    return event("school.deletion_return", day, ref, kid, **base)


def admission(day: dt.date, ref: str, school: str = "3832002", kid: dict[str, Any] | None = None) -> dict[str, Any]:
    return event("school.admission_return", day, ref, kid, partner=f"school-{school}", school_laestab=school,
                 school_urn=None, school_name=None, admission_date=day, year_group="6",
                 previous_school_laestab=None, previous_la=None)


def absence(day: dt.date, ref: str, first_absent: dt.date, kid: dict[str, Any] | None = None,
            **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(school_laestab=SCHOOL, school_urn=None, school_name=None,
                                first_absence_date=first_absent, last_attended_date=first_absent - dt.timedelta(days=1),
                                school_days_absent=10, absence_codes=["N"], enquiries_made=[],
                                safeguarding_concern=False)
    base.update(fields)
    return event("school.absence_referral", day, ref, kid, **base)


def lost_ctf(day: dt.date, ref: str, kid: dict[str, Any] | None = None) -> dict[str, Any]:
    return event("school.ctf_transfer", day, ref, kid, file_name=f"3832001_CTF_XXXXXXX_{ref[-3:]}.xml",
                 ctf_version="25.0", source_la="383", source_estab="2001", source_school_name=None,
                 destination_kind="unknown", destination_la=None, destination_estab=None,
                 document_qualifier="full", leaving_date=day, sessions_possible=None, sessions_attended=None)


def police_found(day: dt.date, ref: str, kid: dict[str, Any] | None = None) -> dict[str, Any]:
    return event("police.found", day, ref, kid, kind="police", partner="police-wyp", force="West Yorkshire Police",
                 force_code=None, incident_reference=ref, found_at=at(day), found_location=None, found_postcode=None,
                 missing_since=None, return_home_interview_due_by=None)


def missing_episode(day: dt.date, ref: str, kid: dict[str, Any] | None = None, risk: str = "medium") -> dict[str, Any]:
    return event("police.missing_episode", day, ref, kid, kind="police", partner="police-wyp",
                 force="West Yorkshire Police", force_code=None, incident_reference=ref, reported_at=at(day),
                 last_seen_at=at(day - dt.timedelta(days=1)), last_seen_location=None, last_seen_postcode=None,
                 risk=risk, school_laestab=None)


def enquiry_response(day: dt.date, ref: str, enquiry_id: str, outcome: str = "on_roll",
                     kid: dict[str, Any] | None = None) -> dict[str, Any]:
    return event("la.enquiry_response", day, ref, kid, kind="authority", partner="la-820", from_la="820", to_la=LA,
                 enquiry_id=enquiry_id, outcome=outcome, school_laestab=OTHER_LA_SCHOOL, details=None)


def enquiry_out(day: dt.date, ref: str, enquiry_id: str, kid: dict[str, Any] | None = None) -> dict[str, Any]:
    return event("la.enquiry", day, ref, kid, kind="authority", partner="la-383", from_la=LA, to_la="820",
                 enquiry_id=enquiry_id, reason="child missing education: is this child known to you?",
                 case_reference=None, reply_by=None)


def arrival(day: dt.date, ref: str, kid: dict[str, Any] | None = None, resident: str = "ROU") -> dict[str, Any]:
    return event("border.arrival", day, ref, kid, kind="border", partner="border-force", direction="arrival",
                 port="LHR", other_port=None, carrier=None, transport_id=None, travel_at=at(day),
                 origin_country="ROU", destination_country="GBR", nationality="ROU", country_of_residence=resident,
                 document_type=None, document_number=None, document_issuing_state=None, accompanied=True,
                 interchange_reference=ref)

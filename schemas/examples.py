"""One fictional, valid example event per event type (for docs, the CLI, tests and benchmarks).

All data is made up: DfE example UPNs, 9xx NHS numbers, documentation postcodes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.events import (
    LAWFUL_BASIS_CME,
    LAWFUL_BASIS_RETURNS,
    LAWFUL_BASIS_SAFEGUARDING,
    empty_address,
    empty_child,
    make_envelope,
    make_event,
)

_WHEN = dt.datetime(2025, 11, 14, 16, 45, tzinfo=dt.UTC)
_RECEIVED = dt.datetime(2025, 11, 14, 16, 46, 2, 125000, tzinfo=dt.UTC)

_SOURCES = {
    "school": ("school:3832999", LAWFUL_BASIS_RETURNS),
    "health": ("health:chis-leeds", LAWFUL_BASIS_SAFEGUARDING),
    "police": ("police:EX", LAWFUL_BASIS_SAFEGUARDING),
    "border": ("border:ukbf", LAWFUL_BASIS_SAFEGUARDING),
    "la": ("la:384", LAWFUL_BASIS_CME),
    "register": ("hub:register", LAWFUL_BASIS_CME),
    "match": ("hub:matcher", LAWFUL_BASIS_CME),
    "places": ("la:383:admissions", LAWFUL_BASIS_CME),
    "admissions": ("la:383:admissions", LAWFUL_BASIS_CME),
}
_KINDS = {"la": "authority", "register": "hub", "match": "hub", "places": "authority", "admissions": "authority"}
_NO_CHILD = ("match.decision", "places.school_vacancies", "places.provider")


def example_child() -> dict[str, Any]:
    """A typical child identity with an address and a parent."""
    return empty_child(
        given_name="Tomasz",
        surname="SAMPLE",
        former_surnames=["EXAMPLE"],
        date_of_birth=dt.date(2013, 6, 30),
        date_of_birth_precision="day",
        sex="M",
        upn="B801200005001",
        nhs_number="9434765919",
        addresses=[
            empty_address(
                lines=["22 Nowhere Close"],
                town="Leeds",
                postcode="LS2 7AA",
                uprn="72000000001",
                valid_from=dt.date(2021, 9, 1),
                kind="home",
            )
        ],
        contacts=[
            {
                "name": "Anna SAMPLE",
                "relationship": "mother",
                "phones": ["07700 900123"],
                "has_parental_responsibility": True,
            }
        ],
    )


def _fields(event_type: str) -> dict[str, Any]:
    police = {"force": "Example Constabulary", "force_code": "EX", "incident_reference": "EX-2511020199"}
    border = {
        "port": "LHR",
        "other_port": "CDG",
        "carrier": "XX",
        "transport_id": "XX123",
        "travel_at": _WHEN,
        "origin_country": "FRA",
        "destination_country": "GBR",
        "nationality": "FRA",
        "country_of_residence": "FRA",
        "document_type": "P",
        "document_number": "X1234567",
        "document_issuing_state": "FRA",
        "accompanied": True,
        "interchange_reference": "EX0000001",
    }
    school = {"school_laestab": "3832999", "school_urn": "199999", "school_name": "Example Primary School"}
    by_type: dict[str, dict[str, Any]] = {
        "school.admission_return": {
            **school,
            "admission_date": dt.date(2025, 11, 10),
            "year_group": "Y7",
            "previous_school_laestab": "3844001",
            "previous_la": "384",
        },
        "school.deletion_return": {
            **school,
            "deletion_ground": "9(1)(i)",
            "deletion_ground_text": "continually absent for 20 school days; whereabouts unknown",
            "deletion_date": dt.date(2025, 11, 14),
            "last_attended_date": dt.date(2025, 10, 16),
            "new_address": empty_address(
                lines=["1 Sample Road"],
                town="Bradford",
                postcode="BD1 1AA",
                valid_from=dt.date(2025, 10, 20),
                kind="home",
            ),
            "destination_la": "380",
            "joint_enquiries_completed": True,
        },
        "school.absence_referral": {
            **school,
            "first_absence_date": dt.date(2025, 10, 31),
            "last_attended_date": dt.date(2025, 10, 30),
            "school_days_absent": 10,
            "absence_codes": ["N", "N", "O"],
            "enquiries_made": ["phone", "letter"],
        },
        "school.ctf_transfer": {
            "file_name": "3832999_CTF_XXXXXXX_001.xml",
            "ctf_version": "25.0",
            "source_la": "383",
            "source_estab": "2999",
            "destination_kind": "unknown",
            "document_qualifier": "full",
            "leaving_date": dt.date(2025, 11, 14),
            "sessions_possible": 120,
            "sessions_attended": 80,
        },
        "health.patient_update": {
            "notification_type": "pds-record-change-2",
            "patient_version": "7",
            "gp_practice_ods": "Y12345",
            "nhs_number_verified": True,
        },
        "health.address_change": {
            "notification_type": "PDS002",
            "patient_version": "8",
            "new_address": empty_address(lines=["1 Sample Road"], town="Bradford", postcode="BD1 1AA", kind="home"),
            "moved_on": dt.date(2025, 10, 20),
        },
        "police.missing_episode": {
            **police,
            "reported_at": _WHEN,
            "last_seen_at": _WHEN,
            "last_seen_location": "Near Example Park",
            "last_seen_postcode": "LS1 6AE",
            "risk": "high",
            "school_laestab": "3844001",
        },
        "police.found": {
            **police,
            "found_at": _WHEN,
            "found_postcode": "LS1 6AE",
            "missing_since": _WHEN,
            "return_home_interview_due_by": dt.date(2025, 11, 17),
        },
        "police.welfare_concern": {
            **police,
            "concern_at": _WHEN,
            "concern_summary": "Need-to-know summary.",
            "risk": "medium",
            "referred_to": "MASH",
        },
        "police.encompass": {
            **police,
            "incident_at": _WHEN,
            "incident_postcode": "LS1 6AE",
            "child_present": True,
            "child_spoken_to": False,
            "recipient_kind": "la_cme_officer",
        },
        "border.arrival": {**border, "direction": "arrival"},
        "border.departure": {**border, "direction": "departure", "origin_country": "GBR", "destination_country": "FRA"},
        "la.enquiry": {
            "from_la": "384",
            "to_la": "383",
            "enquiry_id": "ENQ-384-0042",
            "reason": "deletion 9(1)(i), destination unknown",
            "reply_by": dt.date(2025, 11, 28),
        },
        "la.enquiry_response": {
            "from_la": "383",
            "to_la": "384",
            "enquiry_id": "ENQ-384-0042",
            "outcome": "on_roll",
            "school_laestab": "3832999",
        },
        "la.case_transfer": {
            "from_la": "384",
            "to_la": "383",
            "case_reference": "CME-384-0042",
            "transfer_reason": "child now resides in 383",
            "risk": "low",
        },
        "register.change": {
            "child_id": "c-000042",
            "change_kind": "status_changed",
            "status": "missing",
            "previous_status": "open",
            "changed_fields": ["status"],
            "caused_by_event_id": "510b9354-3172-5c78-b89a-d0a5f8971823",
            "actor": "matcher",
        },
        "match.decision": {
            "notification_event_id": "510b9354-3172-5c78-b89a-d0a5f8971823",
            "notification_event_type": "school.deletion_return",
            "child_id": "c-000042",
            "decision": "match",
            "method": "probabilistic",
            "score": 14.2,
            "upper_threshold": 10.0,
            "lower_threshold": 2.0,
            "comparisons": [
                {"field": "surname", "method": "jaro_winkler", "outcome": "agree", "similarity": 1.0, "weight": 6.1},
                {"field": "date_of_birth", "method": "exact", "outcome": "agree", "similarity": None, "weight": 8.1},
            ],
            "candidates_considered": 3,
            "reason": "surname and date of birth agree",
            "decided_by": "matcher",
            "model_version": "fs-1",
        },
        "places.school_vacancies": {
            **school,
            "phase": "primary",
            "year_group": "Y4",
            "capacity": 60,
            "on_roll": 57,
            "vacancies": 3,
            "as_of": dt.date(2025, 11, 14),
            "postcode": "LS2 7AA",
        },
        "places.provider": {
            "provider_id": "AP-383-001",
            "provider_name": "Example Learning Centre",
            "provider_type": "alternative_provision",
            "places": 24,
            "places_available": 4,
            "age_from": 11,
            "age_to": 16,
            "send_suitable": True,
            "as_of": dt.date(2025, 11, 14),
            "postcode": "LS4 2AA",
        },
        "admissions.application": {
            "application_reference": "IYA-383-0042",
            "application_kind": "in_year",
            "year_group": "Y7",
            "preferred_school_laestab": "3834001",
            "applied_on": dt.date(2025, 11, 3),
        },
        "admissions.offer": {
            "application_reference": "IYA-383-0042",
            "school_laestab": "3834001",
            "school_name": "Example High School",
            "year_group": "Y7",
            "offered_on": dt.date(2025, 11, 10),
            "expected_start_date": dt.date(2025, 11, 17),
            "offer_round": "in_year",
        },
        "admissions.offer_accepted": {
            "application_reference": "IYA-383-0042",
            "school_laestab": "3834001",
            "accepted_on": dt.date(2025, 11, 12),
            "expected_start_date": dt.date(2025, 11, 17),
        },
        "admissions.no_show": {
            "school_laestab": "3834001",
            "expected_start_date": dt.date(2025, 11, 17),
            "school_days_allowed": 5,
            "no_show_kind": "offer_not_taken_up",
            "application_reference": "IYA-383-0042",
        },
    }
    return by_type[event_type]


def example_event(event_type: str) -> dict[str, Any]:
    """A valid, fictional example of ``event_type``."""
    family = event_type.split(".")[0]
    partner_id, basis = _SOURCES[family]
    envelope = make_envelope(
        event_type,
        partner_id=partner_id,
        source_kind=_KINDS.get(family, family),
        responsible_la="383",
        occurred_at=_WHEN,
        received_at=_RECEIVED,
        reference=f"example/{event_type}",
        lawful_basis=basis,
    )
    child = None if event_type in _NO_CHILD else example_child()
    return make_event(event_type, envelope, child=child, **_fields(event_type))


def example_quarantine() -> dict[str, Any]:
    """A fictional quarantine record."""
    return {
        "quarantine_id": "6d1f4c1e-4b7a-4c2e-9a57-0f3f0b8a9e11",
        "source": {"partner_id": "school:3832999", "kind": "school", "reference": "returns.csv#4"},
        "responsible_la": "383",
        "file_name": "returns.csv",
        "position": "line 4",
        "reasons": ["deletion_ground: '9(1)(z)' should be one of 9(1)(a) to 9(1)(o)"],
        "original": b"B801200005001,SAMPLE,Tomasz,9(1)(z)\n",
        "received_at": _RECEIVED,
    }

"""What each notification said, in a line a CME officer reads (fields chosen per event type).

Only fields that help case work are shown: never free-text narratives (voice of the child,
circumstances) and never addresses, so the timeline is safe for a restricted child too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

LABELS: dict[str, str] = {
    "school.admission_return": "Admission return",
    "school.deletion_return": "Deletion return",
    "school.absence_referral": "10-day absence referral",
    "school.ctf_transfer": "Common transfer file",
    "health.patient_update": "NHS record update",
    "health.address_change": "NHS address change",
    "police.missing_episode": "Reported missing",
    "police.found": "Found after missing episode",
    "police.welfare_concern": "Police welfare concern",
    "police.encompass": "Operation Encompass notice",
    "border.arrival": "Arrival in the UK",
    "border.departure": "Departure from the UK",
    "la.enquiry": "Enquiry between authorities",
    "la.enquiry_response": "Answer to an enquiry",
    "la.case_transfer": "Case transfer",
}


def _day(value: Any) -> str:
    return str(value)[:10] if value else "not given"


def _text(value: Any, missing: str = "not given") -> str:
    return str(value) if value not in (None, "", []) else missing


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "school.admission_return": lambda p: f"admitted {_day(p.get('admission_date'))} to school "
                                         f"{_text(p.get('school_laestab'))}",
    "school.deletion_return": lambda p: (
        f"deleted {_day(p.get('deletion_date'))} on ground {_text(p.get('deletion_ground'))}; last attended "
        f"{_day(p.get('last_attended_date'))}; new school {_text(p.get('new_school_laestab'), 'not known')}; "
        f"destination LA {_text(p.get('destination_la'), 'not known')}"
        + ("; safeguarding concern" if p.get("safeguarding_concern") else "")),
    "school.absence_referral": lambda p: (
        f"{_text(p.get('school_days_absent'))} school days absent since {_day(p.get('first_absence_date'))}, "
        f"codes {', '.join(p.get('absence_codes') or []) or 'not given'}"
        + ("; safeguarding concern" if p.get("safeguarding_concern") else "")),
    "school.ctf_transfer": lambda p: (
        f"left {_day(p.get('leaving_date'))}; destination {_text(p.get('destination_kind'))} "
        f"{_text(p.get('destination_la'), '')}{_text(p.get('destination_estab'), '')}"),
    "health.patient_update": lambda p: f"GP practice {_text(p.get('gp_practice_ods'))}"
                                       + ("; recorded as deceased" if p.get("deceased") else ""),
    "health.address_change": lambda p: f"moved {_day(p.get('moved_on'))} (address on the child's record)",
    "police.missing_episode": lambda p: f"reported {_day(p.get('reported_at'))} by {_text(p.get('force'))}; "
                                        f"risk {_text(p.get('risk'))}",
    "police.found": lambda p: f"found {_day(p.get('found_at'))}; return interview due "
                              f"{_day(p.get('return_home_interview_due_by'))}",
    "police.welfare_concern": lambda p: f"concern {_day(p.get('concern_at'))}; risk {_text(p.get('risk'))}; "
                                        f"referred to {_text(p.get('referred_to'))}",
    "police.encompass": lambda p: f"incident {_day(p.get('incident_at'))}; notice to {_text(p.get('recipient_kind'))}",
    "border.arrival": lambda p: f"arrived {_day(p.get('travel_at'))} at {_text(p.get('port'))} from "
                                f"{_text(p.get('origin_country'))}",
    "border.departure": lambda p: f"left {_day(p.get('travel_at'))} from {_text(p.get('port'))} to "
                                  f"{_text(p.get('destination_country'))}",
    "la.enquiry": lambda p: f"LA {_text(p.get('from_la'))} asked LA {_text(p.get('to_la'))}",
    "la.enquiry_response": lambda p: f"LA {_text(p.get('from_la'))} answered: {_text(p.get('outcome'))}",
    "la.case_transfer": lambda p: f"from LA {_text(p.get('from_la'))} to LA {_text(p.get('to_la'))}: "
                                  f"{_text(p.get('transfer_reason'))}",
}


def label_of(event_type: str) -> str:
    return LABELS.get(event_type, event_type)


def summary_of(event_type: str, payload: Mapping[str, Any]) -> str:
    """One line of what the notification said (fields per event type; no narratives, no addresses)."""
    describe = _SUMMARIES.get(event_type)
    return describe(payload) if describe else ""

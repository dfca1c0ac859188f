"""What a partner's notification means for a child's CME case (pure; DOMAIN.md §6).

Opens a case: a deletion return without a known destination (grounds a, g, m, n) or after failed
enquiries (h, i: straight to "not found"), a permanent exclusion (o), a 10-day absence referral, a
lost-pupil CTF (``XXX``), a police missing episode, a departure abroad of a child on roll, the
arrival from abroad of a school-age child with no school, a case handed over by another authority.

Moves a case: an admission return or a CTF / deletion naming a school here (in provision); a
school, CTF or enquiry answer in another authority (located there); an ``MMM`` CTF (located
outside the maintained sector); police "found" (located locally, or in provision if on roll); an
outgoing enquiry (enquiries under way); death or the end of compulsory school age (closed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.register.lifecycle import Trigger, TriggerKind
from services.register.model import (
    CaseStatus,
    Child,
    ClosureReason,
    DfeReason,
    EnquiryDirection,
    ReferralSource,
    RiskFlag,
)

S = CaseStatus
UNLOCATED = frozenset({S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL})
LOCATABLE = UNLOCATED | {S.LOCATED_LOCAL}

# Deletion grounds (SI 2024/208 reg 9(1)) that make a child CME when no destination is known.
GROUNDS_CME_WITHOUT_DESTINATION = frozenset({"a", "g", "m", "n"})
GROUNDS_ENQUIRIES_FAILED = frozenset({"h", "i"})
UK_CODES = frozenset({"GB", "GBR", "UK"})
_ENQUIRY_NAMESPACE = uuid.UUID("0c0b2a7e-5d1f-4f7e-9a53-2f1e6c9d8b10")


@dataclass(frozen=True)
class Referral:
    """The details of a new case."""

    source: ReferralSource
    reason: DfeReason
    on: dt.date
    cause: str
    why: str
    whereabouts_known: bool = False
    new_to_area: bool = False
    new_to_country: bool = False
    last_school: str | None = None
    first_day_absent: dt.date | None = None
    risk_flags: frozenset[RiskFlag] = frozenset()


@dataclass(frozen=True)
class EnquiryNote:
    """An enquiry to record (new) or answer (existing, by id)."""

    id: str
    direction: EnquiryDirection
    other_la: str
    on: dt.date
    outcome: str | None = None
    answers: bool = False


@dataclass
class CaseEffects:
    """Everything a notification does to the register beyond storing it."""

    referral: Referral | None = None
    triggers: list[Trigger] = field(default_factory=list)
    date_last_seen: dt.date | None = None
    current_school: str | None = None
    leaves_school: str | None = None
    address_check: bool = False
    enquiry: EnquiryNote | None = None
    destination_code: str | None = None
    notes: list[str] = field(default_factory=list)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    return dt.datetime.fromisoformat(text).date() if "T" in text else dt.date.fromisoformat(text)


def occurred_on(event: Mapping[str, Any]) -> dt.date:
    """The world date of an event."""
    day = _date(event.get("occurred_at"))
    if day is None:
        raise ValueError(f"event {event.get('event_id')} has no occurred_at")
    return day


def _birthday(dob: dt.date, year: int) -> dt.date:
    try:
        return dob.replace(year=year)
    except ValueError:  # 29 February in a common year
        return dt.date(year, 3, 1)


def is_compulsory_school_age(dob: dt.date, on: dt.date) -> bool:
    """EA 1996 s8: from the prescribed day (31 Mar, 31 Aug, 31 Dec) on or after the 5th birthday to
    the last Friday in June of the school year in which the child turns 16."""
    fifth = _birthday(dob, dob.year + 5)
    prescribed = (dt.date(y, m, d) for y in (fifth.year, fifth.year + 1) for (m, d) in ((3, 31), (8, 31), (12, 31)))
    start = min(d for d in prescribed if d >= fifth)
    sixteenth = _birthday(dob, dob.year + 16)
    leaving_year = sixteenth.year + 1 if sixteenth.month >= 9 else sixteenth.year
    june_end = dt.date(leaving_year, 6, 30)
    last_friday = june_end - dt.timedelta(days=(june_end.weekday() - 4) % 7)
    return start <= on <= last_friday


def _la_of(laestab: str | None) -> str | None:
    return laestab[:3] if laestab and len(laestab) == 7 and laestab.isdigit() else None


def _flags_from_child(child_payload: Mapping[str, Any] | None) -> frozenset[RiskFlag]:
    flags = (child_payload or {}).get("flags") or {}
    out = set()
    if flags.get("looked_after"):
        out.add(RiskFlag.LOOKED_AFTER)
    if flags.get("ehcp") or flags.get("sen_support"):
        out.add(RiskFlag.SEND_EHCP)
    return frozenset(out)


def _cause(event: Mapping[str, Any]) -> str:
    return str(event["event_id"])


def effects_of(
    event: Mapping[str, Any],
    status: CaseStatus | None,
    child: Child | None,
    local_la: str,
) -> CaseEffects:
    """What ``event`` does to the child's open case (``status`` None: no open case)."""
    kind = str(event.get("event_type", ""))
    handler = _BY_TYPE.get(kind)
    if handler is None:
        return CaseEffects(notes=[f"{kind or 'untyped event'}: no effect on cases"])
    return handler(event, status, child, local_la)


def _open_or(status: CaseStatus | None, referral: Referral) -> Referral | None:
    return referral if status is None else None


def _trigger(event: Mapping[str, Any], kind: TriggerKind, on: dt.date, reason: str, **kw: Any) -> Trigger:
    return Trigger(kind=kind, on=on, cause=_cause(event), reason=reason, **kw)


def _located_elsewhere_or_provided(
    event: Mapping[str, Any], status: CaseStatus | None, laestab: str | None, la: str | None,
    local_la: str, on: dt.date, what: str,
) -> list[Trigger]:
    if status not in LOCATABLE:
        return []
    other = la or _la_of(laestab)
    if laestab and (other is None or other == local_la):
        return [_trigger(event, TriggerKind.START_PROVISION, on, f"{what}: on roll at school {laestab}")]
    if other and other != local_la:
        return [_trigger(event, TriggerKind.LOCATE_OTHER_LA, on, f"{what}: in LA {other}", located_la=other)]
    return []


def _deletion_return(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = _date(event.get("deletion_date")) or occurred_on(event)
    ground = str(event.get("deletion_ground", ""))
    letter = ground[-2:-1] if ground.startswith("9(1)(") and ground.endswith(")") else ""
    school = event.get("school_laestab")
    fx = CaseEffects(leaves_school=school, date_last_seen=_date(event.get("last_attended_date")))
    new_school, dest_la = event.get("new_school_laestab"), event.get("destination_la")
    what = f"deletion return {ground}"
    if letter == "k":
        if status is not None:
            fx.triggers.append(_trigger(event, TriggerKind.CLOSE, on, f"{what}: died",
                                        closure_reason=ClosureReason.DIED))
        return fx
    if letter == "l":
        if status is not None:
            fx.triggers.append(_trigger(event, TriggerKind.CLOSE, on, f"{what}: over compulsory school age",
                                        closure_reason=ClosureReason.OVER_COMPULSORY_AGE))
        return fx
    if new_school or (dest_la and dest_la != local_la):
        if status is None and not new_school:
            # Moved to another authority with no school: open here to hand over and close.
            fx.referral = Referral(ReferralSource.SCHOOL, DfeReason.AWAITING_SCHOOL_PLACE, on, _cause(event),
                                   f"{what}: moved to LA {dest_la} without a school place",
                                   whereabouts_known=event.get("new_address") is not None, last_school=school)
            status = S.REFERRED
        fx.triggers += _located_elsewhere_or_provided(event, status, new_school, dest_la, local_la, on, what)
        return fx
    flags = _flags_from_child(event.get("child"))
    if letter in GROUNDS_ENQUIRIES_FAILED:
        fx.referral = _open_or(status, Referral(
            ReferralSource.SCHOOL, DfeReason.WHEREABOUTS_UNKNOWN, on, _cause(event),
            f"{what}: joint enquiries failed to locate the child", last_school=school, risk_flags=flags))
        if (status or S.REFERRED) in (S.REFERRED, S.ENQUIRIES):
            fx.triggers.append(_trigger(event, TriggerKind.NOT_FOUND, on, f"{what}: not located"))
    elif letter in GROUNDS_CME_WITHOUT_DESTINATION:
        known = event.get("new_address") is not None
        reason = DfeReason.AWAITING_SCHOOL_PLACE if known else DfeReason.WHEREABOUTS_UNKNOWN
        fx.referral = _open_or(status, Referral(
            ReferralSource.SCHOOL, reason, on, _cause(event), f"{what}: no destination school",
            whereabouts_known=known, last_school=school, risk_flags=flags))
    elif letter == "o":
        fx.referral = _open_or(status, Referral(
            ReferralSource.SCHOOL, DfeReason.PERMANENTLY_EXCLUDED, on, _cause(event),
            f"{what}: permanently excluded; provision due from day 6", whereabouts_known=True,
            last_school=school, risk_flags=flags))
    else:
        fx.notes.append(f"{what}: not a CME ground")
    if event.get("safeguarding_concern") and (fx.referral is not None or status in (S.REFERRED, S.ENQUIRIES)):
        fx.triggers.append(_trigger(event, TriggerKind.ESCALATE, on, "school reports a safeguarding concern"))
    return fx


def _admission_return(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = _date(event.get("admission_date")) or occurred_on(event)
    school = event.get("school_laestab")
    fx = CaseEffects(current_school=school, date_last_seen=on)
    if status in LOCATABLE:
        fx.triggers.append(_trigger(event, TriggerKind.START_PROVISION, on, f"admission return: on roll at {school}"))
    return fx


def _absence_referral(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = occurred_on(event)
    fx = CaseEffects(date_last_seen=_date(event.get("last_attended_date")), current_school=event.get("school_laestab"))
    days = event.get("school_days_absent")
    fx.referral = _open_or(status, Referral(
        ReferralSource.SCHOOL, DfeReason.WHEREABOUTS_UNKNOWN, on, _cause(event),
        f"continuous absence of {days} school days", last_school=event.get("school_laestab"),
        first_day_absent=_date(event.get("first_absence_date")), risk_flags=_flags_from_child(event.get("child"))))
    if fx.referral is not None and event.get("enquiries_made"):
        fx.triggers.append(_trigger(event, TriggerKind.START_ENQUIRIES, on, "school enquiries under way"))
    if event.get("safeguarding_concern") and (fx.referral is not None or status in (S.REFERRED, S.ENQUIRIES)):
        fx.triggers.append(_trigger(event, TriggerKind.ESCALATE, on, "school reports a safeguarding concern"))
    return fx


def _ctf_transfer(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = _date(event.get("leaving_date")) or occurred_on(event)
    source_school = f"{event.get('source_la', '')}{event.get('source_estab', '')}"
    fx = CaseEffects(leaves_school=source_school if len(source_school) == 7 else None)
    kind = event.get("destination_kind")
    if kind == "unknown":
        fx.destination_code = "XXXXXXX"
        fx.referral = _open_or(status, Referral(
            ReferralSource.SCHOOL, DfeReason.WHEREABOUTS_UNKNOWN, on, _cause(event),
            "lost-pupil CTF: destination unknown", last_school=fx.leaves_school,
            risk_flags=_flags_from_child(event.get("child"))))
        current = status or S.REFERRED
        if current in (S.REFERRED, S.ENQUIRIES):
            fx.triggers.append(_trigger(event, TriggerKind.NOT_FOUND, on, "school's enquiries failed (lost CTF)"))
            current = S.NOT_FOUND
        if current in (S.NOT_FOUND, S.ESCALATED):
            fx.triggers.append(_trigger(event, TriggerKind.LOST_PUPIL_CTF, on, "lost-pupil CTF (XXX) uploaded"))
    elif kind == "outside_maintained_sector":
        fx.destination_code = "MMMMMMM"
        if status in LOCATABLE:
            fx.triggers.append(_trigger(event, TriggerKind.LOCATE_ABROAD, on,
                                        "CTF to MMM: outside the maintained sector (abroad or independent)"))
    else:
        dest = f"{event.get('destination_la') or ''}{event.get('destination_estab') or ''}"
        fx.current_school = dest if len(dest) == 7 else None
        fx.triggers += _located_elsewhere_or_provided(
            event, status, fx.current_school, event.get("destination_la"), local_la, on, "CTF to a school")
    return fx


def _health_patient_update(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    fx = CaseEffects()
    if event.get("deceased") and status is not None:
        fx.triggers.append(_trigger(event, TriggerKind.CLOSE, occurred_on(event), "NHS record: died",
                                    closure_reason=ClosureReason.DIED))
    return fx


def _health_address_change(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    # A new address is a lead, not proof: an officer checks it before the child counts as located.
    return CaseEffects(address_check=status in UNLOCATED and event.get("new_address") is not None)


def _missing_episode(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = occurred_on(event)
    flags = set(_flags_from_child(event.get("child")))
    if event.get("risk") == "high":
        flags.add(RiskFlag.EXPLOITATION_RISK)
    return CaseEffects(
        date_last_seen=_date(event.get("last_seen_at")),
        referral=_open_or(status, Referral(
            ReferralSource.POLICE, DfeReason.MISSING_EPISODE, on, _cause(event), "police missing-person report",
            last_school=event.get("school_laestab"), risk_flags=frozenset(flags))),
    )


def _found(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = _date(event.get("found_at")) or occurred_on(event)
    fx = CaseEffects(date_last_seen=on)
    if status in UNLOCATED:
        if child is not None and child.current_school:
            fx.triggers.append(_trigger(event, TriggerKind.START_PROVISION, on,
                                        f"found by police; on roll at {child.current_school}"))
        else:
            fx.triggers.append(_trigger(event, TriggerKind.LOCATE_LOCAL, on, "found by police"))
    return fx


def _arrival(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = occurred_on(event)
    payload = event.get("child") or {}
    dob = _date(payload.get("date_of_birth"))
    resident = str(event.get("country_of_residence") or "").upper()
    if status is not None or resident in UK_CODES or dob is None or not is_compulsory_school_age(dob, on):
        return CaseEffects(notes=["arrival: not a new school-age arrival without a case"])
    if child is not None and child.current_school:
        return CaseEffects(notes=["arrival: child already on roll"])
    return CaseEffects(referral=Referral(
        ReferralSource.BORDER, DfeReason.NEW_ARRIVAL, on, _cause(event),
        "school-age child arrived from abroad with no school place",
        whereabouts_known=bool(payload.get("addresses")), new_to_area=True, new_to_country=True,
        risk_flags=frozenset({RiskFlag.NEW_ARRIVAL}) | _flags_from_child(payload)))


def _departure(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = occurred_on(event)
    if status is not None or child is None or not child.current_school:
        return CaseEffects(notes=["departure: no child on roll to follow up"])
    return CaseEffects(referral=Referral(
        ReferralSource.BORDER, DfeReason.WHEREABOUTS_UNKNOWN, on, _cause(event),
        f"child on roll at {child.current_school} left the UK; destination unconfirmed",
        last_school=child.current_school))


def enquiry_key(from_la: str, enquiry_id: str) -> str:
    """The register's id of an enquiry, stable across both ends of the exchange."""
    return str(uuid.uuid5(_ENQUIRY_NAMESPACE, f"{from_la}|{enquiry_id}"))


def _enquiry(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = occurred_on(event)
    from_la, to_la = str(event.get("from_la")), str(event.get("to_la"))
    key = enquiry_key(from_la, str(event.get("enquiry_id")))
    if from_la == local_la:
        fx = CaseEffects(enquiry=EnquiryNote(key, EnquiryDirection.OUTGOING, to_la, on))
        if status is S.REFERRED:
            fx.triggers.append(_trigger(event, TriggerKind.START_ENQUIRIES, on, f"enquiry sent to LA {to_la}"))
        return fx
    return CaseEffects(enquiry=EnquiryNote(key, EnquiryDirection.INCOMING, from_la, on))


def _enquiry_response(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = occurred_on(event)
    from_la, to_la = str(event.get("from_la")), str(event.get("to_la"))
    outcome = str(event.get("outcome"))
    # A response travels back: the enquiry was opened by its recipient (to_la).
    fx = CaseEffects(enquiry=EnquiryNote(enquiry_key(to_la, str(event.get("enquiry_id"))), EnquiryDirection.OUTGOING,
                                         from_la, on, outcome=outcome, answers=True))
    if to_la == local_la and status in LOCATABLE and outcome in ("on_roll", "known_not_on_roll",
                                                                  "elective_home_education"):
        fx.triggers.append(_trigger(event, TriggerKind.LOCATE_OTHER_LA, on,
                                    f"LA {from_la} answers: {outcome.replace('_', ' ')}", located_la=from_la))
    return fx


def _case_transfer(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    on = occurred_on(event)
    from_la, to_la = str(event.get("from_la")), str(event.get("to_la"))
    if to_la == local_la:
        return CaseEffects(referral=_open_or(status, Referral(
            ReferralSource.OTHER_LA, DfeReason.AWAITING_SCHOOL_PLACE, on, _cause(event),
            f"case handed over by LA {from_la}: {event.get('transfer_reason')}", whereabouts_known=True,
            new_to_area=True, risk_flags=_flags_from_child(event.get("child")))))
    fx = CaseEffects()
    if from_la == local_la and status in LOCATABLE:
        fx.triggers.append(_trigger(event, TriggerKind.LOCATE_OTHER_LA, on, f"handed over to LA {to_la}",
                                    located_la=to_la))
    return fx


def _no_show(
    event: Mapping[str, Any], status: CaseStatus | None, child: Child | None, local_la: str
) -> CaseEffects:
    # The transition watch (services/transitions) says the child never reached the expected roll.
    on = occurred_on(event)
    school = event.get("school_laestab")
    days = event.get("school_days_allowed")
    start = _date(event.get("expected_start_date"))
    if child is not None and school and child.current_school == school:
        return CaseEffects(notes=[f"no-show: child already on roll at {school}"])
    offered = event.get("no_show_kind") == "offer_not_taken_up"
    why = (f"offered a place at {school} from {start}; not on roll {days} school days later" if offered
           else f"expected at {school} from {start}; no admission return {days} school days later")
    return CaseEffects(referral=_open_or(status, Referral(
        ReferralSource.HUB, DfeReason.OFFERED_PLACE_NOT_STARTED if offered else DfeReason.WHEREABOUTS_UNKNOWN,
        on, _cause(event), why, last_school=event.get("previous_school_laestab"),
        risk_flags=_flags_from_child(event.get("child")))))


_BY_TYPE = {
    "school.deletion_return": _deletion_return,
    "school.admission_return": _admission_return,
    "school.absence_referral": _absence_referral,
    "school.ctf_transfer": _ctf_transfer,
    "health.patient_update": _health_patient_update,
    "health.address_change": _health_address_change,
    "police.missing_episode": _missing_episode,
    "police.found": _found,
    "border.arrival": _arrival,
    "border.departure": _departure,
    "la.enquiry": _enquiry,
    "la.enquiry_response": _enquiry_response,
    "la.case_transfer": _case_transfer,
    "admissions.no_show": _no_show,
}

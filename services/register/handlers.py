"""Apply an already-decided outcome to the register, once per event.

The matcher decides *which child* a notification is about; these handlers record it: create the
child when there is none, add what the event says about identity and addresses, attach the
notification, open or move the child's case and its tasks, and store the event id in the same
transaction so that a redelivered event changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from schemas.events import to_jsonable
from services.register import clocks, lifecycle
from services.register.lifecycle import IllegalTransition, Trigger, TriggerKind
from services.register.model import (
    Address,
    AuditEntry,
    Case,
    CaseStatus,
    Child,
    Enquiry,
    Identifier,
    IdentifierScheme,
    Identity,
    Notification,
    RiskFlag,
    Task,
    TaskKind,
    Transition,
    new_id,
)
from services.register.referrals import CaseEffects, Referral, effects_of, occurred_on
from services.register.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
_SCHEMES = tuple(IdentifierScheme)  # iterating the enum class itself is slow, and this runs per notification

CalendarFor = Callable[[str], clocks.SchoolCalendar]


class UnknownChild(LookupError):
    """The matcher named a child the register does not hold."""


class UnknownCase(LookupError):
    """An action names a case the register does not hold."""


@dataclass
class RecordOutcome:
    """What recording one notification did (ids and counts only: safe to log)."""

    event_id: str
    duplicate: bool = False
    child_id: str | None = None
    created_child: bool = False
    case_id: str | None = None
    opened_case: bool = False
    transitions: list[Transition] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    tasks_opened: int = 0

    def summary(self) -> str:
        if self.duplicate:
            return "duplicate"
        moves = ",".join(t.to_status.value for t in self.transitions) or "none"
        return (f"child={'new' if self.created_child else 'known' if self.child_id else 'none'} "
                f"case={'opened' if self.opened_case else 'yes' if self.case_id else 'none'} moves={moves} "
                f"refused={len(self.refused)}")


def calendar_for(la_code: str) -> clocks.SchoolCalendar:
    """The authority's calendar, or weekdays less bank holidays when it has none configured."""
    return _calendar_in(la_code, clocks.calendar_dir(), dt.date.today().year)


@lru_cache(maxsize=256)
def _calendar_in(la_code: str, directory: Path, year: int) -> clocks.SchoolCalendar:
    # Every notification asks; an authority without a calendar file would otherwise look for it
    # (and fail) each time: 3 % of a matching worker's time under load (py-spy).
    try:
        return clocks.load_calendar(la_code, directory)
    except clocks.CalendarError:
        return _weekday_calendar_in(la_code, year)


@lru_cache(maxsize=256)
def _weekday_calendar_in(la_code: str, year: int) -> clocks.SchoolCalendar:
    # Built once per authority and year: every notification of an authority without a calendar asks.
    years = range(year - 20, year + 5)
    return clocks.SchoolCalendar(la_code=la_code, years=(), bank_holidays=clocks.english_bank_holidays(years))


def _dt(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


# -- what an event says about the child -------------------------------------------------------------


def _address_from(payload: Mapping[str, Any], event_id: str, on: dt.date) -> Address:
    return Address(
        lines=tuple(payload.get("lines") or ()),
        town=payload.get("town"),
        postcode=payload.get("postcode"),
        uprn=payload.get("uprn"),
        kind=str(payload.get("kind") or "unknown"),
        valid_from=_date(payload.get("valid_from")),
        valid_to=_date(payload.get("valid_to")),
        recorded_on=on,
        source_event_id=event_id,
    )


def update_child(child: Child, event: Mapping[str, Any]) -> list[str]:
    """Add the identity, identifiers, addresses and flags ``event`` states; returns what changed."""
    payload = event.get("child")
    on = occurred_on(event)
    event_id = str(event["event_id"])
    changed: list[str] = []
    if payload:
        flags = payload.get("flags") or {}
        if flags.get("restricted") and not child.restricted:
            child.restricted = True
            changed.append("restricted")
        if flags.get("looked_after") and not child.ever_looked_after:
            child.ever_looked_after = True
            changed.append("looked_after")
        if flags.get("ehcp") and not child.ever_ehcp:
            child.ever_ehcp = True
            changed.append("ehcp")
        identity = Identity(
            given_name=payload.get("given_name"),
            surname=payload.get("surname"),
            middle_names=payload.get("middle_names"),
            former_surnames=tuple(payload.get("former_surnames") or ()),
            date_of_birth=_date(payload.get("date_of_birth")),
            date_of_birth_precision=str(payload.get("date_of_birth_precision") or "unknown"),
            sex=str(payload.get("sex") or "U"),
            recorded_on=on,
            source_event_id=event_id,
        )
        if (identity.given_name or identity.surname or identity.date_of_birth) and child.record_identity(identity):
            changed.append("identity")
        for scheme in _SCHEMES:
            value = payload.get(scheme.value)
            if value and child.record_identifier(Identifier(scheme, str(value))):
                changed.append(scheme.value)
        for raw in payload.get("addresses") or ():
            if child.record_address(_address_from(raw, event_id, on)):
                changed.append("address")
    # A move (deletion return, NHS address change) names the new address outside the identity.
    moved_to = event.get("new_address")
    if moved_to and child.record_address(_address_from(moved_to, event_id, on)):
        changed.append("address")
        _close_older_addresses(child, child.addresses[-1])
    return changed


def _close_older_addresses(child: Child, newest: Address) -> None:
    # A move ends the previous home address the day before the new one starts.
    end = (newest.valid_from or newest.recorded_on or dt.date.today()) - dt.timedelta(days=1)
    for i, addr in enumerate(child.addresses[:-1]):
        if addr.valid_to is None and addr.kind in ("home", "unknown"):
            child.addresses[i] = dataclasses.replace(addr, valid_to=end)


# -- cases -------------------------------------------------------------------------------------------


def _open_case(child: Child, referral: Referral) -> Case:
    return Case(
        id=new_id(),
        child_id=child.id,
        status=CaseStatus.REFERRED,
        referral_source=referral.source,
        referred_on=referral.on,
        dfe_reason=referral.reason,
        risk_flags=set(referral.risk_flags)
        | ({RiskFlag.LOOKED_AFTER} if child.ever_looked_after else set())
        | ({RiskFlag.SEND_EHCP} if child.ever_ehcp else set()),
        whereabouts_known=referral.whereabouts_known,
        new_to_area=referral.new_to_area,
        new_to_country=referral.new_to_country,
        last_school=referral.last_school,
    )


def _apply_effects(
    uow: UnitOfWork,
    child: Child,
    case: Case | None,
    fx: CaseEffects,
    calendar: clocks.SchoolCalendar,
    policy: clocks.ClockPolicy,
    outcome: RecordOutcome,
    on: dt.date,
) -> Case | None:
    before = len(case.tasks) if case else 0
    if fx.current_school:
        child.current_school = fx.current_school
    elif fx.leaves_school and child.current_school == fx.leaves_school:
        child.current_school = None
    if fx.referral is not None and case is None:
        case = _open_case(child, fx.referral)
        uow.register.add_case(case)
        refer = Trigger(TriggerKind.REFER, fx.referral.on, fx.referral.cause, fx.referral.why,
                        first_day_absent=fx.referral.first_day_absent)
        outcome.transitions.append(lifecycle.apply(case, refer, calendar, policy))
        outcome.opened_case = True
    if case is None:
        return None
    for trig in fx.triggers:
        try:
            outcome.transitions.append(lifecycle.apply(case, trig, calendar, policy))
        except IllegalTransition as exc:
            outcome.refused.append(str(exc))
    if fx.date_last_seen and (case.date_last_seen is None or fx.date_last_seen > case.date_last_seen):
        case.date_last_seen = fx.date_last_seen
    if fx.destination_code:
        case.destination_code = fx.destination_code
    if fx.address_check and case.is_open and not case.open_tasks(TaskKind.ADDRESS_CHECK):
        case.tasks.append(Task(new_id(), case.id, TaskKind.ADDRESS_CHECK, on,
                               calendar.add_school_days(on, policy.address_check_school_days),
                               note="check the new address a partner reported"))
    outcome.tasks_opened = len(case.tasks) - before
    return case


def _apply_enquiry(uow: UnitOfWork, fx: CaseEffects, child: Child | None, case: Case | None, event_id: str) -> None:
    note = fx.enquiry
    if note is None:
        return
    enq = uow.register.get_enquiry(note.id)
    if enq is None:
        enq = Enquiry(id=note.id, direction=note.direction, other_la=note.other_la, opened_on=note.on,
                      event_id=event_id)
        uow.register.add_enquiry(enq)
    enq.child_id = enq.child_id or (child.id if child else None)
    enq.case_id = enq.case_id or (case.id if case else None)
    if note.answers:
        enq.responded_on, enq.outcome = note.on, note.outcome


def record_notification(
    uow: UnitOfWork,
    event: Mapping[str, Any],
    child_id: str | None,
    *,
    local_la: str | None = None,
    actor: str = "hub:matching",
    calendars: CalendarFor = calendar_for,
    policy: clocks.ClockPolicy | None = None,
    now: dt.datetime | None = None,
) -> RecordOutcome:
    """Record ``event`` against ``child_id`` (None: a new child), once; commits the unit of work.

    ``local_la`` is the authority whose register this is (default: the event's responsible LA).
    A transition the lifecycle refuses is not an error: the notification is still stored, and the
    refusal is audited and returned in ``RecordOutcome.refused``.
    """
    event_id = str(event["event_id"])
    policy = policy or clocks.ClockPolicy()
    la = local_la or str(event.get("responsible_la"))
    outcome = RecordOutcome(event_id=event_id)
    stamp = now or dt.datetime.now(dt.UTC)
    with uow:
        if uow.register.is_processed(event_id):
            outcome.duplicate = True
            return outcome
        child: Child | None = None
        if child_id is not None:
            child = uow.register.get_child(child_id)
            if child is None:
                raise UnknownChild(f"no child {child_id} in the register (event {event_id})")
        elif event.get("child"):
            child = Child(id=new_id(), la_code=la, created_on=occurred_on(event))
            uow.register.add_child(child)
            outcome.created_child = True
        case: Case | None = None
        if child is not None:
            outcome.child_id = child.id
            changed = update_child(child, event)
            case = uow.register.open_case_for(child.id)
            fx = effects_of(event, case.status if case else None, child, la)
            case = _apply_effects(uow, child, case, fx, calendars(la), policy, outcome, occurred_on(event))
            _apply_enquiry(uow, fx, child, case, event_id)
            if changed or outcome.created_child:
                uow.register.add_audit(AuditEntry(stamp, actor, "child.created" if outcome.created_child
                                                  else "child.updated", "child", child.id, ",".join(changed)))
        else:
            fx = effects_of(event, None, None, la)
            _apply_enquiry(uow, fx, None, None, event_id)
        outcome.case_id = case.id if case else None
        for move in outcome.transitions:
            assert case is not None
            uow.register.add_audit(AuditEntry(stamp, actor, f"case.{move.trigger}", "case", case.id,
                                              f"{move.from_status or '-'}->{move.to_status} cause={move.cause}"))
        for refusal in outcome.refused:
            uow.register.add_audit(AuditEntry(stamp, actor, "case.refused", "case", outcome.case_id or "-",
                                              f"event={event_id}: {refusal}"))
        source = event.get("source") or {}
        uow.register.add_notification(Notification(
            event_id=event_id, event_type=str(event.get("event_type")), child_id=outcome.child_id,
            source_partner=str(source.get("partner_id", "")), source_kind=str(source.get("kind", "hub")),
            source_reference=source.get("reference"), responsible_la=str(event.get("responsible_la")),
            occurred_at=_dt(event["occurred_at"]), received_at=_dt(event.get("received_at") or stamp),
            lawful_basis=str(event.get("lawful_basis", "")), payload=to_jsonable(dict(event)),
            case_id=outcome.case_id,
        ))
        uow.register.mark_processed(event_id, outcome.summary(), stamp)
        try:
            uow.commit()
        except IntegrityError:
            # Another worker recorded the same event between our check and our commit.
            uow.rollback()
            if not uow.register.is_processed(event_id):
                raise
            return RecordOutcome(event_id=event_id, duplicate=True)
    # Debug, not info: one line per notification costs more than recording it on a busy stream.
    log.debug("register.notification_recorded", event_id=event_id, event_type=event.get("event_type"),
             outcome=outcome.summary())
    return outcome


# -- officer actions and clocks -----------------------------------------------------------------------


def act_on_case(
    uow: UnitOfWork,
    case_id: str,
    trigger: Trigger,
    *,
    actor: str,
    calendars: CalendarFor = calendar_for,
    policy: clocks.ClockPolicy | None = None,
    now: dt.datetime | None = None,
) -> Transition:
    """An officer's move on a case (start enquiries, escalate, close ...); raises IllegalTransition."""
    with uow:
        case = uow.register.get_case(case_id)
        if case is None:
            raise UnknownCase(f"no case {case_id} in the register")
        child = uow.register.get_child(case.child_id)
        move = lifecycle.apply(case, trigger, calendars(child.la_code if child else ""), policy or clocks.ClockPolicy())
        uow.register.add_audit(AuditEntry(now or dt.datetime.now(dt.UTC), actor, f"case.{move.trigger}", "case",
                                          case.id, f"{move.from_status or '-'}->{move.to_status}"))
        uow.commit()
        return move


def escalate_overdue_tasks(uow: UnitOfWork, today: dt.date, *, actor: str = "clock",
                           now: dt.datetime | None = None) -> int:
    """Mark every overdue, unescalated task as escalated (once) and audit it; returns how many."""
    count = 0
    with uow:
        for case in uow.register.cases_with_overdue_tasks(today):
            for task in lifecycle.overdue(case, today):
                task.escalated_on = today
                count += 1
                uow.register.add_audit(AuditEntry(now or dt.datetime.now(dt.UTC), actor, "task.escalated", "case",
                                                  case.id, f"{task.kind} due {task.due_on}"))
        uow.commit()
    return count

"""The case state machine: a pure function of triggers (events, officer actions, clocks) and dates.

    referred → enquiries under way → located (other LA / abroad / locally without provision)
             → in provision → closed
    referred / enquiries → not found → escalated (police, social care) → lost-pupil CTF → re-checks

``advance`` decides one move and refuses an illegal one with the reason; ``plan_tasks`` says which
deadlines a move opens and which it settles; ``apply`` does both to a ``Case``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from services.register import clocks
from services.register.model import (
    CME_STATUSES,
    Case,
    CaseStatus,
    ClosureReason,
    Task,
    TaskKind,
    TaskState,
    Transition,
    new_id,
)

S = CaseStatus


class TriggerKind(StrEnum):
    """What can happen to a case."""

    REFER = "refer"
    START_ENQUIRIES = "start_enquiries"
    LOCATE_OTHER_LA = "locate_other_la"
    LOCATE_ABROAD = "locate_abroad"
    LOCATE_LOCAL = "locate_local"
    START_PROVISION = "start_provision"
    NOT_FOUND = "not_found"
    ESCALATE = "escalate"
    LOST_PUPIL_CTF = "lost_pupil_ctf"
    RECHECK = "recheck"
    PLACE_ALLOCATED = "place_allocated"
    SERVE_S437_NOTICE = "serve_s437_notice"
    CLOSE = "close"


_UNLOCATED = frozenset({S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL})
_RESOLVED = frozenset({S.LOCATED_OTHER_LA, S.LOCATED_ABROAD, S.IN_PROVISION})

# (from, trigger) → to. Anything absent is refused.
_MOVES: dict[TriggerKind, tuple[frozenset[CaseStatus | None], CaseStatus | None]] = {
    TriggerKind.REFER: (frozenset({None}), S.REFERRED),
    TriggerKind.START_ENQUIRIES: (frozenset({S.REFERRED}), S.ENQUIRIES),
    TriggerKind.LOCATE_OTHER_LA: (_UNLOCATED | {S.LOCATED_LOCAL}, S.LOCATED_OTHER_LA),
    TriggerKind.LOCATE_ABROAD: (_UNLOCATED | {S.LOCATED_LOCAL}, S.LOCATED_ABROAD),
    TriggerKind.LOCATE_LOCAL: (_UNLOCATED, S.LOCATED_LOCAL),
    TriggerKind.START_PROVISION: (_UNLOCATED | {S.LOCATED_LOCAL}, S.IN_PROVISION),
    TriggerKind.NOT_FOUND: (frozenset({S.REFERRED, S.ENQUIRIES}), S.NOT_FOUND),
    TriggerKind.ESCALATE: (frozenset({S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.LOST_PUPIL}), S.ESCALATED),
    TriggerKind.LOST_PUPIL_CTF: (frozenset({S.NOT_FOUND, S.ESCALATED}), S.LOST_PUPIL),
    # Same-state moves: recorded in the history, they reset clocks.
    TriggerKind.RECHECK: (frozenset({S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL, S.LOCATED_LOCAL}), None),
    TriggerKind.PLACE_ALLOCATED: (frozenset({S.LOCATED_LOCAL}), None),
    TriggerKind.SERVE_S437_NOTICE: (frozenset({S.LOCATED_LOCAL}), None),
    TriggerKind.CLOSE: (_RESOLVED, S.CLOSED),  # checked by _close, with the administrative reasons
}

# Closing without the child being resolved is allowed only for these reasons.
_ADMINISTRATIVE_CLOSURES = frozenset(
    {ClosureReason.DIED, ClosureReason.OVER_COMPULSORY_AGE, ClosureReason.OPENED_IN_ERROR}
)

_HINTS: dict[TriggerKind, str] = {
    TriggerKind.REFER: "a child with an open case is referred again: record it as a notification on that case",
    TriggerKind.START_ENQUIRIES: "enquiries start from a fresh referral only",
    TriggerKind.NOT_FOUND: "only a case still under enquiry can be marked not found",
    TriggerKind.LOST_PUPIL_CTF: "a lost-pupil CTF follows failed enquiries: mark the case not found first",
    TriggerKind.CLOSE: (
        "a case closes once the child is in provision or located elsewhere, "
        "or for died / over compulsory age / opened in error"
    ),
    TriggerKind.PLACE_ALLOCATED: "a school place is allocated to a child located in the area",
    TriggerKind.SERVE_S437_NOTICE: "an s437 notice is served on the parent of a child located in the area",
}


class IllegalTransition(ValueError):
    """A move the lifecycle does not allow, with the reason a person can act on."""

    def __init__(self, status: CaseStatus | None, trigger: TriggerKind, reason: str) -> None:
        self.status = status
        self.trigger = trigger
        self.reason = reason
        state = status.value if status else "no case"
        super().__init__(f"cannot {trigger.value.replace('_', ' ')} from {state}: {reason}")


@dataclass(frozen=True)
class Trigger:
    """One thing that happened to a case, on a date, caused by an event, an officer or a clock."""

    kind: TriggerKind
    on: dt.date
    cause: str
    reason: str
    closure_reason: ClosureReason | None = None
    located_la: str | None = None
    # For a 10-day absence referral: the first day of continuous absence, when the school gave it.
    first_day_absent: dt.date | None = None
    # For place allocation: the start date at the new school.
    starts_on: dt.date | None = None


def advance(status: CaseStatus | None, trigger: Trigger) -> Transition:
    """The move ``trigger`` makes from ``status``; raises IllegalTransition with the reason."""
    if status is S.CLOSED:
        raise IllegalTransition(status, trigger.kind, "the case is closed: open a new episode for a new referral")
    if trigger.kind is TriggerKind.CLOSE:
        return _close(status, trigger)
    sources, target = _MOVES[trigger.kind]
    if status not in sources:
        raise IllegalTransition(status, trigger.kind, _HINTS.get(trigger.kind, "not allowed from this state"))
    to_status = target if target is not None else status
    assert to_status is not None
    return Transition(
        from_status=status,
        to_status=to_status,
        trigger=trigger.kind.value,
        on=trigger.on,
        cause=trigger.cause,
        reason=trigger.reason,
    )


def _close(status: CaseStatus | None, trigger: Trigger) -> Transition:
    """Close a resolved case, or any open case for an administrative reason."""
    if trigger.closure_reason is None:
        raise IllegalTransition(status, trigger.kind, "say why the case closes (a closure reason)")
    if status is None:
        raise IllegalTransition(status, trigger.kind, "there is no open case to close")
    if status not in _RESOLVED and trigger.closure_reason not in _ADMINISTRATIVE_CLOSURES:
        raise IllegalTransition(status, trigger.kind, _HINTS[TriggerKind.CLOSE])
    return Transition(status, S.CLOSED, trigger.kind.value, trigger.on, trigger.cause, trigger.reason)


def replay(triggers: Iterable[Trigger]) -> list[Transition]:
    """Every transition a sequence of triggers makes from no case (raises on the first illegal one)."""
    status: CaseStatus | None = None
    out = []
    for trig in triggers:
        move = advance(status, trig)
        out.append(move)
        status = move.to_status
    return out


# -- Deadlines a move opens and settles. --------------------------------------------------------------


@dataclass(frozen=True)
class TaskPlan:
    """Tasks to open (kind, due date, note) and kinds of open task this move settles."""

    open: tuple[tuple[TaskKind, dt.date, str], ...] = ()
    settle: frozenset[TaskKind] = field(default_factory=frozenset)


_ALL_TASKS = frozenset(TaskKind)
_LOCATING_TASKS = frozenset(
    {TaskKind.HOME_VISIT, TaskKind.JOINT_ENQUIRY, TaskKind.ADDRESS_CHECK, TaskKind.LOST_PUPIL_CTF}
)


def plan_tasks(
    move: Transition,
    trigger: Trigger,
    calendar: clocks.SchoolCalendar,
    policy: clocks.ClockPolicy,
) -> TaskPlan:
    """Which deadlines open and which are settled by ``move`` (pure)."""
    on, to = move.on, move.to_status
    kind = TriggerKind(move.trigger)
    if kind is TriggerKind.REFER:
        opens = [(TaskKind.HOME_VISIT, clocks.home_visit_due(calendar, on, policy), "home visit within 5 school days")]
        if trigger.first_day_absent is not None:
            window = clocks.joint_enquiry_window(calendar, trigger.first_day_absent, policy)
            opens.append((TaskKind.JOINT_ENQUIRY, window.closes_on, f"joint enquiries from {window.opens_on}"))
        return TaskPlan(open=tuple(opens))
    if kind is TriggerKind.START_ENQUIRIES:
        return TaskPlan()
    if to in (S.LOCATED_OTHER_LA, S.LOCATED_ABROAD):
        handover = (TaskKind.HANDOVER, calendar.add_school_days(on, policy.enquiry_response_school_days),
                    "hand over and close")
        return TaskPlan(open=(handover,), settle=_ALL_TASKS)
    if to is S.LOCATED_LOCAL and kind is TriggerKind.LOCATE_LOCAL:
        follow = (TaskKind.FOLLOW_UP, clocks.follow_up_due(calendar, on, policy), "re-check until in provision")
        return TaskPlan(open=(follow,), settle=_LOCATING_TASKS | {TaskKind.FOLLOW_UP})
    if to is S.IN_PROVISION:
        return TaskPlan(settle=_ALL_TASKS)
    if to is S.CLOSED:
        return TaskPlan(settle=_ALL_TASKS)
    if to is S.NOT_FOUND and kind is TriggerKind.NOT_FOUND:
        due = calendar.add_school_days(on, policy.lost_pupil_ctf_school_days)
        return TaskPlan(
            open=(
                (TaskKind.LOST_PUPIL_CTF, due, "upload a lost-pupil CTF (XXX) once enquiries have failed"),
                (TaskKind.FOLLOW_UP, clocks.follow_up_due(calendar, on, policy), "periodic re-check"),
            ),
            settle=frozenset({TaskKind.HOME_VISIT, TaskKind.JOINT_ENQUIRY}),
        )
    if to is S.ESCALATED and kind is TriggerKind.ESCALATE:
        return TaskPlan(
            open=((TaskKind.FOLLOW_UP, clocks.follow_up_due(calendar, on, policy), "re-check after escalation"),),
            settle=frozenset({TaskKind.FOLLOW_UP}),
        )
    if to is S.LOST_PUPIL and kind is TriggerKind.LOST_PUPIL_CTF:
        return TaskPlan(
            open=((TaskKind.FOLLOW_UP, clocks.follow_up_due(calendar, on, policy), "periodic re-check"),),
            settle=frozenset({TaskKind.LOST_PUPIL_CTF, TaskKind.FOLLOW_UP}),
        )
    if kind is TriggerKind.RECHECK:
        return TaskPlan(
            open=((TaskKind.FOLLOW_UP, clocks.follow_up_due(calendar, on, policy), "periodic re-check"),),
            settle=frozenset({TaskKind.FOLLOW_UP}),
        )
    if kind is TriggerKind.PLACE_ALLOCATED:
        start = trigger.starts_on or on
        due = clocks.new_pupil_return_due(calendar, start, policy)
        return TaskPlan(open=((TaskKind.NEW_PUPIL_RETURN, due, f"new-pupil return after start on {start}"),))
    if kind is TriggerKind.SERVE_S437_NOTICE:
        end = clocks.notice_period_end(on, policy.s437_notice_calendar_days)
        return TaskPlan(open=((TaskKind.S437_NOTICE, end, "parent to show suitable education (s437)"),))
    return TaskPlan()


def apply(
    case: Case,
    trigger: Trigger,
    calendar: clocks.SchoolCalendar,
    policy: clocks.ClockPolicy,
) -> Transition:
    """Move ``case`` by ``trigger``: record the transition, settle and open tasks, set dates."""
    move = advance(case.status if case.history else None, trigger)
    plan = plan_tasks(move, trigger, calendar, policy)
    # A task that this move would settle and reopen with the same deadline simply stays open.
    unchanged = {(t.kind, t.due_on) for t in case.open_tasks()} & {(k, due) for k, due, _ in plan.open}
    for task in case.tasks:
        if task.state is TaskState.OPEN and task.kind in plan.settle and (task.kind, task.due_on) not in unchanged:
            task.state = TaskState.DONE if move.to_status is not S.CLOSED else TaskState.CANCELLED
            task.closed_on = move.on
            task.closed_by = move.cause
    for kind, due, note in plan.open:
        if (kind, due) not in unchanged:
            case.tasks.append(Task(new_id(), case.id, kind, opened_on=move.on, due_on=due, note=note))
    case.status = move.to_status
    case.history.append(move)
    if move.to_status in (S.LOCATED_OTHER_LA, S.LOCATED_ABROAD, S.LOCATED_LOCAL, S.IN_PROVISION):
        case.whereabouts_known = True
    if move.to_status is S.LOCATED_OTHER_LA:
        case.located_la = trigger.located_la
    if move.to_status is S.IN_PROVISION:
        case.provision_on = move.on
    if move.to_status not in CME_STATUSES and case.cme_ended_on is None:
        case.cme_ended_on = move.on
    if move.to_status is S.CLOSED:
        case.closed_on = move.on
        case.closure_reason = trigger.closure_reason
    return move


def overdue(case: Case, today: dt.date) -> list[Task]:
    """Open tasks past their due date and not yet escalated."""
    return [t for t in case.open_tasks() if t.is_overdue(today) and t.escalated_on is None]

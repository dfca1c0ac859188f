"""The case state machine: legal paths, refused moves with reasons, and the tasks each move sets."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from services.register import clocks, lifecycle
from services.register.lifecycle import IllegalTransition, Trigger, TriggerKind
from services.register.model import (
    Case,
    CaseStatus,
    ClosureReason,
    ReferralSource,
    TaskKind,
    TaskState,
)

D = dt.date
S = CaseStatus
K = TriggerKind
POLICY = clocks.ClockPolicy()
DAY = D(2025, 11, 3)


@pytest.fixture(scope="module")
def leeds() -> clocks.SchoolCalendar:
    return clocks.load_calendar("383")


def t(kind: TriggerKind, on: dt.date = DAY, **kw: object) -> Trigger:
    return Trigger(kind, on, cause=f"event-{kind.value}", reason=f"because {kind.value}", **kw)  # type: ignore[arg-type]


def statuses(moves: list) -> list[CaseStatus]:
    return [m.to_status for m in moves]


def test_found_locally_placed_and_closed() -> None:
    moves = lifecycle.replay(
        [t(K.REFER), t(K.START_ENQUIRIES), t(K.LOCATE_LOCAL), t(K.START_PROVISION),
         t(K.CLOSE, closure_reason=ClosureReason.IN_PROVISION)]
    )
    assert statuses(moves) == [S.REFERRED, S.ENQUIRIES, S.LOCATED_LOCAL, S.IN_PROVISION, S.CLOSED]
    assert moves[0].from_status is None
    assert all(m.cause.startswith("event-") and m.reason.startswith("because") for m in moves)


def test_not_found_escalated_lost_pupil_rechecked_then_placed() -> None:
    moves = lifecycle.replay(
        [t(K.REFER), t(K.NOT_FOUND), t(K.ESCALATE), t(K.LOST_PUPIL_CTF), t(K.RECHECK), t(K.START_PROVISION),
         t(K.CLOSE, closure_reason=ClosureReason.IN_PROVISION)]
    )
    assert statuses(moves) == [S.REFERRED, S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL, S.LOST_PUPIL,
                               S.IN_PROVISION, S.CLOSED]


@pytest.mark.parametrize("where", [K.LOCATE_OTHER_LA, K.LOCATE_ABROAD])
def test_located_elsewhere_then_closed(where: TriggerKind) -> None:
    moves = lifecycle.replay([t(K.REFER), t(where), t(K.CLOSE, closure_reason=ClosureReason.HANDED_TO_OTHER_LA)])
    assert moves[-1].to_status is S.CLOSED


def test_lost_pupil_ctf_before_enquiries_fail_is_refused_with_the_reason() -> None:
    with pytest.raises(IllegalTransition, match="mark the case not found first") as err:
        lifecycle.advance(S.REFERRED, t(K.LOST_PUPIL_CTF))
    assert err.value.status is S.REFERRED and err.value.trigger is K.LOST_PUPIL_CTF


def test_closing_an_unlocated_child_needs_an_administrative_reason() -> None:
    with pytest.raises(IllegalTransition, match="once the child is in provision or located"):
        lifecycle.advance(S.NOT_FOUND, t(K.CLOSE, closure_reason=ClosureReason.IN_PROVISION))
    assert lifecycle.advance(S.NOT_FOUND, t(K.CLOSE, closure_reason=ClosureReason.DIED)).to_status is S.CLOSED
    with pytest.raises(IllegalTransition, match="closure reason"):
        lifecycle.advance(S.IN_PROVISION, t(K.CLOSE))


def test_nothing_moves_a_closed_case_and_a_case_is_referred_once() -> None:
    for kind in K:
        with pytest.raises(IllegalTransition, match="case is closed"):
            lifecycle.advance(S.CLOSED, t(kind, closure_reason=ClosureReason.DIED))
    with pytest.raises(IllegalTransition, match="referred again"):
        lifecycle.advance(S.ENQUIRIES, t(K.REFER))
    with pytest.raises(IllegalTransition, match="no case"):
        lifecycle.advance(None, t(K.START_ENQUIRIES))


# The whole table: every (state, trigger) either moves as documented or is refused with a reason.
ALLOWED: dict[tuple[CaseStatus | None, TriggerKind], CaseStatus] = {
    (None, K.REFER): S.REFERRED,
    (S.REFERRED, K.START_ENQUIRIES): S.ENQUIRIES,
    **{(s, K.LOCATE_OTHER_LA): S.LOCATED_OTHER_LA
       for s in (S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL, S.LOCATED_LOCAL)},
    **{(s, K.LOCATE_ABROAD): S.LOCATED_ABROAD
       for s in (S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL, S.LOCATED_LOCAL)},
    **{(s, K.LOCATE_LOCAL): S.LOCATED_LOCAL for s in (S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL)},
    **{(s, K.START_PROVISION): S.IN_PROVISION
       for s in (S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL, S.LOCATED_LOCAL)},
    (S.REFERRED, K.NOT_FOUND): S.NOT_FOUND,
    (S.ENQUIRIES, K.NOT_FOUND): S.NOT_FOUND,
    **{(s, K.ESCALATE): S.ESCALATED for s in (S.REFERRED, S.ENQUIRIES, S.NOT_FOUND, S.LOST_PUPIL)},
    (S.NOT_FOUND, K.LOST_PUPIL_CTF): S.LOST_PUPIL,
    (S.ESCALATED, K.LOST_PUPIL_CTF): S.LOST_PUPIL,
    **{(s, K.RECHECK): s for s in (S.NOT_FOUND, S.ESCALATED, S.LOST_PUPIL, S.LOCATED_LOCAL)},
    (S.LOCATED_LOCAL, K.PLACE_ALLOCATED): S.LOCATED_LOCAL,
    (S.LOCATED_LOCAL, K.SERVE_S437_NOTICE): S.LOCATED_LOCAL,
    **{(s, K.CLOSE): S.CLOSED for s in (S.LOCATED_OTHER_LA, S.LOCATED_ABROAD, S.IN_PROVISION)},
}


@pytest.mark.parametrize(("status", "kind"), list(itertools.product([None, *S], K)))
def test_transition_table(status: CaseStatus | None, kind: TriggerKind) -> None:
    trigger = t(kind, closure_reason=ClosureReason.HANDED_TO_OTHER_LA)
    expected = ALLOWED.get((status, kind))
    if expected is None:
        with pytest.raises(IllegalTransition) as err:
            lifecycle.advance(status, trigger)
        assert err.value.reason
    else:
        move = lifecycle.advance(status, trigger)
        assert (move.from_status, move.to_status, move.trigger) == (status, expected, kind.value)


def new_case() -> Case:
    return Case(id="case-1", child_id="child-1", status=S.REFERRED, referral_source=ReferralSource.SCHOOL,
                referred_on=D(2025, 10, 24))


def test_referral_on_friday_before_half_term_opens_home_visit_and_joint_enquiry(leeds: clocks.SchoolCalendar) -> None:
    case = new_case()
    lifecycle.apply(case, t(K.REFER, D(2025, 10, 24), first_day_absent=D(2025, 10, 13)), leeds, POLICY)
    due = {task.kind: task.due_on for task in case.open_tasks()}
    assert due == {TaskKind.HOME_VISIT: D(2025, 11, 7), TaskKind.JOINT_ENQUIRY: D(2025, 11, 14)}
    assert lifecycle.overdue(case, D(2025, 11, 7)) == []
    assert [x.kind for x in lifecycle.overdue(case, D(2025, 11, 10))] == [TaskKind.HOME_VISIT]


def test_provision_settles_every_task_and_ends_the_cme_episode(leeds: clocks.SchoolCalendar) -> None:
    case = new_case()
    lifecycle.apply(case, t(K.REFER, D(2025, 10, 24)), leeds, POLICY)
    lifecycle.apply(case, t(K.NOT_FOUND, D(2025, 11, 10)), leeds, POLICY)
    assert {x.kind for x in case.open_tasks()} == {TaskKind.LOST_PUPIL_CTF, TaskKind.FOLLOW_UP}
    lifecycle.apply(case, t(K.START_PROVISION, D(2025, 12, 1)), leeds, POLICY)
    assert case.open_tasks() == []
    assert all(x.state is TaskState.DONE for x in case.tasks)
    assert (case.provision_on, case.cme_ended_on, case.whereabouts_known) == (D(2025, 12, 1), D(2025, 12, 1), True)
    lifecycle.apply(case, t(K.CLOSE, D(2025, 12, 12), closure_reason=ClosureReason.IN_PROVISION), leeds, POLICY)
    assert (case.status, case.closed_on, case.closure_reason) == (S.CLOSED, D(2025, 12, 12), ClosureReason.IN_PROVISION)
    assert [m.to_status for m in case.history] == [S.REFERRED, S.NOT_FOUND, S.IN_PROVISION, S.CLOSED]


def test_located_locally_then_place_and_s437_notice_deadlines(leeds: clocks.SchoolCalendar) -> None:
    case = new_case()
    lifecycle.apply(case, t(K.REFER, D(2025, 10, 24)), leeds, POLICY)
    lifecycle.apply(case, t(K.LOCATE_LOCAL, D(2025, 11, 3)), leeds, POLICY)
    assert case.is_cme and case.whereabouts_known
    lifecycle.apply(case, t(K.SERVE_S437_NOTICE, D(2025, 11, 3)), leeds, POLICY)
    lifecycle.apply(case, t(K.PLACE_ALLOCATED, D(2025, 11, 4), starts_on=D(2025, 11, 10)), leeds, POLICY)
    due = {task.kind: task.due_on for task in case.open_tasks()}
    assert due[TaskKind.S437_NOTICE] == D(2025, 11, 17)
    assert due[TaskKind.NEW_PUPIL_RETURN] == D(2025, 11, 17)
    assert due[TaskKind.FOLLOW_UP] == D(2025, 12, 1)


def test_recheck_moves_the_follow_up_on(leeds: clocks.SchoolCalendar) -> None:
    case = new_case()
    for trig in (t(K.REFER, D(2025, 10, 24)), t(K.NOT_FOUND, D(2025, 11, 3)), t(K.RECHECK, D(2025, 12, 1))):
        lifecycle.apply(case, trig, leeds, POLICY)
    follow = case.open_tasks(TaskKind.FOLLOW_UP)
    assert [x.due_on for x in follow] == [D(2026, 1, 12)]  # 20 school days after 1 Dec, over Christmas

"""A simulated September: offers made, most children arrive, a few do not; no-shows become referrals on the due day."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from schemas.events import make_envelope, make_event
from services.register.database import migrate
from services.register.handlers import calendar_for, record_notification
from services.register.model import CaseStatus, DfeReason
from services.register.orm import CaseRow
from services.register.unit_of_work import UnitOfWorkFactory, unit_of_work_factory
from services.transitions.offer_days import national_offer_day, september_start
from services.transitions.watch import TransitionPolicy, close_task, expectations_for_child, open_tasks, run_watch
from tests.integration.places.builders import admission_return, child, deletion_to_school, offer

LA = "383"
SECONDARY, PRIMARY, OTHER_SECONDARY = "3834001", "3832001", "3834002"


def _with_cases(uows: UnitOfWorkFactory) -> set[str]:
    with uows() as uow:
        assert uow.session is not None
        return set(uow.session.scalars(sa.select(CaseRow.child_id)))


def _cases(uows: UnitOfWorkFactory, child_ids: list[str]) -> dict[str, list[object]]:
    with uows() as uow:
        return {cid: list(uow.register.cases_for_child(cid)) for cid in child_ids}


def test_a_simulated_september(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    rng = random.Random(11)
    calendar = calendar_for(LA)
    start = september_start(calendar, 2025)
    assert start == dt.date(2025, 9, 1)
    due = calendar.add_school_days(start, 5)
    assert due == dt.date(2025, 9, 8)
    try:
        children: dict[str, tuple[dict[str, object], str, str]] = {}  # child id -> (payload, school, year)
        for n in range(60):
            year = "Y7" if n < 40 else "R"
            dob = dt.date(2014, 3, 1) + dt.timedelta(days=n) if year == "Y7" else dt.date(2021, 1, 1) + dt.timedelta(n)
            payload = child(n, dob, rng)
            school = SECONDARY if year == "Y7" else PRIMARY
            round_name = "secondary" if year == "Y7" else "reception"
            made = offer(payload, f"NOD-{n:03d}", school, year, national_offer_day(round_name, 2025), start,
                         f"national_offer_day_{round_name}")
            outcome = record_notification(uows(), made, None, local_la=LA)
            assert outcome.child_id and not outcome.opened_case
            children[outcome.child_id] = (payload, school, year)
        ids = sorted(children)
        no_shows = set(rng.sample(ids, 6))
        late = sorted(no_shows)[0]  # arrives on day 8: a referral opens on the due day, then closes in provision
        elsewhere = next(i for i in ids if i not in no_shows)  # on roll, but at another school than offered
        arrivals: dict[dt.date, list[str]] = {}
        for cid in ids:
            if cid in no_shows and cid != late:
                continue
            offset = 7 if cid == late else rng.randint(0, 4)
            day = calendar.add_school_days(start, offset)
            arrivals.setdefault(day, []).append(cid)

        opened_on: dict[str, dt.date] = {}
        day = dt.date(2025, 8, 25)
        while day <= dt.date(2025, 9, 30):
            for cid in arrivals.get(day, []):
                payload, school, year = children[cid]
                at = OTHER_SECONDARY if cid == elsewhere else school
                record_notification(uows(), admission_return(payload, at, day, year), cid, local_la=LA)
            run_watch(uows, LA, day)
            for cid in _with_cases(uows) - set(opened_on):
                opened_on[cid] = day
            day += dt.timedelta(days=1)

        # Every no-show became a referral, on the due day; none for children who arrived.
        assert set(opened_on) == no_shows
        assert set(opened_on.values()) == {due}
        final = _cases(uows, ids)
        for cid in no_shows:
            (case,) = final[cid]
            assert case.referred_on == due and case.dfe_reason is DfeReason.OFFERED_PLACE_NOT_STARTED  # type: ignore[attr-defined]
            expected = CaseStatus.IN_PROVISION if cid == late else CaseStatus.REFERRED
            assert case.status is expected  # type: ignore[attr-defined]
        # Running the watch again changes nothing (the no-show event is recorded once).
        assert run_watch(uows, LA, dt.date(2025, 10, 1)).no_shows == []
    finally:
        uows.dispose()


def test_no_show_days_are_configurable(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    calendar = calendar_for(LA)
    rng = random.Random(3)
    try:
        start = dt.date(2025, 11, 3)  # in-year offer, first day back after half term
        payload = child(1, dt.date(2016, 5, 5), rng)
        made = offer(payload, "IYA-1", PRIMARY, "Y4", dt.date(2025, 10, 20), start, "in_year")
        cid = record_notification(uows(), made, None, local_la=LA).child_id
        assert cid
        policy = TransitionPolicy(no_show_school_days=3)
        due = calendar.add_school_days(start, 3)
        assert run_watch(uows, LA, due - dt.timedelta(days=1), policy=policy).no_shows == []
        summary = run_watch(uows, LA, due, policy=policy)
        assert len(summary.no_shows) == 1
        with uows() as uow:
            (case,) = uow.register.cases_for_child(cid)
            assert case.referred_on == due
    finally:
        uows.dispose()


def test_a_deletion_return_naming_a_school_expects_its_admission_return(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    calendar = calendar_for(LA)
    rng = random.Random(5)
    try:
        start = dt.date(2025, 11, 10)
        due = calendar.add_school_days(start, 5)
        came, missing = child(1, dt.date(2015, 1, 2), rng), child(2, dt.date(2015, 2, 3), rng)
        ids = []
        for payload in (came, missing):
            event = deletion_to_school(payload, "3832005", SECONDARY, dt.date(2025, 11, 7), start)
            outcome = record_notification(uows(), event, None, local_la=LA)
            assert outcome.child_id and not outcome.opened_case
            ids.append(outcome.child_id)
        # Another authority's school sends its return to that authority: no expectation here.
        elsewhere = child(3, dt.date(2015, 3, 4), rng)
        other = deletion_to_school(elsewhere, "3832005", "3844001", dt.date(2025, 11, 7), start)
        record_notification(uows(), other, None, local_la=LA)
        record_notification(uows(), admission_return(came, SECONDARY, start, "Y6"), ids[0], local_la=LA)
        assert run_watch(uows, LA, due - dt.timedelta(days=1)).tasks_raised == 0
        summary = run_watch(uows, LA, due)
        assert summary.tasks_raised == 1 and summary.arrived == 1 and summary.no_shows == []
        (task,) = open_tasks(uows, LA)
        assert task.child_id == ids[1] and task.school_laestab == SECONDARY and task.due_on == due
        assert "no admission return" in task.note
        # The officer finds the child never arrived: a CME referral opens.
        case_id = close_task(uows, task.expectation_id, arrived=False, today=due)
        assert case_id is not None and open_tasks(uows, LA) == []
        with uows() as uow:
            case = uow.register.get_case(case_id)
            assert case is not None and case.dfe_reason is DfeReason.WHEREABOUTS_UNKNOWN
    finally:
        uows.dispose()


def test_an_accepted_offer_moves_the_expected_start(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    calendar = calendar_for(LA)
    rng = random.Random(8)
    try:
        payload = child(9, dt.date(2016, 7, 7), rng)
        made = offer(payload, "IYA-9", PRIMARY, "Y4", dt.date(2025, 10, 20), dt.date(2025, 11, 3), "in_year")
        cid = record_notification(uows(), made, None, local_la=LA).child_id
        assert cid
        accepted = make_event("admissions.offer_accepted", make_envelope(
            "admissions.offer_accepted", partner_id="la:383:admissions", source_kind="authority",
            responsible_la=LA, occurred_at=dt.datetime(2025, 10, 22, 9, tzinfo=dt.UTC), reference="accept/IYA-9"),
            child=payload, application_reference="IYA-9", school_laestab=PRIMARY, accepted_on=dt.date(2025, 10, 22),
            expected_start_date=dt.date(2025, 11, 17))
        record_notification(uows(), accepted, cid, local_la=LA)
        first_due = calendar.add_school_days(dt.date(2025, 11, 3), 5)
        assert run_watch(uows, LA, first_due).no_shows == []  # the start moved two weeks on
        (expectation,) = expectations_for_child(uows, cid)
        assert expectation["expected_start"] == dt.date(2025, 11, 17) and expectation["state"] == "expected"
        assert len(run_watch(uows, LA, calendar.add_school_days(dt.date(2025, 11, 17), 5)).no_shows) == 1
    finally:
        uows.dispose()

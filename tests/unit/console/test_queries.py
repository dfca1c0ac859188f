"""The console's queries against the register's own definitions, on the demo register."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.api.console import queries
from services.register.database import make_engine, session_factory
from services.register.orm import CaseRow
from services.register.views import cme_on
from tests.unit.console.demo import Demo


def test_cme_over_time_matches_a_count_per_month_end(demo_url: str, demo: Demo) -> None:
    engine = make_engine(demo_url)
    with session_factory(engine)() as session:
        # Move some episodes' ends and referrals around the months so every branch has work.
        ids = list(session.scalars(sa.select(CaseRow.id).order_by(CaseRow.id)))
        today = dt.date.today()
        for n, case_id in enumerate(ids):
            row = session.get(CaseRow, case_id)
            assert row is not None
            row.referred_on = today - dt.timedelta(days=40 * n + 3)
            row.cme_ended_on = None if n % 3 == 0 else row.referred_on + dt.timedelta(days=25 + 17 * n)
        session.commit()
        series = queries.cme_over_time(session, today)
        expected = [(day, session.scalar(sa.select(sa.func.count()).select_from(CaseRow).where(cme_on(day))))
                    for day in queries.month_ends(today, 12)]
    engine.dispose()
    assert series == expected and len(series) == 12 and series[-1][0] == today


def test_caseload_filters(demo_url: str, demo: Demo) -> None:
    engine = make_engine(demo_url)
    today = dt.date.today()
    with session_factory(engine)() as session:
        everything = queries.caseload(session, queries.CaseloadFilter(status="all"), today, "383")
        school = queries.caseload(session, queries.CaseloadFilter(status="all", school="3832002"), today, "383")
        overdue = queries.caseload(session, queries.CaseloadFilter(overdue=True), today, "383")
        elsewhere = queries.caseload(session, queries.CaseloadFilter(status="all"), today, "999")
        assert not queries.other_authorities(session, "383") and queries.other_authorities(session, "999")
    engine.dispose()
    assert everything.total == len(everything.rows) == 10  # Amina, Tomasz and eight others
    assert [r.case_id for r in school.rows] == [demo.restricted_case]
    assert overdue.total and all(r.overdue_tasks for r in overdue.rows)
    assert elsewhere.total == 0

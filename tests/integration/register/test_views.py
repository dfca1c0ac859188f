"""Case view, dashboard measures, DfE extract and retention on a small known register, on both backends."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from services.register import retention
from services.register.dfe_extract import build_extract
from services.register.handlers import record_notification
from services.register.measures import Period
from services.register.model import (
    Case,
    CaseStatus,
    Child,
    ClosureReason,
    Identity,
    ReferralSource,
)
from services.register.unit_of_work import UnitOfWorkFactory
from services.register.views import NotFoundInRegister, child_timeline, dashboard
from tests.unit.register import builders as b

D = dt.date


@pytest.fixture
def known(uows: UnitOfWorkFactory) -> dict[str, str]:
    """Six children whose every count below can be worked out by hand."""
    kids = {
        "A": b.child(given="Amy", surname="Adams", upn=None),
        "B": b.child(given="Ben", surname="Brown", upn=None),
        "C": b.child(given="Cara", surname="Costa", upn=None, dob=D(2015, 3, 3)),
        "D": b.child(given="Dan", surname="Dunn", upn=None),
        "E": b.child(given="Eve", surname="Ellis", upn=None),
        "F": b.child(given="Fin", surname="Ford", upn=None),
    }
    ids: dict[str, str] = {}

    def send(name: str, event: dict) -> None:
        out = record_notification(uows(), event, ids.get(name), local_la="383")
        ids.setdefault(name, out.child_id or "")

    send("A", b.deletion(D(2025, 10, 24), "a1", ground="9(1)(g)", kid=kids["A"]))
    send("A", b.admission(D(2025, 11, 10), "a2", kid=kids["A"]))
    send("B", b.lost_ctf(D(2025, 11, 3), "b01", kid=kids["B"]))
    send("C", b.arrival(D(2025, 11, 5), "c1", kid=kids["C"]))
    send("D", b.missing_episode(D(2025, 9, 15), "d1", kid=kids["D"], risk="high"))
    send("D", b.police_found(D(2025, 9, 20), "d2", kid=kids["D"]))
    send("E", b.deletion(D(2025, 10, 1), "e1", ground="9(1)(k)", kid=kids["E"]))
    send("F", b.deletion(D(2025, 6, 2), "f1", ground="9(1)(g)", kid=kids["F"]))
    send("F", b.admission(D(2025, 6, 20), "f2", kid=kids["F"]))
    return ids


def test_dashboard_measures(uows: UnitOfWorkFactory, known: dict[str, str]) -> None:
    with uows() as uow:
        assert uow.session is not None
        m = dashboard(uow.session, D(2025, 12, 10), Period(D(2025, 9, 1), D(2025, 12, 10)))
    assert (m.cme_now, m.cme_any_point, m.referred_in_period) == (3, 4, 4)
    assert (m.new_to_area, m.new_to_country, m.whereabouts_unknown) == (1, 1, 1)
    assert m.by_reason == {"whereabouts_unknown": 1, "new_arrival": 1, "missing_episode": 1}
    assert m.by_risk == {"new_arrival": 1, "exploitation_risk": 1}
    assert m.by_status == {"referred": 1, "lost_pupil": 1, "located_local": 1, "in_provision": 2}
    assert (m.overdue_tasks, m.overdue_follow_ups) == (3, 2)
    assert (m.pace.cases, m.pace.median_days, m.pace.within_20_days) == (1, 17, 1)
    earlier = None
    with uows() as uow:
        assert uow.session is not None
        earlier = dashboard(uow.session, D(2025, 10, 2), Period(D(2025, 9, 1), D(2025, 10, 2)))
    assert (earlier.cme_now, earlier.by_reason) == (1, {"missing_episode": 1})


def test_dfe_extract(uows: UnitOfWorkFactory, known: dict[str, str]) -> None:
    with uows() as uow:
        assert uow.session is not None
        extract = build_extract(uow.session, D(2025, 10, 2), "383")
    assert extract.value("cme_on_census_date") == 1
    assert extract.value("cme_on_census_date_by_sex", "female") == 1
    assert extract.value("cme_on_census_date_by_year_group", "Y7") == 1
    assert extract.value("cme_on_census_date_by_time_missing", "less than 4 weeks") == 1
    assert extract.value("cme_on_census_date_by_primary_reason", "Reported missing") == 1
    assert extract.value("cme_any_point_previous_school_year") == 1
    assert extract.value("cme_any_point_this_school_year_to_date") == 1
    out = io.StringIO()
    extract.write_csv(out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "la_code,census_date,measure,breakdown,value"
    assert "383,2025-10-02,cme_on_census_date,total,1" in lines
    with uows() as uow:
        assert uow.session is not None
        assert build_extract(uow.session, D(2025, 12, 10), "383").value("cme_on_census_date") == 3
        assert build_extract(uow.session, D(2025, 12, 10), "820").value("cme_on_census_date") == 0


def test_case_view_by_child_or_case_id(uows: UnitOfWorkFactory, known: dict[str, str]) -> None:
    with uows() as uow:
        assert uow.session is not None
        view = child_timeline(uow.session, known["A"])
        assert [c.status for c in view.cases] == [CaseStatus.IN_PROVISION]
        assert len(view.notifications) == 2
        again = child_timeline(uow.session, view.cases[0].id)
        assert again.child.id == known["A"]
        assert [e.on for e in view.entries] == sorted(e.on for e in view.entries)
        with pytest.raises(NotFoundInRegister):
            child_timeline(uow.session, "nobody")


def _old_child(uows: UnitOfWorkFactory, cid: str, dob: dt.date, status: CaseStatus, looked_after: bool = False) -> None:
    with uows() as uow:
        kid = Child(id=cid, la_code="383", created_on=D(2000, 1, 1), ever_looked_after=looked_after)
        kid.record_identity(Identity("X", "Y", date_of_birth=dob))
        uow.register.add_child(kid)
        uow.register.add_case(Case(
            id=f"case-{cid}", child_id=cid, status=status, referral_source=ReferralSource.SCHOOL,
            referred_on=D(2003, 1, 1),
            closure_reason=ClosureReason.IN_PROVISION if status is CaseStatus.CLOSED else None))
        uow.commit()


def test_retention_dry_run_then_apply(uows: UnitOfWorkFactory, known: dict[str, str]) -> None:
    _old_child(uows, "old-closed", D(1990, 1, 1), CaseStatus.CLOSED)
    _old_child(uows, "old-open", D(1990, 1, 1), CaseStatus.LOST_PUPIL)
    _old_child(uows, "old-looked-after", D(1990, 1, 1), CaseStatus.CLOSED, looked_after=True)
    today = D(2026, 11, 28)
    with uows() as uow:
        assert uow.session is not None
        plan = retention.plan(uow.session, today)
        assert plan.children == ["old-closed"] and plan.kept_open_case == 1
        assert retention.plan(uow.session, today).children == ["old-closed"]  # planning changed nothing
    with uows() as uow:
        assert uow.session is not None
        removed = retention.apply(uow.session, plan)
        uow.commit()
    assert removed["children"] == 1
    with uows() as uow:
        assert uow.register.get_child("old-closed") is None
        assert uow.register.get_case("case-old-closed") is None
        assert uow.register.get_child("old-looked-after") is not None
        assert uow.register.get_child(known["A"]) is not None

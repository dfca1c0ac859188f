"""The register on the real PostgreSQL server and on SQLite, from an empty database through the migrations."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.register import clocks, lifecycle
from services.register.database import current_revision, head_revision, make_engine, migrate
from services.register.handlers import UnknownChild, act_on_case, escalate_overdue_tasks, record_notification
from services.register.lifecycle import IllegalTransition, Trigger, TriggerKind
from services.register.model import (
    Address,
    Case,
    CaseStatus,
    Child,
    ClosureReason,
    DfeReason,
    Identifier,
    IdentifierScheme,
    Identity,
    ReferralSource,
    RiskFlag,
    TaskKind,
)
from services.register.orm import Base
from services.register.unit_of_work import UnitOfWorkFactory
from tests.unit.register import builders as b

D = dt.date


def test_migrations_build_exactly_the_mapped_schema(register_url: str) -> None:
    engine = make_engine(register_url)
    try:
        assert current_revision(engine) is None
        assert migrate(engine) == head_revision() != ""
        assert migrate(engine) == head_revision()  # idempotent
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == []
        assert set(sa.inspect(engine).get_table_names()) >= {
            "child", "child_identity", "child_identifier", "child_address", "notification", "cme_case",
            "case_risk_flag", "case_transition", "task", "enquiry", "audit_entry", "processed_event",
        }
    finally:
        engine.dispose()


def make_child(child_id: str = "child-1") -> Child:
    kid = Child(id=child_id, la_code="383", created_on=D(2025, 10, 1), current_school="3832001")
    kid.record_identity(Identity("Amelia", "Okafor", date_of_birth=D(2014, 5, 17), sex="F", recorded_on=D(2025, 10, 1)))
    kid.record_identity(Identity("Amelia", "Okafor-Reid", former_surnames=("Okafor",), date_of_birth=D(2014, 5, 17),
                                 sex="F", recorded_on=D(2025, 11, 1)))
    kid.record_identifier(Identifier(IdentifierScheme.UPN, "P801200001005"))
    kid.record_identifier(Identifier(IdentifierScheme.NHS_NUMBER, "9434765919"))
    kid.record_address(Address(("12 Harehills Lane",), "Leeds", "LS9 8AB", valid_from=D(2020, 1, 1)))
    kid.record_address(Address(("3 Roundhay Road",), "Leeds", "LS8 5AN", valid_from=D(2025, 10, 20)))
    return kid


def test_children_and_cases_round_trip(uows: UnitOfWorkFactory) -> None:
    calendar = clocks.load_calendar("383")
    with uows() as uow:
        uow.register.add_child(make_child())
        case = Case(id="case-1", child_id="child-1", status=CaseStatus.REFERRED, referral_source=ReferralSource.SCHOOL,
                    referred_on=D(2025, 10, 24), dfe_reason=DfeReason.WHEREABOUTS_UNKNOWN,
                    risk_flags={RiskFlag.LOOKED_AFTER, RiskFlag.SEND_EHCP})
        lifecycle.apply(case, Trigger(TriggerKind.REFER, D(2025, 10, 24), "ev-1", "deletion 9(1)(g)",
                                      first_day_absent=D(2025, 10, 13)), calendar, clocks.ClockPolicy())
        uow.register.add_case(case)
        uow.commit()
    with uows() as uow:
        kid = uow.register.get_child("child-1")
        assert kid == make_child()
        loaded = uow.register.open_case_for("child-1")
        assert loaded is not None and loaded == case
        loaded.risk_flags.discard(RiskFlag.SEND_EHCP)
        lifecycle.apply(loaded, Trigger(TriggerKind.NOT_FOUND, D(2025, 11, 14), "ev-2", "not located"), calendar,
                        clocks.ClockPolicy())
        uow.commit()
    with uows() as uow:
        again = uow.register.get_case("case-1")
        assert again is not None
        assert again.risk_flags == {RiskFlag.LOOKED_AFTER}
        assert [m.to_status for m in again.history] == [CaseStatus.REFERRED, CaseStatus.NOT_FOUND]
        assert {t.kind for t in again.open_tasks()} == {TaskKind.LOST_PUPIL_CTF, TaskKind.FOLLOW_UP}
        assert uow.register.child_ids_by_identifier(IdentifierScheme.NHS_NUMBER, "9434765919") == ["child-1"]


def test_uncommitted_work_is_rolled_back(uows: UnitOfWorkFactory) -> None:
    with uows() as uow:
        uow.register.add_child(make_child())
    with uows() as uow:
        assert uow.register.get_child("child-1") is None


def test_candidates_load_in_batches_with_every_identity_and_address(uows: UnitOfWorkFactory) -> None:
    with uows() as uow:
        for i in range(7):
            uow.register.add_child(make_child(f"child-{i}"))
        uow.commit()
    with uows() as uow:
        got = list(uow.register.iter_candidates(batch=3))
    assert [c.child_id for c in got] == [f"child-{i}" for i in range(7)]
    assert all(len(c.identities) == 2 and len(c.addresses) == 2 and len(c.identifiers) == 2 for c in got)
    assert got[0].identities[-1].surname == "Okafor-Reid" and got[0].current_school == "3832001"


def test_a_story_from_absence_to_provision(uows: UnitOfWorkFactory) -> None:
    first = record_notification(uows(), b.absence(D(2025, 10, 24), "abs-1", D(2025, 10, 13)), None)
    assert first.created_child and first.opened_case and first.tasks_opened == 2
    kid = first.child_id
    assert kid is not None
    assert record_notification(uows(), b.absence(D(2025, 10, 24), "abs-1", D(2025, 10, 13)), kid).duplicate
    lost = record_notification(uows(), b.lost_ctf(D(2025, 11, 14), "ctf-001"), kid)
    assert [m.to_status for m in lost.transitions] == [CaseStatus.NOT_FOUND, CaseStatus.LOST_PUPIL]
    placed = record_notification(uows(), b.admission(D(2025, 12, 1), "adm-1"), kid)
    assert [m.to_status for m in placed.transitions] == [CaseStatus.IN_PROVISION]
    with uows() as uow:
        case = uow.register.get_case(first.case_id or "")
        assert case is not None and case.status is CaseStatus.IN_PROVISION and case.open_tasks() == []
        assert case.destination_code == "XXXXXXX" and case.date_last_seen == D(2025, 12, 1)
        child = uow.register.get_child(kid)
        assert child is not None and child.current_school == "3832002"
        assert [n.event_type for n in uow.register.notifications_for_child(kid)] == [
            "school.absence_referral", "school.ctf_transfer", "school.admission_return"]
        assert len(uow.register.audit_for([case.id])) == 4


def test_identity_changes_and_restricted_children(uows: UnitOfWorkFactory) -> None:
    first = record_notification(uows(), b.deletion(D(2025, 11, 3), "del-1"), None)
    renamed = b.child(surname="Okafor-Reid", nhs="9434765919")
    record_notification(uows(), b.admission(D(2025, 11, 10), "adm-1", kid=renamed), first.child_id)
    secret = b.child(given="Noor", surname="Hassan", upn=None, restricted=True)
    secret["addresses"] = []
    hidden = record_notification(uows(), b.missing_episode(D(2025, 11, 4), "m-1", kid=secret), None)
    with uows() as uow:
        kid = uow.register.get_child(first.child_id or "")
        assert kid is not None
        assert [i.surname for i in kid.identities] == ["Okafor", "Okafor-Reid"]
        assert {i.scheme for i in kid.identifiers} == {IdentifierScheme.UPN, IdentifierScheme.NHS_NUMBER}
        noor = uow.register.get_child(hidden.child_id or "")
        assert noor is not None and noor.restricted and noor.addresses == []


def test_an_unknown_child_stores_nothing(uows: UnitOfWorkFactory) -> None:
    event = b.deletion(D(2025, 11, 3), "del-x")
    with pytest.raises(UnknownChild):
        record_notification(uows(), event, "no-such-child")
    with uows() as uow:
        assert not uow.register.is_processed(event["event_id"])
        assert uow.register.count_children() == 0


def test_officer_actions_and_overdue_escalation(uows: UnitOfWorkFactory) -> None:
    opened = record_notification(uows(), b.deletion(D(2025, 10, 24), "del-1"), None)
    case_id = opened.case_id or ""
    with pytest.raises(IllegalTransition, match="mark the case not found first"):
        act_on_case(uows(), case_id, Trigger(TriggerKind.LOST_PUPIL_CTF, D(2025, 11, 3), "officer:7", "uploaded"),
                    actor="officer:7")
    assert escalate_overdue_tasks(uows(), D(2025, 11, 7)) == 0  # home visit due Fri 7 Nov 2025
    assert escalate_overdue_tasks(uows(), D(2025, 11, 10)) == 1
    assert escalate_overdue_tasks(uows(), D(2025, 11, 11)) == 0  # escalated once only
    move = act_on_case(uows(), case_id, Trigger(TriggerKind.START_ENQUIRIES, D(2025, 11, 10), "officer:7", "calls"),
                       actor="officer:7")
    assert move.to_status is CaseStatus.ENQUIRIES
    act_on_case(uows(), case_id, Trigger(TriggerKind.CLOSE, D(2025, 11, 12), "officer:7", "died",
                                         closure_reason=ClosureReason.DIED), actor="officer:7")
    with uows() as uow:
        case = uow.register.get_case(case_id)
        assert case is not None and case.status is CaseStatus.CLOSED and case.open_tasks() == []
        actions = [a.action for a in uow.register.audit_for([case_id])]
        assert actions.count("task.escalated") == 1 and actions[-1] == "case.close"


def test_upgrade_from_0001_keeps_data_and_backfills_the_risk_mask(register_url: str) -> None:
    engine = make_engine(register_url)
    try:
        assert migrate(engine, "0001") == "0001"
        with engine.begin() as conn:
            conn.execute(sa.text("insert into child (id, la_code, restricted, ever_looked_after, ever_ehcp) "
                                 "values ('c1', '383', false, false, false)"))
            conn.execute(sa.text(
                "insert into cme_case (id, child_id, status, referral_source, referred_on, dfe_reason, "
                "whereabouts_known, new_to_area, new_to_country) values ('k1', 'c1', 'referred', 'school', "
                "'2025-10-24', 'whereabouts_unknown', false, false, false)"))
            conn.execute(sa.text("insert into case_risk_flag (case_id, flag) values ('k1', 'looked_after'), "
                                 "('k1', 'new_arrival')"))
        assert migrate(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(sa.text("select risk_mask from cme_case where id = 'k1'")).scalar() == 1 + 64
    finally:
        engine.dispose()


def test_a_move_ends_the_previous_home_address(uows: UnitOfWorkFactory) -> None:
    first = record_notification(uows(), b.deletion(D(2025, 11, 3), "del-1"), None)
    moved = b.event("health.address_change", D(2025, 11, 20), "nhs-1", kind="health", partner="nhs-pds",
                    notification_type="pds-change-of-address-1", patient_version=None, gp_practice_ods=None,
                    new_address=b.empty_address(lines=["3 Roundhay Road"], town="Leeds", postcode="LS8 5AN",
                                                kind="home", valid_from=D(2025, 11, 15)),
                    previous_address=None, moved_on=D(2025, 11, 15))
    outcome = record_notification(uows(), moved, first.child_id)
    assert outcome.tasks_opened == 1  # an address check on the open, unlocated case
    with uows() as uow:
        kid = uow.register.get_child(first.child_id or "")
        assert kid is not None
        assert [(a.postcode, a.valid_to) for a in kid.addresses] == [("LS9 8AB", D(2025, 11, 14)), ("LS8 5AN", None)]
        case = uow.register.open_case_for(kid.id)
        assert case is not None and [t.kind for t in case.open_tasks(TaskKind.ADDRESS_CHECK)] == [
            TaskKind.ADDRESS_CHECK]

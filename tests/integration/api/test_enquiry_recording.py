"""Answered enquiries recorded in the register on the real PostgreSQL: a batch at a time, or one by one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.api.bootstrap import HubServices, build
from services.api.database import migrate as migrate_api
from services.api.enquiries import Asker, EnquiryAsked, EnquirySubject, Purpose, WhereaboutsService
from services.api.store import EnquiryRecordRow
from services.register.database import migrate as migrate_register
from services.register.orm import EnquiryRow, NotificationRow, ProcessedEventRow
from services.register.referrals import enquiry_key
from services.settings import Settings
from tests.unit.api.register_seed import Seeded, seed_register

pytestmark = pytest.mark.postgres

UPN, NHS = "A123456789012", "9434765919"


@pytest.fixture
def hub(postgres_url: str, tmp_path: Path) -> tuple[HubServices, Seeded]:
    migrate_register(postgres_url)
    migrate_api(postgres_url)
    seeded = seed_register(postgres_url, UPN, NHS)
    # No broker: recording enquiries needs only the database (nothing here sends to Kafka).
    services = build(Settings(state_dir=tmp_path / "state", database_url=postgres_url, la_code="383",
                              kafka_bootstrap="127.0.0.1:9"))
    services.index.refresh()
    return services, seeded


def _subjects() -> list[EnquirySubject]:
    import datetime as dt

    return [
        EnquirySubject("Amina", "EXAMPLE", dt.date(2014, 2, 15), "F", upn=UPN),  # known, open case
        EnquirySubject("Tomasz", "SAMPLE", dt.date(2013, 6, 30), "M"),  # known, restricted
        EnquirySubject("Jack", "TWINSON", dt.date(2015, 5, 5), "M"),
        EnquirySubject("Zofia", "NOCASE", dt.date(2012, 1, 20), "F"),  # known, no case
        EnquirySubject("Nobody", "UNHEARDOF", dt.date(2016, 3, 3), "M"),  # not known
    ]


def _ask(enquiries: WhereaboutsService, client_id: str) -> list[EnquiryRecordRow]:
    asker = Asker(client_id, "384")
    return [enquiries.ask(asker, EnquiryAsked(subject, Purpose.CME_WHEREABOUTS, "finding a child",
                                              reference=f"{client_id}-{n}"))
            for n, subject in enumerate(_subjects())]


def _recorded(engine: sa.Engine, rows: list[EnquiryRecordRow]) -> list[tuple[Any, ...]]:
    """What the register holds of each enquiry, without the ids that differ between two askings."""
    out = []
    with engine.connect() as conn:
        for row in rows:
            note = conn.execute(sa.select(EnquiryRow.child_id, EnquiryRow.case_id, EnquiryRow.direction,
                                          EnquiryRow.other_la).where(EnquiryRow.id == enquiry_key("384", row.id))).one()
            notification = conn.execute(sa.select(NotificationRow.child_id, NotificationRow.case_id,
                                                  NotificationRow.event_type, NotificationRow.event_id)
                                        .where(NotificationRow.source_reference == f"enquiry:{row.id}")).one()
            processed = conn.execute(sa.select(ProcessedEventRow.outcome).where(
                ProcessedEventRow.event_id == notification.event_id)).scalar_one()
            out.append((row.child_id, tuple(note), tuple(notification)[:3], processed))
    return out


def test_a_batch_records_what_one_at_a_time_records(hub: tuple[HubServices, Seeded],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    services, seeded = hub
    enquiries = services.enquiries
    one_by_one = _ask(enquiries, "client-a")
    with monkeypatch.context() as patch:
        patch.setattr(WhereaboutsService, "_record_batch", lambda self, session, rows: False)
        assert enquiries.record_pending() == len(one_by_one)
    batched = _ask(enquiries, "client-b")
    calls: list[int] = []
    real = WhereaboutsService._record_batch

    def counting(self: WhereaboutsService, session: Any, rows: list[EnquiryRecordRow]) -> bool:
        calls.append(len(rows))
        return real(self, session, rows)

    monkeypatch.setattr(WhereaboutsService, "_record_batch", counting)
    assert enquiries.record_pending() == len(batched)
    assert calls == [len(batched)]
    assert enquiries.record_pending() == 0  # nothing left, nothing recorded twice
    assert _recorded(services.engine, batched) == _recorded(services.engine, one_by_one)
    assert {row.child_id for row in batched} >= {seeded.amina, seeded.no_case}
    with services.engine.connect() as conn:
        waiting = conn.execute(sa.select(sa.func.count()).select_from(EnquiryRecordRow)
                               .where(EnquiryRecordRow.registered_at.is_(None))).scalar_one()
    assert waiting == 0


def test_an_enquiry_whose_child_has_left_the_register_does_not_hold_up_the_rest(
        hub: tuple[HubServices, Seeded]) -> None:
    services, _ = hub
    rows = _ask(services.enquiries, "client-c")
    with services.engine.begin() as conn:  # the child answered about is gone (merged away) before recording
        conn.execute(sa.update(EnquiryRecordRow).where(EnquiryRecordRow.id == rows[0].id)
                     .values(child_id="merged-away"))
    assert services.enquiries.record_pending() == len(rows)
    with services.engine.connect() as conn:
        note = conn.execute(sa.select(EnquiryRow.child_id).where(EnquiryRow.id == enquiry_key("384", rows[0].id))).one()
        others = conn.execute(sa.select(sa.func.count()).select_from(EnquiryRow)
                              .where(EnquiryRow.child_id.is_not(None))).scalar_one()
    assert note.child_id is None
    assert others == sum(1 for row in rows[1:] if row.child_id)

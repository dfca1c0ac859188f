"""The batch writer on the real PostgreSQL server: errors of its COPY come out as SQLAlchemy's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.register.bulk import BatchWriter
from services.register.database import migrate, session_factory
from services.register.model import AuditEntry
from services.register.rows import audit_values

AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(postgres_url: str) -> Iterator[Session]:
    migrate(postgres_url)
    engine = sa.create_engine(postgres_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_a_processed_id_recorded_first_elsewhere_is_an_integrity_error(session: Session) -> None:
    first = BatchWriter(session)
    first.mark_processed("event-1", "child=new", AT)
    first.write()
    session.commit()
    again = BatchWriter(session)
    again.mark_processed("event-2", "child=new", AT)
    again.mark_processed("event-1", "child=new", AT)  # another worker got there first
    with pytest.raises(sa.exc.IntegrityError):
        again.write()
    session.rollback()
    assert session.execute(sa.text("select count(*) from processed_event")).scalar_one() == 1


def test_text_postgresql_refuses_is_a_data_error(session: Session) -> None:
    writer = BatchWriter(session)
    writer.append(sa.Table("audit_entry", sa.MetaData(), autoload_with=session.connection()),
                  audit_values(AuditEntry(AT, "hub:matching", "child.updated", "child", "c-1", "name\x00with NUL")))
    with pytest.raises(sa.exc.DataError):
        writer.write()
    session.rollback()


def test_rows_written_by_copy_read_back_alike(session: Session) -> None:
    writer = BatchWriter(session)
    entry = AuditEntry(AT, "officer:" + "x" * 150, "case.refer", "case", "case-1", "tab\there, quote ' and \\ too")
    writer.append(sa.Table("audit_entry", sa.MetaData(), autoload_with=session.connection()), audit_values(entry))
    writer.write()
    session.commit()
    row = session.execute(sa.text("select at, actor, action, subject_id, detail from audit_entry")).one()
    assert row.at == AT and row.actor == "officer:" + "x" * 92 and row.detail == entry.detail

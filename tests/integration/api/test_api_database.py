"""The API's tables on the real PostgreSQL: own migration chain, append-only audit, chain check."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.api.audit import AuditEntry, AuditLog
from services.api.database import VERSION_TABLE, current_revision, head_revision, migrate
from services.register.database import make_engine, session_factory
from services.register.database import migrate as migrate_register

pytestmark = pytest.mark.postgres


def test_api_and_register_migrations_share_a_database_without_colliding(postgres_url: str) -> None:
    register_rev = migrate_register(postgres_url)
    api_rev = migrate(postgres_url)
    assert api_rev == head_revision()
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert {"alembic_version", VERSION_TABLE, "api_client", "api_audit", "api_enquiry", "child"} <= tables
            assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == register_rev
        assert current_revision(engine) == api_rev
        assert migrate(engine) == api_rev  # idempotent
    finally:
        engine.dispose()


def test_audit_log_is_append_only_and_an_edit_breaks_the_chain(postgres_url: str) -> None:
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    try:
        log = AuditLog(session_factory(engine))
        for i in range(4):
            log.append(AuditEntry("la-384-hub", "384", "enquiry.answered", "enquiry", f"e{i}", "cme_whereabouts"))
        assert log.verify().ok
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("update api_audit set actor = 'someone' where seq = 2"))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("delete from api_audit where seq = 2"))
        # Someone able to bypass triggers (a superuser in replica mode) still cannot hide an edit.
        with engine.begin() as conn:
            conn.execute(sa.text("set local session_replication_role = replica"))
            conn.execute(sa.text("update api_audit set actor = 'someone' where seq = 2"))
        report = log.verify()
        assert not report.ok and any("entry 2" in p for p in report.problems)
    finally:
        engine.dispose()

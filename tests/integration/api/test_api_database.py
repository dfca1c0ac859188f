"""The API's tables on the real PostgreSQL: own migration chain, append-only audit, chain check."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.api.audit import AuditEntry, AuditLog
from services.api.database import VERSION_TABLE, api_engine, current_revision, head_revision, migrate
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


def test_two_writers_with_their_own_engines_keep_one_chain(postgres_url: str) -> None:
    """Two API workers (here two writers, each with its own pool and group commit) append at once."""
    import threading

    from services.api.audit import GroupCommit

    migrate(postgres_url)
    engines = [api_engine(postgres_url) for _ in range(2)]
    try:
        writers = [GroupCommit(session_factory(e), AuditLog(session_factory(e))) for e in engines]
        failures: list[BaseException] = []

        def work(w: int) -> None:
            try:
                for i in range(40):
                    writers[w].write([], [AuditEntry(f"worker-{w}", "384", "enquiry.received", "enquiry",
                                                     f"e{w}-{i}", "cme_whereabouts")])
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for writer in writers:
            writer.stop()
        assert not failures
        report = AuditLog(session_factory(engines[0])).verify()
        assert report.ok, report.problems
        assert report.entries == 80
        with engines[0].connect() as conn:
            seqs = [s for (s,) in conn.execute(sa.text("select seq from api_audit order by seq"))]
            actors = {a for (a,) in conn.execute(sa.text("select distinct actor from api_audit"))}
        assert seqs == list(range(1, 81)) and actors == {"worker-0", "worker-1"}
    finally:
        for e in engines:
            e.dispose()


def test_a_pooled_connection_idle_too_long_is_checked_and_replaced(postgres_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import services.api.database as database

    engine = api_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
        admin = make_engine(postgres_url)
        with admin.connect() as conn:  # the database ends the pooled connection (a restart, a proxy)
            assert conn.execute(sa.text("select pg_terminate_backend(:p)"), {"p": first}).scalar_one()
        admin.dispose()
        monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
        with engine.connect() as conn:  # pinged at checkout, found dead, replaced: no error reaches us
            assert conn.execute(sa.text("select pg_backend_pid()")).scalar_one() != first
    finally:
        engine.dispose()


def test_child_facts_in_one_statement_agree_with_the_separate_reads(postgres_url: str) -> None:
    from services.api.enquiries import child_facts
    from tests.unit.api.register_seed import seed_register

    migrate_register(postgres_url)
    seeded = seed_register(postgres_url, "A123456789012", "9434765919")
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            children = [seeded.amina, seeded.restricted, seeded.twin_a, seeded.twin_b, seeded.no_case, "no-such"]
            for child_id in children:
                for with_address in (False, True):
                    one = child_facts(conn, child_id, with_address, one_statement=True)
                    two = child_facts(conn, child_id, with_address, one_statement=False)
                    assert one == two, (child_id, with_address)
            amina = child_facts(conn, seeded.amina, True)
            assert amina is not None and amina.case_status == "enquiries" and amina.address is not None
            assert child_facts(conn, seeded.no_case, False).case_status == "no_case"  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_the_append_only_tables_are_analysed_rarely_from_a_small_sample(postgres_url: str) -> None:
    """Autovacuum's analysis of the audit log and the enquiries, once a minute with a 30,000-row sample,
    stalled enquiries answered meanwhile; a0003 makes it every 100,000 rows with a tenth the sample."""
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            for table in ("api_audit", "api_enquiry"):
                options = conn.execute(sa.text("select reloptions from pg_class where oid = cast(:t as regclass)"),
                                       {"t": table}).scalar_one()
                assert "autovacuum_analyze_threshold=100000" in options and \
                    "autovacuum_analyze_scale_factor=0" in options, options
                targets = set(conn.execute(sa.text(
                    "select attstattarget from pg_attribute where attrelid = cast(:t as regclass) and attnum > 0 "
                    "and not attisdropped"), {"t": table}).scalars())
                assert targets == {10}, (table, targets)
    finally:
        engine.dispose()

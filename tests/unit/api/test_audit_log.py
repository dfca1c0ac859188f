"""The hash-chained audit log detects changed, deleted and cut entries."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI

from services.api.audit import AuditEntry, AuditLog


def _log(app: FastAPI) -> AuditLog:
    log: AuditLog = app.state.hub.audit
    return log


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(AuditEntry(f"client-{i % 2}", "383", "enquiry.answered", "child", f"c{i}", "cme_whereabouts"))


def test_intact_chain_verifies(app: FastAPI, client: object) -> None:
    log = _log(app)
    _fill(log, 5)
    report = log.verify()
    assert report.ok and report.entries == 5, report.problems


def test_edited_entry_is_detected(app: FastAPI, client: object) -> None:
    log = _log(app)
    _fill(log, 5)
    with log.sessions() as s:
        s.execute(sa.text("update api_audit set subject_id = 'someone-else' where seq = 3"))
        s.commit()
    report = log.verify()
    assert not report.ok
    assert any("entry 3" in p and "changed" in p for p in report.problems)


def test_deleted_entry_is_detected(app: FastAPI, client: object) -> None:
    log = _log(app)
    _fill(log, 5)
    with log.sessions() as s:
        s.execute(sa.text("delete from api_audit where seq = 2"))
        s.commit()
    report = log.verify()
    assert not report.ok
    assert any("missing" in p for p in report.problems)


def test_cut_tail_is_detected(app: FastAPI, client: object) -> None:
    log = _log(app)
    _fill(log, 5)
    with log.sessions() as s:
        s.execute(sa.text("delete from api_audit where seq = 5"))
        s.commit()
    report = log.verify()
    assert not report.ok
    assert any("removed from the end" in p for p in report.problems)


def test_concurrent_appends_keep_one_chain(app: FastAPI, client: object) -> None:
    from concurrent.futures import ThreadPoolExecutor

    log = _log(app)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: log.append(AuditEntry("c", "383", "read", "child", str(i), "p")), range(40)))
    report = log.verify()
    assert report.ok and report.entries == 40


def test_callers_on_an_event_loop_share_group_commits_and_see_their_errors(app: FastAPI, client: object) -> None:
    import asyncio

    import pytest

    from services.api.audit import GroupCommit

    log = _log(app)
    writer = GroupCommit(log.sessions, log)

    async def many() -> None:
        await asyncio.gather(*(writer.write_async([], [AuditEntry("c", "383", "read", "child", str(i), "p")])
                               for i in range(30)))
        bad = sa.table("no_such_table", sa.column("x"))
        with pytest.raises(sa.exc.OperationalError):
            await writer.write_async([(bad, {"x": 1})], [AuditEntry("c", "383", "read", "child", "x", "p")])

    asyncio.run(many())
    writer.stop()
    report = log.verify()
    assert report.ok and report.entries == 30, report.problems

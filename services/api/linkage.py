"""The register held in memory for enquiries: the linkage engine's blocking index, kept current.

Built once from the register (set-based loads, no SQL per child), then caught up by a background
task: rows added to the register's identity, identifier and address tables since the last look
name the children to re-index; a shrinking register (a merge) triggers a full rebuild.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, sessionmaker

from services.matching.blocking import BlockingIndex
from services.matching.decision import LinkDecision
from services.matching.engine import Linker
from services.matching.records import PersonRecord
from services.matching.register_view import person_record
from services.register.orm import AddressRow, ChildRow, IdentifierRow, IdentityRow
from services.register.repository import RegisterRepository

log = structlog.get_logger("cmehub.api.linkage")


@dataclass(frozen=True)
class Watermark:
    """How far the index has read the register."""

    children: int
    identity: int
    identifier: int
    address: int


def _watermark(session: Session) -> Watermark:
    row = session.execute(sa.select(
        sa.select(sa.func.count()).select_from(ChildRow).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.max(IdentityRow.id), 0)).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.max(IdentifierRow.id), 0)).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.max(AddressRow.id), 0)).scalar_subquery(),
    )).one()
    return Watermark(*(int(v) for v in row))


class RegisterIndex:
    """The linkage engine and its in-memory index of the register (thread-safe)."""

    def __init__(self, sessions: sessionmaker[Session], linker: Linker | None = None,
                 refresh_s: float = 2.0) -> None:
        self.sessions = sessions
        self.linker = linker or Linker()
        self.refresh_s = refresh_s
        self.index: BlockingIndex = self.linker.build_index(())
        self.mark: Watermark | None = None
        self.refreshed_at = 0.0
        self.error: str | None = None
        self._lock = threading.RLock()
        self._task: asyncio.Task[None] | None = None

    def rebuild(self) -> int:
        """Load the whole register into a fresh index, then swap it in; returns its size."""
        started = time.perf_counter()
        # The index is millions of long-lived objects: the collector's passes over them find nothing
        # and each full one stopped every request for seconds. It is off while the index is built
        # (process-wide, for that while), and the index is then frozen out of its sight.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with self.sessions() as session:
                mark = _watermark(session)
                repo = RegisterRepository(session)
                records = (person_record(c.child_id, c.identities, c.identifiers, c.addresses)
                           for c in repo.iter_candidates())
                index = self.linker.build_index(records)
        finally:
            # Frozen before collecting again: the collector then never walks the index (objects frozen
            # are still freed by reference counting once an index is replaced).
            gc.freeze()
            if collecting:
                gc.enable()
        with self._lock:
            self.index, self.mark, self.refreshed_at, self.error = index, mark, time.time(), None
        log.info("enquiry index built", children=len(index), seconds=round(time.perf_counter() - started, 2))
        return len(index)

    def refresh(self) -> int:
        """Catch up with the register; returns how many children were re-indexed."""
        with self.sessions() as session:
            mark = _watermark(session)
            if self.mark is None or mark.children < self.mark.children or mark.children < len(self.index):
                session.close()
                return self.rebuild()
            if mark == self.mark:
                self.refreshed_at = time.time()
                return 0
            old = self.mark
            changed: set[str] = set()
            for table, column, since in ((IdentityRow, IdentityRow.id, old.identity),
                                         (IdentifierRow, IdentifierRow.id, old.identifier),
                                         (AddressRow, AddressRow.id, old.address)):
                changed.update(session.scalars(sa.select(table.child_id).where(column > since)))
            repo = RegisterRepository(session)
            records = []
            for child_id in sorted(changed):
                child = repo.get_child(child_id)
                if child is not None:
                    records.append(person_record(child.id, child.identities, child.identifiers, child.addresses))
        with self._lock:
            for record in records:
                self.index.add(record)
            self.mark, self.refreshed_at = mark, time.time()
        return len(records)

    def forget(self, child_id: str) -> None:
        """Drop a child the register no longer holds (merged away)."""
        with self._lock:
            if child_id in self.index.positions:
                self.index.remove(child_id)

    def link(self, record: PersonRecord) -> LinkDecision:
        """The engine's decision for one enquiry's child."""
        with self._lock:
            return self.linker.link(record, self.index)

    def __len__(self) -> int:
        return len(self.index)

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as exc:  # keep serving from the last good index; readiness says why
                self.error = f"{type(exc).__name__}: cannot read the register"
                log.error("enquiry index refresh failed", error=type(exc).__name__)
            await asyncio.sleep(self.refresh_s)

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self.rebuild)
        except Exception as exc:  # the register may not be migrated yet: the loop retries
            self.error = f"{type(exc).__name__}: cannot read the register"
            log.error("enquiry index not built", error=type(exc).__name__)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def readiness(self) -> dict[str, Any]:
        if self.mark is None:
            return {"ready": False, "detail": self.error or "enquiry index not built yet"}
        age = time.time() - self.refreshed_at
        return {"ready": True, "detail": f"{len(self.index)} children indexed, caught up {age:.0f}s ago"
                + (f"; last refresh failed ({self.error})" if self.error else "")}

"""The register's repository: domain objects in, domain objects out, rows kept out of sight.

Objects loaded or added through the repository are remembered; the unit of work writes their
changes back on commit (``sync``), so handlers only work on the plain domain objects.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from services.register.among import among
from services.register.model import (
    OPEN_STATUSES,
    Address,
    AuditEntry,
    Case,
    Child,
    Enquiry,
    Identifier,
    IdentifierScheme,
    Identity,
    Notification,
    TaskState,
)
from services.register.orm import (
    AddressRow,
    AuditRow,
    CaseRow,
    ChildRow,
    EnquiryRow,
    IdentifierRow,
    IdentityRow,
    NotificationRow,
    ProcessedEventRow,
    RiskFlagRow,
    TaskRow,
    TransitionRow,
)
from services.register.rows import (
    address_from,
    address_values,
    audit_values,
    case_from,
    case_values,
    child_values,
    enquiry_from,
    enquiry_values,
    identity_from,
    identity_values,
    notification_values,
    processed_values,
    task_from,
    task_values,
    transition_from,
    transition_values,
)


@dataclass(frozen=True)
class CandidateChild:
    """What the matcher needs of one register child: every identity, identifier and address."""

    child_id: str
    identities: tuple[Identity, ...]
    identifiers: tuple[Identifier, ...]
    addresses: tuple[Address, ...]
    current_school: str | None
    restricted: bool


# -- row ↔ domain (the column values themselves are in rows.py) -------------------------------------


def _json_tuple(text: str | None) -> tuple[str, ...]:
    """A JSON array of strings, read as text."""
    if not text or text == "[]":
        return ()
    return tuple(json.loads(text))


def _child(row: ChildRow) -> Child:
    return Child(
        id=row.id,
        la_code=row.la_code,
        identities=[identity_from(r) for r in row.identities],
        identifiers={Identifier(IdentifierScheme(r.scheme), r.value) for r in row.identifiers},
        addresses=[address_from(r) for r in row.addresses],
        current_school=row.current_school,
        restricted=row.restricted,
        ever_looked_after=row.ever_looked_after,
        ever_ehcp=row.ever_ehcp,
        created_on=row.created_on,
    )


_UNSET = object()


def _set(row: Any, attr: str, value: Any) -> None:
    # Skip a column that already holds the value: an ORM set fires its events even when nothing
    # changes, and a unit of work writes every loaded object back. (An unset column is always set,
    # so a new row still inserts NULL rather than the column's default.)
    if row.__dict__.get(attr, _UNSET) != value:
        setattr(row, attr, value)


def _sync_child(child: Child, row: ChildRow) -> None:
    for attr, value in child_values(child).items():
        _set(row, attr, value)
    for seq in range(len(row.identities), len(child.identities)):
        row.identities.append(IdentityRow(**identity_values(child.identities[seq], seq)))
    stored = {(r.scheme, r.value) for r in row.identifiers}
    for ident in sorted(child.identifiers, key=lambda i: (i.scheme.value, i.value)):
        if (ident.scheme.value, ident.value) not in stored:
            row.identifiers.append(IdentifierRow(scheme=ident.scheme.value, value=ident.value))
    for seq in range(len(row.addresses), len(child.addresses)):
        row.addresses.append(AddressRow(**address_values(child.addresses[seq], seq)))
    if child.restricted:
        # Restricted (S-flagged) children never keep an address, even one stored before the flag.
        row.addresses.clear()
        child.addresses.clear()
    else:
        for addr, arow in zip(child.addresses, row.addresses, strict=True):
            _set(arow, "valid_to", addr.valid_to)


def _case(row: CaseRow) -> Case:
    return case_from(row, [transition_from(t) for t in row.transitions], [task_from(t) for t in row.tasks])


def _sync_case(case: Case, row: CaseRow) -> None:
    for attr, value in case_values(case).items():
        _set(row, attr, value)
    stored_flags = {r.flag for r in row.risk_flags}
    wanted = {f.value for f in case.risk_flags}
    row.risk_flags[:] = [r for r in row.risk_flags if r.flag in wanted]
    for flag in sorted(wanted - stored_flags):
        row.risk_flags.append(RiskFlagRow(flag=flag))
    for seq in range(len(row.transitions), len(case.history)):
        row.transitions.append(TransitionRow(**transition_values(case.history[seq], seq)))
    by_id = {r.id: r for r in row.tasks}
    for task in case.tasks:
        trow = by_id.get(task.id)
        if trow is None:
            trow = TaskRow(id=task.id, case_id=case.id)
            row.tasks.append(trow)
        for attr, value in task_values(task).items():
            _set(trow, attr, value)


_OPEN_VALUES = sorted(s.value for s in OPEN_STATUSES)


class RegisterRepository:
    """Loads and stores children, cases, notifications, enquiries, audit and processed event ids."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._children: dict[str, tuple[Child, ChildRow]] = {}
        self._cases: dict[str, tuple[Case, CaseRow]] = {}
        self._enquiries: dict[str, tuple[Enquiry, EnquiryRow]] = {}

    # children ------------------------------------------------------------------------------------

    def add_child(self, child: Child) -> None:
        row = ChildRow(id=child.id)
        _sync_child(child, row)
        self.session.add(row)
        self._children[child.id] = (child, row)

    def get_child(self, child_id: str) -> Child | None:
        if child_id in self._children:
            return self._children[child_id][0]
        row = self.session.get(
            ChildRow,
            child_id,
            options=[
                selectinload(ChildRow.identities),
                selectinload(ChildRow.identifiers),
                selectinload(ChildRow.addresses),
            ],
        )
        if row is None:
            return None
        child = _child(row)
        self._children[child_id] = (child, row)
        return child

    def loaded_children(self) -> list[Child]:
        """The children this repository has loaded or added (what a unit of work may have changed)."""
        return [child for child, _ in self._children.values()]

    def child_ids_by_identifier(self, scheme: IdentifierScheme, value: str) -> list[str]:
        """Children holding an identifier (current or former), for deterministic matching."""
        q = sa.select(IdentifierRow.child_id).where(IdentifierRow.scheme == scheme.value, IdentifierRow.value == value)
        return sorted(set(self.session.scalars(q)))

    def count_children(self) -> int:
        return int(self.session.scalar(sa.select(sa.func.count()).select_from(ChildRow)) or 0)

    def iter_candidates(self, la_code: str | None = None, batch: int = 20_000) -> Iterator[CandidateChild]:
        """Every child with identities, identifiers and addresses, in id order, a batch at a time.

        Four set-based queries per batch (no per-child SQL), so the whole register loads in seconds.
        """
        last = ""
        while True:
            q = sa.select(ChildRow.id, ChildRow.current_school, ChildRow.restricted).where(ChildRow.id > last)
            if la_code:
                q = q.where(ChildRow.la_code == la_code)
            heads = self.session.execute(q.order_by(ChildRow.id).limit(batch)).all()
            if not heads:
                return
            lo, hi = heads[0].id, heads[-1].id
            idents: dict[str, list[Identity]] = defaultdict(list)
            it = IdentityRow.__table__.c
            # JSON columns come back as text and are parsed here: most are "[]", which needs no parse.
            rows = self.session.execute(
                sa.select(it.child_id, it.given_name, it.surname, it.middle_names,
                          sa.cast(it.former_surnames, sa.Text), it.date_of_birth, it.date_of_birth_precision,
                          it.sex, it.recorded_on, it.source_event_id)
                .where(it.child_id.between(lo, hi)).order_by(it.child_id, it.seq)
            ).all()
            for cid, given, surname, middle, former, dob, precision, sex, recorded, source in rows:
                idents[cid].append(Identity(given, surname, middle, _json_tuple(former), dob, precision, sex,
                                            recorded, source))
            ids: dict[str, list[Identifier]] = defaultdict(list)
            for cid, scheme, value in self.session.execute(
                sa.select(IdentifierRow.child_id, IdentifierRow.scheme, IdentifierRow.value).where(
                    IdentifierRow.child_id.between(lo, hi))
            ).all():
                ids[cid].append(Identifier(IdentifierScheme(scheme), value))
            addrs: dict[str, list[Address]] = defaultdict(list)
            at = AddressRow.__table__.c
            rows = self.session.execute(
                sa.select(at.child_id, sa.cast(at.lines, sa.Text), at.town, at.postcode, at.uprn, at.kind,
                          at.valid_from, at.valid_to, at.recorded_on, at.source_event_id)
                .where(at.child_id.between(lo, hi)).order_by(at.child_id, at.seq)
            ).all()
            for cid, lines, town, postcode, uprn, kind, valid_from, valid_to, recorded, source in rows:
                addrs[cid].append(Address(_json_tuple(lines), town, postcode, uprn, kind, valid_from, valid_to,
                                          recorded, source))
            for h in heads:
                yield CandidateChild(
                    child_id=h.id,
                    identities=tuple(idents.get(h.id, ())),
                    identifiers=tuple(sorted(ids.get(h.id, ()), key=lambda i: (i.scheme.value, i.value))),
                    addresses=tuple(addrs.get(h.id, ())),
                    current_school=h.current_school,
                    restricted=h.restricted,
                )
            last = hi

    def load_candidates(self, la_code: str | None = None) -> list[CandidateChild]:
        """The whole blocking index in one list (see ``iter_candidates``)."""
        return list(self.iter_candidates(la_code))

    # cases ---------------------------------------------------------------------------------------

    def add_case(self, case: Case) -> None:
        row = CaseRow(id=case.id, child_id=case.child_id)
        _sync_case(case, row)
        self.session.add(row)
        self._cases[case.id] = (case, row)

    def _case_query(self) -> sa.Select[CaseRow]:
        return sa.select(CaseRow).options(selectinload(CaseRow.transitions), selectinload(CaseRow.tasks))

    def _remember(self, row: CaseRow) -> Case:
        if row.id in self._cases:
            return self._cases[row.id][0]
        case = _case(row)
        self._cases[row.id] = (case, row)
        return case

    def get_case(self, case_id: str) -> Case | None:
        if case_id in self._cases:
            return self._cases[case_id][0]
        row = self.session.scalars(self._case_query().where(CaseRow.id == case_id)).first()
        return self._remember(row) if row is not None else None

    def open_case_for(self, child_id: str) -> Case | None:
        """The child's open episode, if any (a child has at most one)."""
        for case, _ in self._cases.values():
            if case.child_id == child_id and case.is_open:
                return case
        found = self.session.scalars(self._open_cases_query(child_id)).first()
        return self._remember(found) if found is not None else None

    def _open_cases_query(self, child_id: str) -> sa.Select[CaseRow]:
        return self._case_query().where(CaseRow.child_id == child_id, CaseRow.status.in_(_OPEN_VALUES))

    def cases_for_child(self, child_id: str) -> list[Case]:
        rows = self.session.scalars(
            self._case_query().where(CaseRow.child_id == child_id).order_by(CaseRow.referred_on)
        ).all()
        return [self._remember(r) for r in rows]

    def cases_with_overdue_tasks(self, today: dt.date) -> list[Case]:
        ids = self.session.scalars(
            sa.select(TaskRow.case_id)
            .where(TaskRow.state == TaskState.OPEN.value, TaskRow.due_on < today, TaskRow.escalated_on.is_(None))
            .distinct()
        ).all()
        return [c for c in (self.get_case(i) for i in sorted(ids)) if c is not None]

    # notifications, enquiries, audit, processed ids ---------------------------------------------------

    def add_notification(self, n: Notification) -> None:
        self.session.add(NotificationRow(**notification_values(n)))

    def notifications_for_child(self, child_id: str) -> list[Notification]:
        rows = self.session.scalars(
            sa.select(NotificationRow).where(NotificationRow.child_id == child_id).order_by(
                NotificationRow.occurred_at, NotificationRow.event_id)
        ).all()
        return [
            Notification(
                event_id=r.event_id, event_type=r.event_type, child_id=r.child_id, source_partner=r.source_partner,
                source_kind=r.source_kind, source_reference=r.source_reference, responsible_la=r.responsible_la,
                occurred_at=r.occurred_at, received_at=r.received_at, lawful_basis=r.lawful_basis,
                payload=r.payload, case_id=r.case_id,
            )
            for r in rows
        ]

    def get_enquiry(self, enquiry_id: str) -> Enquiry | None:
        if enquiry_id in self._enquiries:
            return self._enquiries[enquiry_id][0]
        row = self.session.get(EnquiryRow, enquiry_id)
        if row is None:
            return None
        enq = enquiry_from(row)
        self._enquiries[enquiry_id] = (enq, row)
        return enq

    def add_enquiry(self, enq: Enquiry) -> None:
        row = EnquiryRow(id=enq.id)
        self.session.add(row)
        self._enquiries[enq.id] = (enq, row)

    def enquiries_for_child(self, child_id: str) -> list[Enquiry]:
        rows = self.session.scalars(
            sa.select(EnquiryRow).where(EnquiryRow.child_id == child_id).order_by(EnquiryRow.opened_on)
        ).all()
        out = []
        for row in rows:
            if row.id not in self._enquiries:
                self._enquiries[row.id] = (enquiry_from(row), row)
            out.append(self._enquiries[row.id][0])
        return out

    def child_id_for(self, child_or_case_id: str) -> str | None:
        """The child a child id or a case id names, in one query."""
        q = sa.union_all(
            sa.select(ChildRow.id).where(ChildRow.id == child_or_case_id),
            sa.select(CaseRow.child_id).where(CaseRow.id == child_or_case_id),
        )
        return self.session.scalars(q).first()

    def add_audit(self, entry: AuditEntry) -> None:
        self.session.add(AuditRow(**audit_values(entry)))

    def audit_for(self, subject_ids: Iterable[str]) -> list[AuditEntry]:
        rows = self.session.scalars(
            sa.select(AuditRow).where(AuditRow.subject_id.in_(list(subject_ids))).order_by(AuditRow.id)
        ).all()
        return [AuditEntry(r.at, r.actor, r.action, r.subject_type, r.subject_id, r.detail) for r in rows]

    def is_processed(self, event_id: str) -> bool:
        return self.session.get(ProcessedEventRow, event_id) is not None

    def processed_among(self, event_ids: Iterable[str]) -> set[str]:
        """Which of these event ids were already processed, in one query."""
        ids = sorted(set(event_ids))
        if not ids:
            return set()
        q = sa.select(ProcessedEventRow.event_id).where(among(ProcessedEventRow.event_id, ids, self.session))
        return set(self.session.scalars(q))

    def mark_processed(self, event_id: str, outcome: str, at: dt.datetime) -> None:
        self.session.add(ProcessedEventRow(**processed_values(event_id, outcome, at)))

    # writing back -------------------------------------------------------------------------------

    def sync(self) -> None:
        """Copy every remembered domain object's state onto its rows (called by the unit of work)."""
        for child, crow in self._children.values():
            _sync_child(child, crow)
        for case, row in self._cases.values():
            _sync_case(case, row)
        for enq, erow in self._enquiries.values():
            for attr, value in enquiry_values(enq).items():
                setattr(erow, attr, value)

    def forget(self) -> None:
        self._children.clear()
        self._cases.clear()
        self._enquiries.clear()

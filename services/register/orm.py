"""SQLAlchemy 2.0 typed mappings of the register's tables (the same on PostgreSQL and SQLite).

These are storage rows; the repository turns them into the plain domain objects of model.py and
back. The migrations in ``migrations/versions`` create exactly these tables (a test compares them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(36)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ChildRow(Base):
    __tablename__ = "child"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    la_code: Mapped[str] = mapped_column(String(3))
    current_school: Mapped[str | None] = mapped_column(String(7))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    ever_looked_after: Mapped[bool] = mapped_column(Boolean, default=False)
    ever_ehcp: Mapped[bool] = mapped_column(Boolean, default=False)
    # The current date of birth, copied from the latest identity, for retention and age queries.
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    created_on: Mapped[dt.date | None] = mapped_column(Date)

    identities: Mapped[list[IdentityRow]] = relationship(
        back_populates="child", order_by="IdentityRow.seq", cascade="all, delete-orphan"
    )
    identifiers: Mapped[list[IdentifierRow]] = relationship(
        back_populates="child", cascade="all, delete-orphan"
    )
    addresses: Mapped[list[AddressRow]] = relationship(
        back_populates="child", order_by="AddressRow.seq", cascade="all, delete-orphan"
    )


class IdentityRow(Base):
    __tablename__ = "child_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    given_name: Mapped[str | None] = mapped_column(String(200))
    middle_names: Mapped[str | None] = mapped_column(String(200))
    surname: Mapped[str | None] = mapped_column(String(200))
    former_surnames: Mapped[list[str]] = mapped_column(JSON, default=list)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    date_of_birth_precision: Mapped[str] = mapped_column(String(10), default="day")
    sex: Mapped[str] = mapped_column(String(1), default="U")
    recorded_on: Mapped[dt.date | None] = mapped_column(Date)
    source_event_id: Mapped[str | None] = mapped_column(String(64))

    child: Mapped[ChildRow] = relationship(back_populates="identities")


class IdentifierRow(Base):
    __tablename__ = "child_identifier"
    __table_args__ = (
        UniqueConstraint("child_id", "scheme", "value", name="uq_child_identifier_child_scheme_value"),
        Index("ix_child_identifier_scheme_value", "scheme", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(40))

    child: Mapped[ChildRow] = relationship(back_populates="identifiers")


class AddressRow(Base):
    __tablename__ = "child_address"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    town: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True)
    uprn: Mapped[str | None] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(20), default="home")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    recorded_on: Mapped[dt.date | None] = mapped_column(Date)
    source_event_id: Mapped[str | None] = mapped_column(String(64))

    child: Mapped[ChildRow] = relationship(back_populates="addresses")


class NotificationRow(Base):
    __tablename__ = "notification"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60))
    child_id: Mapped[str | None] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cme_case.id", ondelete="SET NULL"), index=True)
    source_partner: Mapped[str] = mapped_column(String(100))
    source_kind: Mapped[str] = mapped_column(String(20))
    source_reference: Mapped[str | None] = mapped_column(String(300))
    responsible_la: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    lawful_basis: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)

    # Many-to-one links so the flush inserts children and cases before their notifications.
    child: Mapped[ChildRow | None] = relationship()
    case: Mapped[CaseRow | None] = relationship()


class CaseRow(Base):
    __tablename__ = "cme_case"
    __table_args__ = (
        Index("ix_cme_case_status", "status"),
        Index("ix_cme_case_referred_on", "referred_on"),
        # Covering indexes: the dashboard's measures read only these columns, so PostgreSQL answers
        # them from the index (index-only scans) instead of scanning every episode.
        Index(
            "ix_cme_case_cme_window",
            "cme_ended_on",
            "referred_on",
            "dfe_reason",
            "whereabouts_known",
            "new_to_area",
            "new_to_country",
            "risk_mask",
        ),
        Index("ix_cme_case_closed_on", "closed_on", "closure_reason"),
        Index("ix_cme_case_provision_on", "provision_on", "referred_on"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    referral_source: Mapped[str] = mapped_column(String(20))
    referred_on: Mapped[dt.date] = mapped_column(Date)
    dfe_reason: Mapped[str] = mapped_column(String(40))
    date_last_seen: Mapped[dt.date | None] = mapped_column(Date)
    whereabouts_known: Mapped[bool] = mapped_column(Boolean, default=False)
    new_to_area: Mapped[bool] = mapped_column(Boolean, default=False)
    new_to_country: Mapped[bool] = mapped_column(Boolean, default=False)
    last_school: Mapped[str | None] = mapped_column(String(7))
    destination_code: Mapped[str | None] = mapped_column(String(7))
    located_la: Mapped[str | None] = mapped_column(String(3))
    provision_on: Mapped[dt.date | None] = mapped_column(Date)
    cme_ended_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closure_reason: Mapped[str | None] = mapped_column(String(40))
    # The risk flags again, as bits (model.RISK_BITS), so the dashboard needs no join.
    risk_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    child: Mapped[ChildRow] = relationship()
    risk_flags: Mapped[list[RiskFlagRow]] = relationship(cascade="all, delete-orphan")
    transitions: Mapped[list[TransitionRow]] = relationship(
        order_by="TransitionRow.seq", cascade="all, delete-orphan"
    )
    tasks: Mapped[list[TaskRow]] = relationship(order_by="TaskRow.opened_on", cascade="all, delete-orphan")


class RiskFlagRow(Base):
    __tablename__ = "case_risk_flag"

    case_id: Mapped[str] = mapped_column(ForeignKey("cme_case.id", ondelete="CASCADE"), primary_key=True)
    flag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class TransitionRow(Base):
    __tablename__ = "case_transition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cme_case.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(30))
    on: Mapped[dt.date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)


class TaskRow(Base):
    __tablename__ = "task"
    __table_args__ = (Index("ix_task_state_due_on_kind", "state", "due_on", "kind"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cme_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    escalated_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class EnquiryRow(Base):
    __tablename__ = "enquiry"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))
    other_la: Mapped[str] = mapped_column(String(3))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    event_id: Mapped[str | None] = mapped_column(String(64))
    child_id: Mapped[str | None] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cme_case.id", ondelete="SET NULL"))
    responded_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(40))

    child: Mapped[ChildRow | None] = relationship()
    case: Mapped[CaseRow | None] = relationship()


class AuditRow(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class ProcessedEventRow(Base):
    __tablename__ = "processed_event"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(200))


# Tables of places, transitions and S2S (migration 0003) share this metadata.
from services.register import orm_places as _orm_places  # noqa: E402,F401

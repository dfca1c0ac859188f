"""The API's own tables: clients, the hash-chained audit log and whereabouts enquiries.

They live beside the register's tables in the same database but have their own metadata and their
own Alembic chain (``services/api/migrations``, version table ``alembic_version_api``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class ApiBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class ClientRow(ApiBase):
    """A partner system, another authority's hub, an officer console or an operator: one set of credentials."""

    __tablename__ = "api_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    home_la: Mapped[str] = mapped_column(String(3))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # sources a partner may push
    secret_hash: Mapped[str] = mapped_column(String(300))
    generation: Mapped[int] = mapped_column(Integer, default=1)  # bumped on rotate: older tokens die
    rate_per_s: Mapped[float | None] = mapped_column(Float)
    burst: Mapped[int | None] = mapped_column(Integer)
    daily_quota: Mapped[int | None] = mapped_column(Integer)
    mtls_subject: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRecordRow(ApiBase):
    """One audited access to personal data; ``hash`` chains it to the row before (append-only)."""

    __tablename__ = "api_audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)  # client id
    actor_la: Mapped[str] = mapped_column(String(3))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(ApiBase):
    """The chain's last sequence number and hash, updated with each append (catches a cut tail)."""

    __tablename__ = "api_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class EnquiryRecordRow(ApiBase):
    """A whereabouts enquiry received from (or sent to) another authority, with the answer given."""

    __tablename__ = "api_enquiry"
    __table_args__ = (Index("ix_api_enquiry_client_created", "client_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))  # incoming / outgoing
    client_id: Mapped[str] = mapped_column(String(64))  # who asked (incoming) or which peer (outgoing)
    from_la: Mapped[str] = mapped_column(String(3))
    to_la: Mapped[str] = mapped_column(String(3))
    purpose_code: Mapped[str] = mapped_column(String(40))
    purpose_text: Mapped[str] = mapped_column(Text)
    case_reference: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[dict[str, Any]] = mapped_column(JSON)  # the child details the enquirer sent
    status: Mapped[str] = mapped_column(String(20))  # known / possible / not_known
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    child_id: Mapped[str | None] = mapped_column(String(36))  # never disclosed
    match_probability: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    review_by: Mapped[dt.date | None] = mapped_column(Date)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # When the enquiry was recorded in the register (None: still to do; a background task catches up).
    registered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)

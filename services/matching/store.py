"""The matcher's own tables: every decision with its evidence, and the review queue.

They live in the register's database, written in the same transaction as the register's effects,
under their own Alembic history (version table ``alembic_version_matching``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.register.orm import NAMING


class MatchingBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MatchDecisionRow(MatchingBase):
    """One decision of the matcher about one notification (the evidence a person can read)."""

    __tablename__ = "match_decision"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60))
    responsible_la: Mapped[str] = mapped_column(String(3))
    decision: Mapped[str] = mapped_column(String(20))  # match | review | no_match | manual_match | manual_no_match
    rule: Mapped[str] = mapped_column(String(20))
    child_id: Mapped[str | None] = mapped_column(String(36))  # the child the notification was recorded against
    candidate_id: Mapped[str | None] = mapped_column(String(36))  # the engine's best candidate
    probability: Mapped[float] = mapped_column(Float)
    weight: Mapped[float | None] = mapped_column(Float)  # None when no candidate was weighed
    reason: Mapped[str] = mapped_column(Text)
    comparisons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    candidates: Mapped[int] = mapped_column(Integer)
    config_version: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str] = mapped_column(String(100))


class ReviewItemRow(MatchingBase):
    """A notification held until a person says which child it is about (or that it is a new child)."""

    __tablename__ = "review_item"
    __table_args__ = (Index("ix_review_item_state_la", "state", "responsible_la"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    responsible_la: Mapped[str] = mapped_column(String(3))
    event_type: Mapped[str] = mapped_column(String(60))
    candidate_id: Mapped[str | None] = mapped_column(String(36))
    probability: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)  # the notification, JSON-safe, to replay on a decision
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | accepted | rejected
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    linked_child_id: Mapped[str | None] = mapped_column(String(36))

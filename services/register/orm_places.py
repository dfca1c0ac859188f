"""Tables of places, transitions, S2S searches and watch-list reviews, kept in the register's database.

They belong to ``services.places`` and ``services.transitions`` but live in the register's schema
(migration 0003) so one database, one backup and one set of migrations hold everything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.register.orm import ID, Base


class PlaceVacancyRow(Base):
    """The latest vacancies of one school in one year group."""

    __tablename__ = "place_vacancy"

    laestab: Mapped[str] = mapped_column(String(7), primary_key=True)
    year_group: Mapped[str] = mapped_column(String(3), primary_key=True)
    urn: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(200))
    phase: Mapped[str | None] = mapped_column(String(30))
    capacity: Mapped[int] = mapped_column(Integer)
    on_roll: Mapped[int] = mapped_column(Integer)
    vacancies: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[dt.date] = mapped_column(Date)
    postcode: Mapped[str | None] = mapped_column(String(10))
    event_id: Mapped[str] = mapped_column(String(64))


class PlaceProviderRow(Base):
    """The latest picture of one alternative provision or tuition provider."""

    __tablename__ = "place_provider"

    provider_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    provider_type: Mapped[str] = mapped_column(String(40))
    places: Mapped[int] = mapped_column(Integer)
    places_available: Mapped[int] = mapped_column(Integer)
    age_from: Mapped[int | None] = mapped_column(Integer)
    age_to: Mapped[int | None] = mapped_column(Integer)
    send_suitable: Mapped[bool] = mapped_column(Boolean, default=False)
    as_of: Mapped[dt.date] = mapped_column(Date)
    postcode: Mapped[str | None] = mapped_column(String(10))
    event_id: Mapped[str] = mapped_column(String(64))


class TransitionExpectationRow(Base):
    """A child expected on a school's roll from a start date (an offer, or a deletion return naming the school)."""

    __tablename__ = "transition_expectation"
    __table_args__ = (Index("ix_transition_expectation_state_due_on", "state", "due_on"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    la_code: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(30))
    school_laestab: Mapped[str] = mapped_column(String(7))
    year_group: Mapped[str | None] = mapped_column(String(3))
    application_reference: Mapped[str | None] = mapped_column(String(60))
    previous_school: Mapped[str | None] = mapped_column(String(7))
    expected_start: Mapped[dt.date] = mapped_column(Date)
    school_days_allowed: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    source_event_id: Mapped[str] = mapped_column(String(64))
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class S2sResultRow(Base):
    """One pupil of an S2S CTF (lost-pupil XXX or outside-sector MMM) searched against the register."""

    __tablename__ = "s2s_result"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ID, index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str | None] = mapped_column(String(64))
    destination_kind: Mapped[str | None] = mapped_column(String(30))
    decision: Mapped[str] = mapped_column(String(20))
    child_id: Mapped[str | None] = mapped_column(ForeignKey("child.id", ondelete="SET NULL"), index=True)
    match_weight: Mapped[float | None] = mapped_column(Float)
    match_probability: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    comparisons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WatchlistReviewRow(Base):
    """An officer's review of a child on the at-risk watch list."""

    __tablename__ = "watchlist_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    reviewed_on: Mapped[dt.date] = mapped_column(Date)
    reviewer: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")

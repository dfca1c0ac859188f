"""The latest picture of school vacancies and provider places, kept in the register's database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from services.register.orm import NotificationRow
from services.register.orm_places import PlaceProviderRow, PlaceVacancyRow
from services.register.unit_of_work import UnitOfWorkFactory

PLACES_EVENT_TYPES = ("places.school_vacancies", "places.provider")


@dataclass
class ApplySummary:
    """What applying a batch of places events did (counts only)."""

    applied: int = 0
    older_ignored: int = 0  # an event older than the picture already held
    other_types: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"applied": self.applied, "older_ignored": self.older_ignored, "other_types": self.other_types}


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _vacancy(session: Any, event: Mapping[str, Any]) -> bool:
    key = (event["school_laestab"], event["year_group"])
    as_of = _date(event["as_of"])
    row = session.get(PlaceVacancyRow, key)
    if row is not None and row.as_of > as_of:
        return False
    if row is None:
        row = PlaceVacancyRow(laestab=key[0], year_group=key[1])
        session.add(row)
    row.urn, row.name, row.phase = event.get("school_urn"), event.get("school_name"), event.get("phase")
    row.capacity, row.on_roll, row.vacancies = event["capacity"], event["on_roll"], event["vacancies"]
    row.as_of, row.postcode, row.event_id = as_of, event.get("postcode"), str(event["event_id"])
    return True


def _provider(session: Any, event: Mapping[str, Any]) -> bool:
    as_of = _date(event["as_of"])
    row = session.get(PlaceProviderRow, event["provider_id"])
    if row is not None and row.as_of > as_of:
        return False
    if row is None:
        row = PlaceProviderRow(provider_id=event["provider_id"])
        session.add(row)
    row.name, row.provider_type = event["provider_name"], event["provider_type"]
    row.places, row.places_available = event["places"], event["places_available"]
    row.age_from, row.age_to, row.send_suitable = event.get("age_from"), event.get("age_to"), bool(
        event.get("send_suitable"))
    row.as_of, row.postcode, row.event_id = as_of, event.get("postcode"), str(event["event_id"])
    return True


def apply_places_events(uows: UnitOfWorkFactory, events: Iterable[Mapping[str, Any]]) -> ApplySummary:
    """Keep the newest figures per school and year group, and per provider (one transaction)."""
    summary = ApplySummary()
    with uows() as uow:
        session = uow.session
        assert session is not None
        for event in events:
            kind = event.get("event_type")
            if kind == "places.school_vacancies":
                done = _vacancy(session, event)
            elif kind == "places.provider":
                done = _provider(session, event)
            else:
                summary.other_types += 1
                continue
            session.flush()
            if done:
                summary.applied += 1
            else:
                summary.older_ignored += 1
        session.commit()
    return summary


def apply_from_register(uows: UnitOfWorkFactory, since: dt.datetime | None = None) -> ApplySummary:
    """Apply the places events the matcher recorded as notifications (the stream path), oldest first; idempotent."""
    with uows() as uow:
        session = uow.session
        assert session is not None
        query = sa.select(NotificationRow.payload).where(NotificationRow.event_type.in_(PLACES_EVENT_TYPES))
        if since is not None:
            query = query.where(NotificationRow.received_at >= since)
        payloads = list(session.scalars(query.order_by(NotificationRow.occurred_at, NotificationRow.event_id)))
    return apply_places_events(uows, payloads)

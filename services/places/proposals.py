"""Schools and providers with a free place near a child, nearest first (DfE checklist: place a found child quickly)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from services.places.geo import Centroids, district, load_centroids
from services.places.years import age_on, year_group_for
from services.register.model import Child
from services.register.orm_places import PlaceProviderRow, PlaceVacancyRow
from services.register.unit_of_work import UnitOfWorkFactory

DEFAULT_MAX_KM = 8.0


class CannotPropose(LookupError):
    """The case or child cannot be given proposals; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class PlaceOption:
    """One school (with a vacancy in the year group) or provider (with a free place)."""

    kind: str  # "school" or "provider"
    id: str  # LAESTAB or provider id
    name: str
    detail: str  # year group for a school, provider type for a provider
    free_places: int
    distance_km: float
    postcode: str | None
    as_of: dt.date
    send_suitable: bool | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """The options for one child, nearest first, and a plain sentence saying what was found."""

    postcode: str | None
    year_group: str | None
    max_km: float
    schools: list[PlaceOption] = field(default_factory=list)
    providers: list[PlaceOption] = field(default_factory=list)
    message: str = ""

    @property
    def any(self) -> bool:
        return bool(self.schools or self.providers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO text)."""
        data = asdict(self)
        for option in (*data["schools"], *data["providers"]):
            option["as_of"] = option["as_of"].isoformat()
        return data


def propose_places(
    uows: UnitOfWorkFactory,
    year_group: str | None,
    postcode: str | None,
    *,
    age: int | None = None,
    needs_send: bool = False,
    max_km: float = DEFAULT_MAX_KM,
    limit: int = 5,
    centroids: Centroids | None = None,
) -> Proposal:
    """Schools with a vacancy in ``year_group`` and providers taking ``age`` within ``max_km``, nearest first."""
    centroids = centroids or load_centroids()
    if not postcode or centroids.locate(postcode) is None:
        where = f"postcode {postcode}" if postcode else "no postcode"
        return Proposal(postcode, year_group, max_km, message=(
            f"cannot rank places by distance: {where} has no known centroid; give a postcode in the area"))
    with uows() as uow:
        session = uow.session
        assert session is not None
        schools = []
        for s in session.scalars(sa.select(PlaceVacancyRow).where(
                PlaceVacancyRow.year_group == (year_group or ""), PlaceVacancyRow.vacancies > 0)):
            km = centroids.distance_km(postcode, s.postcode)
            if km is not None and km <= max_km:
                schools.append(PlaceOption("school", s.laestab, s.name or s.laestab, s.year_group, s.vacancies,
                                           round(km, 2), s.postcode, s.as_of))
        providers = []
        for p in session.scalars(sa.select(PlaceProviderRow).where(PlaceProviderRow.places_available > 0)):
            if age is not None and ((p.age_from is not None and age < p.age_from) or
                                    (p.age_to is not None and age > p.age_to)):
                continue
            if needs_send and not p.send_suitable:
                continue
            km = centroids.distance_km(postcode, p.postcode)
            if km is not None and km <= max_km:
                providers.append(PlaceOption("provider", p.provider_id, p.name, p.provider_type, p.places_available,
                                             round(km, 2), p.postcode, p.as_of, p.send_suitable))

    def order(o: PlaceOption) -> tuple[float, int, str]:
        return (o.distance_km, -o.free_places, o.name)

    schools.sort(key=order)
    providers.sort(key=order)
    schools, providers = schools[:limit], providers[:limit]
    area = f"{max_km:g} km of {district(postcode)}"
    if not year_group:
        head = "no year group known, so no school proposed"
    elif schools:
        head = f"{len(schools)} school(s) with a {year_group} vacancy within {area}, nearest {schools[0].name}"
    else:
        head = f"no vacancy in range: no school has a {year_group} vacancy within {area}"
    tail = (f"{len(providers)} provider(s) with a free place" if providers
            else "no alternative provision or tuition place in range")
    return Proposal(postcode, year_group, max_km, schools, providers, f"{head}; {tail}")


def home_postcode(child: Child) -> str | None:
    """The postcode of the child's current address (home first), if any."""
    current = [a for a in child.addresses if a.valid_to is None and a.postcode]
    for kind in ("home", "temporary", "unknown", "correspondence"):
        for address in reversed(current):
            if address.kind == kind:
                return address.postcode
    return current[-1].postcode if current else None


def proposals_for_case(
    uows: UnitOfWorkFactory,
    case_id: str,
    *,
    on: dt.date | None = None,
    max_km: float = DEFAULT_MAX_KM,
    limit: int = 5,
    centroids: Centroids | None = None,
) -> Proposal:
    """Proposals for the child of a case: year group from the date of birth, distance from the home postcode."""
    on = on or dt.date.today()
    with uows() as uow:
        case = uow.register.get_case(case_id)
        if case is None:
            raise CannotPropose(f"no case {case_id} in the register")
        child = uow.register.get_child(case.child_id)
        if child is None:
            raise CannotPropose(f"case {case_id} names no child the register holds")
    dob = child.date_of_birth
    year = year_group_for(dob, on) if dob else None
    return propose_places(uows, year, home_postcode(child), age=age_on(dob, on) if dob else None,
                          needs_send=child.ever_ehcp, max_km=max_km, limit=limit, centroids=centroids)

"""What a scenario is made of: the command's options and the data-driven dials in ``data/``."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.simulation.calendar import census_day

DATA_DIR = Path(__file__).parent / "data"


class ScenarioError(ValueError):
    """A scenario that cannot be built as asked; the message says which option to change."""


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """One run: the seed, the two authorities, their sizes and the period simulated."""

    seed: int = 1
    home_la: str = "383"
    neighbour_la: str = "384"
    children: int = 51_000  # school-age children in the home authority (an average authority)
    neighbour_children: int | None = None  # default: 60 per cent of ``children``
    start: date = date(2025, 9, 1)
    end: date = date(2025, 12, 19)
    burn_in_days: int = 365  # episodes before ``start`` so the period opens with a steady caseload
    dials: dict[str, Any] = field(default_factory=dict)  # overrides of scenario.yaml, merged one level deep

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ScenarioError(f"period end {self.end} is not after its start {self.start}")
        if self.children < 200:
            raise ScenarioError(f"--children {self.children}: at least 200 are needed for a school system")
        if self.home_la == self.neighbour_la:
            raise ScenarioError("the home authority and its neighbour must differ")
        for la in (self.home_la, self.neighbour_la):
            if la not in places_by_la():
                raise ScenarioError(f"no places for LA {la} in data/places.csv (known: {', '.join(places_by_la())})")

    @property
    def size_of(self) -> dict[str, int]:
        """School-age children per authority."""
        neighbour = self.neighbour_children if self.neighbour_children is not None else int(self.children * 0.6)
        return {self.home_la: self.children, self.neighbour_la: max(neighbour, 200)}

    @property
    def census(self) -> date:
        """The census day inside the period: the autumn census, or the period's middle."""
        for year in range(self.start.year, self.end.year + 1):
            day = census_day(year)
            if self.start <= day <= self.end:
                return day
        return date.fromordinal((self.start.toordinal() + self.end.toordinal()) // 2)

    @property
    def academic_year(self) -> int:
        """The year the academic year containing ``start`` began."""
        return self.start.year if self.start.month >= 9 else self.start.year - 1


@lru_cache(maxsize=1)
def _scenario_yaml() -> dict[str, Any]:
    with (DATA_DIR / "scenario.yaml").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def load_dials(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dials of ``data/scenario.yaml`` with ``overrides`` merged over them one level deep."""
    dials = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _scenario_yaml().items()}
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(dials.get(key), dict):
            dials[key].update(value)
        else:
            dials[key] = value
    return dials


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a data file in ``data/``."""
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def places_by_la() -> dict[str, list[dict[str, str]]]:
    """Postcode districts with centroids, per authority."""
    out: dict[str, list[dict[str, str]]] = {}
    for row in read_csv("places.csv"):
        out.setdefault(row["la"], []).append(row)
    return out

"""The population's statistics beside the targets they were configured to meet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.simulation.model import PLACE_HOME
from services.simulation.world import World


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, its target and whether it is within tolerance."""

    name: str
    value: float
    target: float
    tolerance: float

    @property
    def within(self) -> bool:
        """True when the value is within the relative tolerance of the target."""
        return abs(self.value - self.target) <= self.tolerance * self.target


@dataclass(frozen=True, slots=True)
class PopulationStats:
    """What the simulated authority looks like, measured from its ground truth."""

    la: str
    children_census_day: int
    cme_census_day: int
    episodes_in_period: int
    period_days: int
    new_to_area_episodes: int
    twins: int
    children_ever: int
    figures: tuple[Figure, ...]
    scaled_census_day: float  # CME on census day scaled to an average authority
    scaled_episodes_per_year: float

    @property
    def all_within(self) -> bool:
        """True when every figure meets its target."""
        return all(f.within for f in self.figures)


def _resident_on(world: World, la: str, day: date) -> int:
    count = 0
    for family in world.families:
        stay = family.stay_on(day)
        if stay is not None and stay.la == la and stay.place == PLACE_HOME:
            count += sum(1 for c in family.children if c.arrived_on is None or c.arrived_on <= day)
    return count


def population_stats(world: World, la: str | None = None) -> PopulationStats:
    """Census-day caseload, episodes a year, share new to area and twins, for one authority."""
    config = world.config
    la = la or config.home_la
    targets = world.dials["targets"]
    average = world.dials["average_authority"]
    census = config.census
    episodes = [e for e in world.episodes if e.la == la]
    open_census = sum(1 for e in episodes if e.open_on(census))
    in_period = [e for e in episodes if config.start <= e.start <= config.end]
    days = (config.end - config.start).days + 1
    children = _resident_on(world, la, census)
    kids = [c for c in world.children if c.family.stays and any(s.la == la for s in c.family.stays)]
    twins = sum(1 for c in kids if c.twin_of)
    new = sum(1 for e in in_period if e.new_to_area)
    tol = float(targets["tolerance"])
    per_year = len(in_period) / max(children, 1) * 365 / days
    figures = (
        Figure("cme_rate_census_day", open_census / max(children, 1), float(targets["cme_rate_census_day"]), tol),
        Figure("episodes_per_year_per_child", per_year, float(targets["episodes_per_year_per_child"]), tol),
        Figure("share_new_to_area", new / max(len(in_period), 1), float(targets["share_new_to_area"]), tol),
        Figure("twins_rate", twins / max(len(kids), 1), float(targets["twins_rate"]), tol),
    )
    scale = float(average["children"]) / max(children, 1)
    return PopulationStats(
        la=la,
        children_census_day=children,
        cme_census_day=open_census,
        episodes_in_period=len(in_period),
        period_days=days,
        new_to_area_episodes=new,
        twins=twins,
        children_ever=len(kids),
        figures=figures,
        scaled_census_day=open_census * scale,
        scaled_episodes_per_year=per_year * float(average["children"]),
    )

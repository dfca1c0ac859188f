"""A living synthetic local authority: population, life events, partner traffic and ground truth.

``simulate(config)`` builds a deterministic scenario for a seed; ``write_scenario`` writes the partner
files in their real formats beside the ground truth; ``population_stats`` measures it against targets.
"""

from services.simulation.config import ScenarioConfig, load_dials
from services.simulation.scenario import Scenario, simulate, write_scenario
from services.simulation.stats import PopulationStats, population_stats

__all__ = [
    "PopulationStats",
    "Scenario",
    "ScenarioConfig",
    "load_dials",
    "population_stats",
    "simulate",
    "write_scenario",
]

"""Scenarios shared by the simulation tests: a small one written to disk, and an average-sized one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.simulation import Scenario, ScenarioConfig, simulate, write_scenario

SMALL = ScenarioConfig(seed=7, children=2500, neighbour_children=1500, start=date(2025, 9, 1), end=date(2025, 12, 19))


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    """A small authority and neighbour over the autumn term 2025."""
    return simulate(SMALL)


@pytest.fixture(scope="session")
def small_folder(small_scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small scenario written to disk."""
    out = tmp_path_factory.mktemp("scenario")
    write_scenario(small_scenario, out)
    return out


@pytest.fixture(scope="session")
def average_scenario() -> Scenario:
    """An average authority (51,000 children) and its neighbour over the autumn term: the default scenario."""
    return simulate(ScenarioConfig(seed=1))

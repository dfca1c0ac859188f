"""The simulated population meets its configured targets (DOMAIN.md section 7) and looks like a city."""

from __future__ import annotations

from collections import Counter

from services.simulation import Scenario, load_dials


def test_default_scenario_meets_every_target(average_scenario: Scenario) -> None:
    stats = average_scenario.stats()
    report = {f.name: (round(f.value, 4), f.target) for f in stats.figures}
    assert stats.all_within, report
    assert 45_000 <= stats.children_census_day <= 57_000


def test_average_authority_has_about_250_cme_and_950_episodes_a_year(average_scenario: Scenario) -> None:
    stats = average_scenario.stats()
    assert 200 <= stats.scaled_census_day <= 300, stats.cme_census_day
    assert 900 <= stats.scaled_episodes_per_year <= 1_000, stats.episodes_in_period


def test_neighbour_scales_with_its_population(average_scenario: Scenario) -> None:
    home, neighbour = average_scenario.stats("383"), average_scenario.stats("384")
    ratio = neighbour.episodes_in_period / home.episodes_in_period
    assert 0.45 <= ratio <= 0.8  # the neighbour is 60 per cent of the home authority's size
    rate = neighbour.figures[1]
    assert rate.within, (rate.value, rate.target)


def test_twins_share_birthday_family_and_surname(average_scenario: Scenario) -> None:
    children = {c.id: c for c in average_scenario.world.children}
    twins = [c for c in children.values() if c.twin_of]
    assert twins
    for child in twins:
        other = children[child.twin_of]  # type: ignore[index]
        assert other.twin_of == child.id
        assert (other.dob, other.family.id) == (child.dob, child.family.id)
        assert other.given_name != child.given_name


def test_every_heritage_group_and_naming_practice_appears(average_scenario: Scenario) -> None:
    world = average_scenario.world
    groups = Counter(f.group for f in world.families)
    assert set(groups) == set(world.groups)
    assert groups.most_common(1)[0][0] == "white_british"
    somali = [c for c in world.children if c.family.group == "somali"]
    fathers = {c.id: next((p.given_name for p in c.family.parents if p.sex == "M"), None) for c in somali}
    assert sum(c.surname == fathers[c.id] for c in somali) > 0.5 * len(somali)  # patronymic surnames
    polish_girls = [c for c in world.children if c.family.group == "polish" and c.sex == "F"]
    assert any(c.surname.endswith("ska") for c in polish_girls)  # Kowalski -> Kowalska


def test_episode_reasons_follow_the_configured_shares(average_scenario: Scenario) -> None:
    shares = load_dials()["cme_reasons"]
    episodes = average_scenario.world.episodes
    counts = Counter(e.reason for e in episodes)
    for reason, dial in shares.items():
        assert abs(counts[reason] / len(episodes) - float(dial["share"])) < 0.06, (reason, counts[reason])


def test_open_episodes_mean_the_child_is_on_no_roll(average_scenario: Scenario) -> None:
    config = average_scenario.world.config
    for episode in average_scenario.world.episodes:
        if episode.open_on(config.census):
            assert episode.child.school_on(config.census) is None, episode
        if episode.end is not None and episode.outcome in ("admitted_local", "placed_pru", "found_readmitted"):
            assert episode.child.school_on(episode.end) is not None, episode


def test_identifiers_are_unique_and_issued_by_the_first_school(average_scenario: Scenario) -> None:
    world = average_scenario.world
    upns = [c.upn for c in world.children if c.upn]
    nhs = [c.nhs_number for c in world.children if c.nhs_number]
    assert len(upns) == len(set(upns)) and len(nhs) == len(set(nhs))
    year = world.config.academic_year
    for child in world.children[:2000]:
        if child.upn and child.arrived_on is None:
            assert child.upn[1:4] in world.config.size_of  # issued in the authority
            assert int(child.upn[8:10]) == (year - child.year_group(year)) % 100  # in the year they started

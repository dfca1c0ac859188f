from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.matching.blocking import BlockingIndex
from services.matching.comparisons import CompiledComparison
from services.matching.config import ConfigError, config_from_dict, dump_config, load_config


def test_shipped_configuration_loads_and_round_trips(tmp_path: Path) -> None:
    config = load_config()
    assert config.version and config.comparisons and config.blocking
    assert config.never_match_levels["nhs_number"] == ["conflict"]
    path = tmp_path / "copy.yaml"
    path.write_text(dump_config(config), encoding="utf-8")
    again = load_config(path)
    assert [c.name for c in again.comparisons] == [c.name for c in config.comparisons]
    assert again.comparison("given_name").levels[0].tf is True
    assert again.thresholds == config.thresholds


def _raw() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(dump_config(load_config()))


def test_last_level_must_be_else() -> None:
    data = _raw()
    data["comparisons"][0]["levels"].pop()
    with pytest.raises(ConfigError, match=r"given_name.*'else'"):
        config_from_dict(data)


def test_probabilities_and_thresholds_are_checked() -> None:
    data = _raw()
    data["comparisons"][1]["levels"][0]["m"] = 1.5
    with pytest.raises(ConfigError, match=r"surname. level 1: m and u must be probabilities"):
        config_from_dict(data)
    data = _raw()
    data["thresholds"] = {"match": 0.4, "review": 0.6}
    with pytest.raises(ConfigError, match="thresholds"):
        config_from_dict(data)


def test_unknown_level_kind_and_blocking_part_are_named() -> None:
    config = load_config()
    config.comparisons[0].levels[1].kind = "soundalike"
    with pytest.raises(ConfigError, match="soundalike"):
        CompiledComparison(config.comparisons[0])
    config = load_config()
    config.blocking[0].key = ["shoe_size"]
    with pytest.raises(ConfigError, match="shoe_size"):
        BlockingIndex(config)

"""The linkage configuration: comparisons and their levels, blocking keys, thresholds, parameters.

It is data (``config/default.yaml``) an authority can read, change and version; ``cmehub link train``
writes a new file with re-estimated parameters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """The linkage configuration cannot be used; the message says which entry and why."""


@dataclass
class Level:
    """One level of a comparison, its test (``kind`` with an optional ``min``) and its m/u."""

    label: str
    kind: str
    m: float
    u: float
    min: float | None = None
    tf: bool = False


@dataclass
class Comparison:
    """One field comparison: levels are tried in order and the first that holds is taken."""

    name: str
    kind: str
    levels: list[Level]
    description: str = ""


@dataclass
class BlockingRule:
    """Records sharing every part of the key become candidate pairs."""

    name: str
    key: list[str]


@dataclass
class Thresholds:
    """Decision thresholds on the match probability, and the best-vs-second-best gap in bits."""

    match: float = 0.99
    review: float = 0.5
    min_gap_bits: float = 6.0


@dataclass
class LinkageConfig:
    """Everything the engine needs to link a record to the register."""

    version: str
    comparisons: list[Comparison]
    blocking: list[BlockingRule]
    thresholds: Thresholds = field(default_factory=Thresholds)
    description: str = ""
    prior: float | None = None
    max_block_size: int = 500
    tf_minimum_u: float = 0.0005
    never_match_levels: dict[str, list[str]] = field(default_factory=dict)
    never_match_unless: dict[str, list[str]] = field(default_factory=dict)
    sex_conflict_needs_exact_given_name: bool = True
    trained: dict[str, Any] = field(default_factory=dict)

    def comparison(self, name: str) -> Comparison:
        """The comparison called ``name``."""
        for item in self.comparisons:
            if item.name == name:
                return item
        raise ConfigError(f"no comparison named {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """A plain dict ready for YAML."""
        return asdict(self)


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ConfigError(f"{where}: missing {key!r}")
    return mapping[key]


def config_from_dict(data: dict[str, Any]) -> LinkageConfig:
    """Validate and build a configuration from a parsed YAML/JSON document."""
    comparisons = []
    for i, item in enumerate(_require(data, "comparisons", "configuration")):
        where = f"comparison {item.get('name', i)!r}"
        levels = []
        for j, level in enumerate(_require(item, "levels", where)):
            lwhere = f"{where} level {j + 1}"
            m, u = float(_require(level, "m", lwhere)), float(_require(level, "u", lwhere))
            if not (0 < m <= 1 and 0 < u <= 1):
                raise ConfigError(f"{lwhere}: m and u must be probabilities in (0, 1], found m={m} u={u}")
            levels.append(
                Level(
                    label=str(level.get("label", level.get("kind"))),
                    kind=str(_require(level, "kind", lwhere)),
                    m=m,
                    u=u,
                    min=None if level.get("min") is None else float(level["min"]),
                    tf=bool(level.get("tf", False)),
                )
            )
        if not levels or levels[-1].kind != "else":
            raise ConfigError(f"{where}: the last level must be kind 'else'")
        comparisons.append(
            Comparison(
                name=str(_require(item, "name", where)),
                kind=str(item.get("kind", item.get("name"))),
                levels=levels,
                description=str(item.get("description", "")),
            )
        )
    blocking = [
        BlockingRule(name=str(rule.get("name", "+".join(rule["key"]))), key=list(rule["key"]))
        for rule in _require(data, "blocking", "configuration")
    ]
    thresholds = Thresholds(**(data.get("thresholds") or {}))
    if not 0 < thresholds.review <= thresholds.match < 1:
        raise ConfigError("thresholds: need 0 < review <= match < 1")
    prior = data.get("prior")
    return LinkageConfig(
        version=str(_require(data, "version", "configuration")),
        description=str(data.get("description", "")),
        comparisons=comparisons,
        blocking=blocking,
        thresholds=thresholds,
        prior=None if prior in (None, "auto") else float(prior),
        max_block_size=int(data.get("max_block_size", 500)),
        tf_minimum_u=float(data.get("tf_minimum_u", 0.0005)),
        never_match_levels={k: list(v) for k, v in (data.get("never_match_levels") or {}).items()},
        never_match_unless={k: list(v) for k, v in (data.get("never_match_unless") or {}).items()},
        sex_conflict_needs_exact_given_name=bool(data.get("sex_conflict_needs_exact_given_name", True)),
        trained=dict(data.get("trained") or {}),
    )


def load_config(path: str | Path | None = None) -> LinkageConfig:
    """Read a configuration file (YAML or JSON); the shipped default when ``path`` is None."""
    if path is None:
        text = resources.files("services.matching").joinpath("config", "default.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'default.yaml'}: not a mapping")
    return config_from_dict(data)


def dump_config(config: LinkageConfig) -> str:
    """YAML text for ``config``, in the same shape ``load_config`` reads."""
    data = config.to_dict()
    data["prior"] = "auto" if config.prior is None else config.prior
    for comparison in data["comparisons"]:
        for level in comparison["levels"]:
            level["m"] = float(f"{level['m']:.6g}")
            level["u"] = float(f"{level['u']:.6g}")
            if level["min"] is None:
                del level["min"]
            if not level["tf"]:
                del level["tf"]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

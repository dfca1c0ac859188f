"""What the engine returns: a decision with its evidence, readable by a person."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Outcome = Literal["match", "review", "no_match"]


@dataclass(frozen=True, slots=True)
class ComparisonWeight:
    """One comparison's outcome for a pair: the level reached and its weight in bits."""

    comparison: str
    level: str
    weight: float


@dataclass(frozen=True, slots=True)
class CandidateScore:
    """A register record scored against the incoming record."""

    register_id: str
    match_weight: float
    match_probability: float
    comparisons: tuple[ComparisonWeight, ...]
    identifier_agrees: bool
    identifier_conflicts: bool
    cap_reason: str | None
    contradicts: bool


@dataclass(frozen=True, slots=True)
class LinkDecision:
    """The decision for one record: outcome, best candidate, weights and a one-line reason."""

    record_id: str
    decision: Outcome
    register_id: str | None
    match_probability: float
    match_weight: float | None
    rule: Literal["identifier", "probabilistic", "none"]
    comparisons: tuple[ComparisonWeight, ...]
    reason: str
    candidates: int
    second_register_id: str | None = None
    second_match_weight: float | None = None
    config_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (for storage and events)."""
        return asdict(self)


def describe(candidate: CandidateScore, limit_for: int = 3, limit_against: int = 2) -> str:
    """The strongest evidence for and against, e.g. ``date_of_birth exact +11.2``."""
    parts = sorted(candidate.comparisons, key=lambda c: -c.weight)
    pros = [f"{c.comparison} {c.level} {c.weight:+.1f}" for c in parts if c.weight > 0][:limit_for]
    cons = [f"{c.comparison} {c.level} {c.weight:+.1f}" for c in reversed(parts) if c.weight < 0]
    text = "for: " + (", ".join(pros) or "nothing")
    if cons:
        text += "; against: " + ", ".join(cons[:limit_against])
    return text

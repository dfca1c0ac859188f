"""Re-estimating m and u: u from random register pairs, m by expectation–maximisation (EM).

u (how often different children agree by chance) is measured directly on random pairs of the
register; m (how often the same child agrees) is estimated by EM over blocked candidate pairs,
with u held fixed, as Splink recommends. Both are smoothed towards the previous values so a level
the data never shows keeps its old parameter instead of an extreme one.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from services.matching.config import LinkageConfig
from services.matching.engine import Linker
from services.matching.features import Prepared

U_PSEUDO_COUNT = 1000.0
M_PSEUDO_COUNT = 20.0
FLOOR = 1e-7


@dataclass
class TrainingReport:
    """What training saw and did (counts only: no personal data)."""

    register_records: int
    u_pairs: int
    em_pairs: int
    em_iterations: int
    estimated_match_share: float
    m_updated: bool
    note: str


def comparison_vectors(linker: Linker, pairs: Sequence[tuple[Prepared, Prepared]]) -> np.ndarray:
    """One row per pair, one column per comparison, holding the level index (-1 = missing)."""
    out = np.empty((len(pairs), len(linker.comparisons)), dtype=np.int16)
    for row, (a, b) in enumerate(pairs):
        out[row] = linker.levels(a, b)
    return out


def _level_shares(vectors: np.ndarray, column: int, levels: int, weights: np.ndarray) -> tuple[np.ndarray, float]:
    col = vectors[:, column]
    sums = np.array([weights[col == level].sum() for level in range(levels)], dtype=float)
    return sums, float(sums.sum())


def estimate_u(
    linker: Linker, register: Sequence[Prepared], pairs: int = 100_000, seed: int = 0
) -> tuple[list[list[float]], int]:
    """u per level from random register pairs (different children, nearly always)."""
    n = len(register)
    if n < 2:
        return [[lv.u for lv in c.levels] for c in linker.config.comparisons], 0
    rng = random.Random(seed)
    sample = []
    for _ in range(pairs):
        i, j = rng.randrange(n), rng.randrange(n)
        if i != j:
            sample.append((register[i], register[j]))
    vectors = comparison_vectors(linker, sample)
    ones = np.ones(len(sample))
    result = []
    for c, spec in enumerate(linker.config.comparisons):
        counts, total = _level_shares(vectors, c, len(spec.levels), ones)
        prior = np.array([lv.u for lv in spec.levels])
        u = (counts + U_PSEUDO_COUNT * prior) / (total + U_PSEUDO_COUNT)
        result.append([max(float(x), FLOOR) for x in u])
    return result, len(sample)


def expectation_maximisation(
    vectors: np.ndarray,
    m: list[list[float]],
    u: list[list[float]],
    share: float = 0.01,
    iterations: int = 40,
    tolerance: float = 1e-5,
) -> tuple[list[list[float]], float, int]:
    """EM for m and the share of matching pairs, u fixed; returns (m, share, iterations run)."""
    m = [list(row) for row in m]
    priors = [np.array(row) for row in m]
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is returned
        log_m = np.zeros(len(vectors))
        log_u = np.zeros(len(vectors))
        for c in range(vectors.shape[1]):
            col = vectors[:, c]
            present = col >= 0
            lm = np.log(np.array(m[c]))
            lu = np.log(np.array(u[c]))
            log_m[present] += lm[col[present]]
            log_u[present] += lu[col[present]]
        odds = np.log(share) - np.log1p(-share) + log_m - log_u
        posterior = 1.0 / (1.0 + np.exp(-np.clip(odds, -700, 700)))
        new_share = float(np.clip(posterior.mean(), 1e-9, 1 - 1e-9))
        change = abs(new_share - share)
        for c in range(vectors.shape[1]):
            sums, total = _level_shares(vectors, c, len(m[c]), posterior)
            new = (sums + M_PSEUDO_COUNT * priors[c]) / (total + M_PSEUDO_COUNT)
            change = max(change, float(np.abs(new - np.array(m[c])).max()))
            m[c] = [max(float(x), FLOOR) for x in new]
        share = new_share
        if change < tolerance:
            break
    return m, share, done


def blocked_pairs(
    linker: Linker, register: Sequence[Prepared], records: Sequence[Prepared] | None
) -> list[tuple[Prepared, Prepared]]:
    """Candidate pairs: records against the register, or the register against itself."""
    index = linker.build_index(())
    for p in register:
        index.add_prepared(p)
    pairs: list[tuple[Prepared, Prepared]] = []
    for position, p in enumerate(register if records is None else records):
        for other in index.candidates(p):
            candidate = index.records[other]
            if candidate is not None and (records is not None or other > position):
                pairs.append((p, candidate))
    return pairs


def train(
    config: LinkageConfig,
    register: Sequence[Prepared],
    records: Sequence[Prepared] | None = None,
    u_pairs: int = 100_000,
    seed: int = 0,
) -> tuple[LinkageConfig, TrainingReport]:
    """A new configuration with u from the register and m from EM over blocked pairs."""
    linker = Linker(config)
    u, sampled = estimate_u(linker, register, u_pairs, seed)
    m0 = [[lv.m for lv in c.levels] for c in config.comparisons]
    pairs = blocked_pairs(linker, register, records)
    vectors = comparison_vectors(linker, pairs)
    expected = min(len(records), len(pairs)) if records is not None else max(len(pairs) // 50, 1)
    share0 = min(max(expected / max(len(pairs), 1), 1e-4), 0.5)
    m, share, iterations = expectation_maximisation(vectors, m0, u, share0) if len(pairs) else (m0, 0.0, 0)
    matched = share * len(pairs)
    m_updated = matched >= 20
    note = (
        "m re-estimated by EM"
        if m_updated
        else f"kept previous m: EM found only {matched:.0f} likely matching pairs (give --records)"
    )
    trained = copy.deepcopy(config)
    for c, spec in enumerate(trained.comparisons):
        for level_index, level in enumerate(spec.levels):
            level.u = u[c][level_index]
            if m_updated:
                level.m = m[c][level_index]
    trained.version = datetime.now(UTC).strftime("%Y-%m-%d.%H%M")
    trained.trained = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "register_records": len(register),
        "u_random_pairs": sampled,
        "em_pairs": len(pairs),
        "em_iterations": iterations,
        "em_match_share": round(share, 6),
        "note": note,
    }
    report = TrainingReport(len(register), sampled, len(pairs), iterations, share, m_updated, note)
    return trained, report

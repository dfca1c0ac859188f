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
# A level the data shows fewer times than this keeps its previous value: no evidence is not
# evidence of impossibility.
MIN_OBSERVED = 5
FLOOR = 1e-7
# No level is ever impossible for the same child (data entry can do anything): keep m above this
# so one disagreement can never outweigh everything else.
M_FLOOR = 0.002


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


def _blend(counts: np.ndarray, total: float, prior: np.ndarray, pseudo: float, floor: float) -> list[float]:
    """Observed shares smoothed towards ``prior``; rarely seen levels keep the prior value."""
    shares = (counts + pseudo * prior) / (total + pseudo)
    rare = counts < MIN_OBSERVED
    if rare.any() and not rare.all():
        kept = float(prior[rare].sum())
        seen = float(shares[~rare].sum())
        shares = np.where(rare, prior, shares * (1.0 - kept) / seen if seen > 0 else shares)
    elif rare.all():
        shares = prior.copy()
    return [max(float(x), floor) for x in shares]


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
        result.append(_blend(counts, total, prior, U_PSEUDO_COUNT, FLOOR))
    return result, len(sample)


def expectation_maximisation(
    vectors: np.ndarray,
    m: list[list[float]],
    u: list[list[float]],
    share: float = 0.01,
    iterations: int = 40,
    tolerance: float = 1e-5,
) -> tuple[list[list[float]], float, int]:
    """EM over blocked pairs for m and the share of matching pairs; returns (m, share, iterations run).

    u is re-estimated inside EM too, so the non-matching class can absorb blocked look-alikes
    (siblings share a surname and an address), but only m is kept: scoring uses the u measured
    on random pairs, which describes the whole register.
    """
    m = [list(row) for row in m]
    u = [list(row) for row in u]
    priors = [np.array(row) for row in m]
    u_priors = [np.array(row) for row in u]
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
            u_sums, u_total = _level_shares(vectors, c, len(u[c]), 1.0 - posterior)
            u[c] = [max(float(x), FLOOR) for x in (u_sums + M_PSEUDO_COUNT * u_priors[c]) / (u_total + M_PSEUDO_COUNT)]
        share = new_share
        if change < tolerance:
            break
    return m, share, done


def estimate_m_from_anchors(
    vectors: np.ndarray, config: LinkageConfig, anchors: dict[str, list[str]], minimum: int = 50
) -> tuple[list[list[float]], dict[str, int]]:
    """m per level from pairs an identifier already links (e.g. equal valid NHS numbers).

    Such pairs are near-certain matches, so their other comparisons show how the same child's
    details vary between sources. A comparison is never measured on pairs anchored by itself.
    """
    columns = {c.name: i for i, c in enumerate(config.comparisons)}
    anchored: dict[int, np.ndarray] = {}
    for name, kinds in anchors.items():
        if name not in columns:
            continue
        col = columns[name]
        wanted = [j for j, lv in enumerate(config.comparisons[col].levels) if lv.kind in kinds]
        anchored[col] = np.isin(vectors[:, col], wanted)
    m: list[list[float]] = []
    used: dict[str, int] = {}
    for c, spec in enumerate(config.comparisons):
        prior = np.array([lv.m for lv in spec.levels])
        mask = np.zeros(len(vectors), dtype=bool)
        for col, hits in anchored.items():
            if col != c:
                mask |= hits
        counts, total = _level_shares(vectors, c, len(spec.levels), mask.astype(float))
        used[spec.name] = int(total)
        if total < minimum:
            m.append([float(x) for x in prior])
            continue
        m.append(_blend(counts, total, prior, M_PSEUDO_COUNT, M_FLOOR))
    return m, used


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


ANCHORS = {"nhs_number": ["exact_valid"], "upn": ["exact_valid"], "other_id": ["exact"]}


def train(
    config: LinkageConfig,
    register: Sequence[Prepared],
    records: Sequence[Prepared] | None = None,
    u_pairs: int = 100_000,
    seed: int = 0,
    method: str = "anchors",
) -> tuple[LinkageConfig, TrainingReport]:
    """A new configuration: u from random register pairs; m from identifier-linked pairs or EM.

    ``method="anchors"`` (default) measures m on blocked pairs an identifier links;
    ``method="em"`` runs expectation–maximisation over all blocked pairs instead.
    """
    linker = Linker(config)
    u, sampled = estimate_u(linker, register, u_pairs, seed)
    m0 = [[lv.m for lv in c.levels] for c in config.comparisons]
    pairs = blocked_pairs(linker, register, records)
    vectors = comparison_vectors(linker, pairs)
    expected = min(len(records), len(pairs)) if records is not None else max(len(pairs) // 50, 1)
    share0 = min(max(expected / max(len(pairs), 1), 1e-4), 0.5)
    if method == "anchors":
        m, used = estimate_m_from_anchors(vectors, config, ANCHORS)
        iterations, share = 0, 0.0
        kept = [name for name, n in used.items() if n < 50]
        m_updated = len(kept) < len(used)
        if not m_updated:
            note = "kept previous m: fewer than 50 identifier-linked pairs (give --records)"
        else:
            note = "m measured on identifier-linked pairs" + (
                f"; kept previous m for {', '.join(kept)} (fewer than 50 pairs)" if kept else ""
            )
    elif method == "em":
        m, share, iterations = expectation_maximisation(vectors, m0, u, share0) if len(pairs) else (m0, 0.0, 0)
        matched = share * len(pairs)
        m_updated = matched >= 20
        note = (
            "m re-estimated by EM"
            if m_updated
            else f"kept previous m: EM found only {matched:.0f} likely matching pairs (give --records)"
        )
    else:
        raise ValueError(f"unknown training method {method!r}: use 'anchors' or 'em'")
    trained = copy.deepcopy(config)
    for c, spec in enumerate(trained.comparisons):
        for level_index, level in enumerate(spec.levels):
            level.u = u[c][level_index]
            if m_updated:
                level.m = m[c][level_index]
            if level.kind in ("else", "conflict"):
                # A disagreement is never evidence for a match, whatever the sample says.
                level.m = min(level.m, level.u)
    trained.version = datetime.now(UTC).strftime("%Y-%m-%d.%H%M")
    trained.trained = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "register_records": len(register),
        "u_random_pairs": sampled,
        "method": method,
        "blocked_pairs": len(pairs),
        "em_iterations": iterations,
        "em_match_share": round(share, 6),
        "note": note,
    }
    report = TrainingReport(len(register), sampled, len(pairs), iterations, share, m_updated, note)
    return trained, report

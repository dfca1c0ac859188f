from __future__ import annotations

import numpy as np

from services.matching.config import load_config
from services.matching.engine import Linker
from services.matching.synthetic import generate
from services.matching.training import estimate_m_from_anchors, expectation_maximisation, train


def test_anchor_training_learns_how_the_same_child_varies() -> None:
    data = generate(register_size=1500, records=500, seed=3)
    config = load_config()
    linker = Linker(config)
    register = [linker.prepare(r) for r in data.register]
    records = [linker.prepare(r) for r in data.records]
    trained, report = train(config, register, records, u_pairs=5000)
    assert report.m_updated and report.em_pairs > len(records)
    for comparison in trained.comparisons:
        assert abs(sum(level.m for level in comparison.levels) - 1) < 0.02, comparison.name
        for level in comparison.levels:
            if level.kind in ("else", "conflict"):
                assert level.m <= level.u
    dob = trained.comparison("date_of_birth")
    assert dob.levels[0].m > 0.8 and dob.levels[0].u < 0.01


def test_anchor_estimate_ignores_a_comparisons_own_anchor() -> None:
    config = load_config()
    names = [c.name for c in config.comparisons]
    vectors = np.full((100, len(names)), -1, dtype=np.int16)
    vectors[:, names.index("nhs_number")] = 0  # all pairs anchored by NHS number
    vectors[:, names.index("date_of_birth")] = 0
    m, used = estimate_m_from_anchors(vectors, config, {"nhs_number": ["exact_valid"]})
    assert used["nhs_number"] == 0  # never measured on pairs it anchored itself
    assert used["date_of_birth"] == 100 and m[names.index("date_of_birth")][0] > 0.9


def test_em_separates_two_obvious_classes() -> None:
    rng = np.random.default_rng(0)
    matches = np.zeros((200, 2), dtype=np.int16)
    others = rng.integers(0, 2, size=(2000, 2)).astype(np.int16) + 0
    others[others == 0] = 1
    vectors = np.vstack([matches, others])
    m, share, iterations = expectation_maximisation(vectors, [[0.6, 0.4], [0.6, 0.4]], [[0.1, 0.9], [0.1, 0.9]], 0.2)
    assert iterations >= 1
    assert 0.05 < share < 0.2
    assert m[0][0] > 0.8

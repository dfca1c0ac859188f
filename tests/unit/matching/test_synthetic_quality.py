"""A small end-to-end quality check on synthetic children (the full measurement is bench/bench_linkage.py)."""

from __future__ import annotations

from services.matching.engine import Linker
from services.matching.synthetic import generate


def test_synthetic_children_link_precisely() -> None:
    data = generate(register_size=3000, records=600, seed=7)
    linker = Linker()
    index = linker.build_index(data.register)
    matched = correct = registered = review = 0
    for record in data.records:
        decision = linker.link(record, index)
        truth = data.truth[record.id]
        registered += truth is not None
        review += decision.decision == "review"
        if decision.decision == "match":
            matched += 1
            correct += decision.register_id == truth
    assert correct / matched >= 0.995
    assert correct / registered >= 0.95
    assert review / len(data.records) < 0.06


def test_generator_is_deterministic_and_covers_the_hard_cases() -> None:
    a = generate(register_size=2000, records=800, seed=11)
    b = generate(register_size=2000, records=800, seed=11)
    assert [r.id for r in a.records] == [r.id for r in b.records] and a.truth == b.truth
    labels = {label for labels in a.scenarios.values() for label in labels}
    for expected in (
        "nickname",
        "spelling variant",
        "moved",
        "day/month swapped",
        "swapped names",
        "unregistered twin",
        "twin in register",
        "invalid NHS number",
        "no identifier",
    ):
        assert expected in labels, expected

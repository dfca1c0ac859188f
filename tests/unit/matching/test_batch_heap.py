"""After each step the batch process collects the cycles the step left and freezes what survived."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from services.matching import batch_process


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave the test process as it was


@pytest.mark.usefixtures("thawed")
def test_a_step_leaves_its_cycles_collected_and_its_survivors_frozen() -> None:
    kept: list[_Node] = []
    dropped: list[weakref.ref[_Node]] = []

    def step() -> None:
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # garbage once the step returns: only the collector can free it
        dropped.append(weakref.ref(a))
        kept.append(_Node())  # what a batch adds to the index

    frozen_before = gc.get_freeze_count()
    assert batch_process._publishing(step) == []
    assert dropped[0]() is None
    assert gc.get_freeze_count() > frozen_before
    assert not any(obj is kept[0] for obj in gc.get_objects())  # frozen: no collection walks it again


"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.matching.stream_harness import StreamHarness


@pytest.fixture
def harness(kafka_bootstrap: str, postgres_url: str, tmp_path: Path) -> Iterator[StreamHarness]:
    """Real matching worker processes on the real broker and a database of the test's own."""
    h = StreamHarness(kafka_bootstrap, postgres_url, tmp_path)
    yield h
    h.stop_all()

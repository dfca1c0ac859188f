"""Shared helpers for the connector tests: fixture paths and a fixed parse context."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from connectors.common.parsing import ParseContext

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def ctx() -> ParseContext:
    """A parse context with a fixed clock, so date checks do not drift."""
    return ParseContext(default_la="383", received_at=datetime(2026, 1, 15, 9, 0, tzinfo=UTC), today=date(2026, 1, 15))


def fixture_bytes(family: str, name: str) -> bytes:
    """The bytes of ``tests/fixtures/<family>/<name>``."""
    return (FIXTURES / family / name).read_bytes()

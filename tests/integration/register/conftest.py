"""A migrated, empty register on each backend: the real PostgreSQL server and a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.register.database import migrate
from services.register.unit_of_work import UnitOfWorkFactory, unit_of_work_factory


@pytest.fixture(params=["postgresql", "sqlite"])
def register_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL (not yet migrated) on each backend."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'register.sqlite3'}"


@pytest.fixture
def uows(register_url: str) -> Iterator[UnitOfWorkFactory]:
    """A unit-of-work factory over a register migrated from empty to head."""
    migrate(register_url)
    factory = unit_of_work_factory(register_url)
    yield factory
    factory.dispose()

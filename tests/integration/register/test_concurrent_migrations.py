"""Processes that start together migrate one at a time: none crashes on a half-made schema."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from services.api.database import migrate as migrate_api
from services.matching.database import migrate as migrate_matching
from services.register.database import migrate as migrate_register


def _migrate_everything(url: str) -> None:
    migrate_register(url)
    migrate_matching(url)
    migrate_api(url)


@pytest.mark.timeout(60)
def test_four_processes_migrating_one_empty_database_at_once(postgres_url: str) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(_migrate_everything, postgres_url) for _ in range(4)]:
            future.result()
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert {"child", "notification", "match_decision", "review_item", "alembic_version",
            "alembic_version_matching", "alembic_version_api"} <= tables

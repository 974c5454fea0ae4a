"""A fresh, migrated record store per test, one fixture per engine.

PostgreSQL gets a new database of the `make services` server (a missing server skips, or
fails under CI=true: tests/conftest.py `need`); DuckDB a new file under tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stores.duckdb import DuckDBStore
from stores.postgres import PostgresRecordStore, migrate
from tests.conftest import Services, fresh_database


@pytest.fixture
def postgres_store(services: Services) -> Iterator[PostgresRecordStore]:
    with fresh_database(services) as url:
        migrate(url)
        store = PostgresRecordStore(url)
        try:
            yield store
        finally:
            store.close()


@pytest.fixture
def duckdb_store(tmp_path: Path) -> Iterator[DuckDBStore]:
    store = DuckDBStore(tmp_path / "connectra.duckdb")
    store.migrate()
    yield store
    store.close()

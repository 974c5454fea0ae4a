"""Fixtures of the reindex tests: a fresh migrated database and an index prefix of the
test's own (every index under it, leftovers included, deleted afterwards), and the
production-profile stores on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stores.factory import Stores, open_stores
from stores.postgres import migrate
from stores.settings import Settings, settings_from_mapping
from tests.conftest import Services, fresh_database


def production_variables(
    services: Services, database: str, prefix: str, home: Path
) -> dict[str, str]:
    return {
        "API_KEY": "reindex-test-key",
        "DATABASE_URL": database,
        "SEARCH_URL": services.search_url,
        "SEARCH_ENGINE": "opensearch",
        "SEARCH_INDEX_PREFIX": prefix,
        "CONNECTRA_HOME": str(home),
    }


@pytest.fixture
def database(services: Services) -> Iterator[str]:
    with fresh_database(services) as url:
        migrate(url)
        yield url


@pytest.fixture
def prefix(opensearch: Any, unique_name: str) -> Iterator[str]:
    yield f"{unique_name}_"
    for index in opensearch.indices.get_alias(index=f"{unique_name}_*"):
        opensearch.indices.delete(index=index)


@pytest.fixture
def settings(services: Services, database: str, prefix: str, tmp_path: Path) -> Settings:
    variables = production_variables(services, database, prefix, tmp_path / "home")
    return settings_from_mapping(variables)


@pytest.fixture
def stores(settings: Settings) -> Iterator[Stores]:
    opened = open_stores(settings)
    opened.search.ensure_indices()
    yield opened
    opened.close()

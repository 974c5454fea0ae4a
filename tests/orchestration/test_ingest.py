"""A landed file streamed into the real stores: counts, agreement, idempotency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assets.loading import check_file, load_file, stores_agree
from orchestration.sample_data import read_manifest, write_sample_files
from stores.factory import Stores, open_stores
from stores.landing import LocalLandingZone
from stores.postgres import migrate
from stores.settings import settings_from_mapping
from tests.conftest import Services


@pytest.fixture
def production(
    services: Services, pg_database: str, opensearch: object, unique_name: str, tmp_path: Path
) -> Iterator[Stores]:
    settings = settings_from_mapping(
        {
            "API_KEY": "test-key",
            "DATABASE_URL": pg_database,
            "SEARCH_URL": services.search_url,
            "SEARCH_ENGINE": "opensearch",
            "CONNECTRA_HOME": str(tmp_path / "home"),
        }
    )
    assert settings.postgres is not None
    migrate(settings.postgres.url())
    stores = open_stores(settings, index_prefix=f"{unique_name}_")
    stores.search.ensure_indices()
    yield stores
    stores.search.drop_indices()  # type: ignore[attr-defined]
    stores.close()


@pytest.fixture
def landing(tmp_path: Path) -> LocalLandingZone:
    return LocalLandingZone(tmp_path / "landing")


def test_sample_file_loads_into_postgres_and_opensearch(
    production: Stores, landing: LocalLandingZone, tmp_path: Path
) -> None:
    [path] = write_sample_files(2_000, tmp_path / "gen", seed=7)
    expected = read_manifest(path).expected
    with path.open("rb") as stream:
        landing.put("batch/people.csv", stream)

    report = check_file(landing, "batch/people.csv")
    assert report.header.layout == "contacts" and report.header.encoding.startswith("utf")

    seen = []
    counts = load_file(
        landing, "batch/people.csv", production, "run-1", batch_rows=10, progress=seen.append
    )
    assert (counts.rows_read, counts.rows_loaded, counts.rows_merged, counts.rows_rejected) == (
        expected["read"], expected["loaded"], expected["merged"], expected["rejected"],
    )  # fmt: skip
    assert counts.accounted_for and counts.batches == len(seen) > 1

    where_all = None
    assert production.search.count("contacts", where_all) == expected["loaded"]
    agreement = stores_agree(production, "batch/people.csv")
    assert agreement.passed and agreement.records > expected["loaded"]  # contacts + companies

    again = load_file(landing, "batch/people.csv", production, "run-2", batch_rows=500)
    assert again.rows_loaded == expected["loaded"]
    assert production.search.count("contacts", where_all) == expected["loaded"]
    assert stores_agree(production, "batch/people.csv").passed

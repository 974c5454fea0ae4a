"""A landed file streamed into the real stores: counts, agreement, idempotency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from assets.loading import check_file, load_file, stores_agree
from orchestration.sample_data import read_manifest, write_sample_files
from stores.factory import Stores, open_stores
from stores.landing import LocalLandingZone
from stores.postgres import migrate
from stores.search.bulk import json_ready
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


def test_stores_agree_counts_what_each_store_alone_holds(
    production: Stores, landing: LocalLandingZone, tmp_path: Path
) -> None:
    """Ids missing from the index and one the records never had are counted as such, at
    both ends of the id order and in its middle (the two stores' ids are walked in order)."""
    [path] = write_sample_files(300, tmp_path / "gen", seed=5)
    with path.open("rb") as stream:
        landing.put("agree/people.csv", stream)
    load_file(landing, "agree/people.csv", production, "run-1", batch_rows=100)
    contacts = sorted(production.records.ids_for_file("contacts", "agree/people.csv"))
    lost = [contacts[0], contacts[len(contacts) // 2], contacts[-1]]
    search: Any = production.search
    client, alias = search.dialect.client, search.alias("contacts")
    for contact in lost:
        client.delete(index=alias, id=contact)
    stray = "ffffffff-ffff-4fff-bfff-ffffffffffff"  # after every other id
    production.search.index_documents(
        "contacts", [(stray, json.dumps({"id": stray, "source_file": ["agree/people.csv"]}))]
    )
    production.search.refresh()

    agreement = stores_agree(production, "agree/people.csv")
    assert not agreement.passed
    assert (agreement.only_in_records, agreement.only_in_search) == (3, 1)
    assert agreement.documents == agreement.records - 3 + 1


def _records_as_documents(
    stores: Stores, service: str, files: list[str]
) -> dict[str, dict[str, object]]:
    """The records `files` contributed to, in their search shape, as the index should hold
    them (nulls left out). The database is the session's: other tests' records are there."""
    records: Any = stores.records
    found: dict[str, dict[str, object]] = {}
    for table in records.search_rows(service, 5_000, source_files=files):
        for row in json_ready(table).to_pylist():
            found[str(row["id"])] = {k: v for k, v in row.items() if v is not None}
    return found


def test_two_loads_of_the_same_records_at_once_leave_the_index_holding_the_records(
    production: Stores, landing: LocalLandingZone, tmp_path: Path
) -> None:
    """Two files sharing every record, loaded at the same time: each record's files, first
    and last seen and every field are in the index exactly as in the records (one merge,
    the records', indexed in the order it happened)."""
    [path] = write_sample_files(1_500, tmp_path / "gen", seed=11)
    for key in ("a/people.csv", "b/people.csv"):
        with path.open("rb") as stream:
            landing.put(key, stream)
    with ThreadPoolExecutor(2) as pool:
        loads = [
            pool.submit(load_file, landing, key, production, f"run-{n}", batch_rows=5)
            for n, key in enumerate(("a/people.csv", "b/people.csv"))
        ]
        for load in loads:
            load.result()
    search: Any = production.search
    both = {"a/people.csv", "b/people.csv"}
    for service in ("companies", "contacts"):
        expected = _records_as_documents(production, service, ["a/people.csv", "b/people.csv"])
        lacking = [i for i, doc in expected.items() if not both <= set(doc["source_file"])]  # type: ignore[call-overload]
        assert expected and not lacking
        indexed = search.get_documents(service, list(expected))
        assert indexed == expected

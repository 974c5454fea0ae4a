"""`connectra reindex` as a user runs it: its own process, only the profile's variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assets.loading import load_file
from orchestration.sample_data import write_sample_files
from stores.factory import open_stores
from stores.landing import LocalLandingZone
from stores.postgres import migrate
from stores.settings import settings_from_mapping
from tests.conftest import Services, fresh_database
from tests.orchestration.test_ingest_command import connectra

KEY = "cli/people.csv"


def test_reindex_rebuilds_the_index_on_the_production_profile(
    tmp_path: Path, services: Services, opensearch: Any, unique_name: str
) -> None:
    prefix = f"{unique_name}_"
    home = tmp_path / "home"
    with fresh_database(services) as database:
        profile = {
            "API_KEY": "reindex-key",
            "DATABASE_URL": database,
            "SEARCH_URL": services.search_url,
            "SEARCH_ENGINE": "opensearch",
            "SEARCH_INDEX_PREFIX": prefix,
            "BATCH_SIZE_FOR_INSERTION": "10",  # 400-row read batches: several progress lines
        }
        try:
            migrate(database)
            stores = open_stores(settings_from_mapping({**profile, "CONNECTRA_HOME": str(home)}))
            [path] = write_sample_files(1_200, tmp_path / "gen", seed=4)
            landing = LocalLandingZone(tmp_path / "landing")
            with path.open("rb") as stream:
                landing.put(KEY, stream)
            try:
                stores.search.ensure_indices()
                load_file(landing, KEY, stores, "run-1", batch_rows=500)
                contacts = stores.search.count("contacts", None)
            finally:
                stores.close()

            done = connectra(home, "reindex", profile=profile)
            assert done.returncode == 0, done.stdout + done.stderr
            progress = [line for line in done.stdout.splitlines() if " rows read (" in line]
            assert sum(line.startswith("reindex contacts: ") for line in progress) > 1
            assert f"reindex contacts: {contacts:,} documents in {prefix}contacts_v2" in done.stdout
            assert "reindex done (run " in done.stdout
            assert sorted(opensearch.indices.get_alias(name=f"{prefix}contacts")) == [
                f"{prefix}contacts_v2"
            ]
            assert opensearch.count(index=f"{prefix}contacts")["count"] == contacts

            again = connectra(home, "reindex", "--file", KEY, profile=profile)
            assert again.returncode == 0, again.stdout + again.stderr
            assert "1 file(s) re-projected: companies" in again.stdout
            assert sorted(opensearch.indices.get_alias(name=f"{prefix}contacts")) == [
                f"{prefix}contacts_v2"
            ]  # upserts into the live index: no new version
        finally:
            for index in opensearch.indices.get_alias(index=f"{prefix}*"):
                opensearch.indices.delete(index=index)


def test_reindex_on_the_embedded_profile_says_there_is_nothing_to_rebuild(tmp_path: Path) -> None:
    done = connectra(tmp_path / "home", "reindex")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing to rebuild" in done.stdout and "DuckDB" in done.stdout

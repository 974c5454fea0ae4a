"""The real ingest assets of one landed file, executed in process with their retry policy (as
in test_asset_retries), on the configuration a run worker reads from its environment."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.ingest import landed_file, loaded_file
from assets.resources import ConnectraResource
from stores.postgres import PostgresRecordStore
from stores.search import SearchEngineStore
from stores.settings import SearchSettings
from tests.reliability.conftest import CODEC

PROFILE_VARS = (
    "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL", "S3_BUCKET", "S3_PREFIX",
    "S3_ENDPOINT", "DAGSTER_HOME",
)  # fmt: skip


def configure(
    monkeypatch: pytest.MonkeyPatch, home: Path, database_url: str, search_url: str,
    prefix: str, **extra: str,
) -> None:
    """The production profile in the environment (and nothing of the developer's shell)."""
    for name in PROFILE_VARS:
        monkeypatch.delenv(name, raising=False)
    variables = {
        "API_KEY": "reliability-restart-key", "CONNECTRA_HOME": str(home),
        "DATABASE_URL": database_url, "SEARCH_URL": search_url, "SEARCH_ENGINE": "opensearch",
        "SEARCH_INDEX_PREFIX": prefix, "BATCH_SIZE_FOR_INSERTION": "10", **extra,
    }  # fmt: skip
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(home.parent)  # no developer's .env


def search_store(url: str, prefix: str) -> SearchEngineStore:
    """The search store at a base URL, with production defaults (bulk retries, timeouts)."""
    host, port = url.removeprefix("http://").split(":")
    settings = SearchSettings(host=host, port=int(port), engine="opensearch")
    return SearchEngineStore(settings, prefix, cursors=CODEC, replicas=0)


@dataclass
class Materialized:
    result: dg.ExecuteInProcessResult
    seconds: float

    @property
    def success(self) -> bool:
        return self.result.success

    def events(self, kind: dg.DagsterEventType) -> list[Any]:
        return [e for e in self.result.all_events if e.event_type == kind]

    @property
    def step_retries(self) -> int:
        return len(self.events(dg.DagsterEventType.STEP_UP_FOR_RETRY))

    @property
    def checks(self) -> dict[str, bool]:
        return {
            e.event_specific_data.check_name: e.event_specific_data.passed
            for e in self.events(dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        }

    @property
    def failures(self) -> list[str]:
        return [str(e.message) for e in self.result.all_events if e.is_failure]


def materialize(
    instance: dg.DagsterInstance, key: str, tags: Mapping[str, str] | None = None
) -> Materialized:
    """landed_file + loaded_file of partition `key`, as the ingest job runs them."""
    began = time.monotonic()
    result = dg.materialize(
        [landed_file, loaded_file], partition_key=key, instance=instance,
        resources={"connectra": ConnectraResource()}, raise_on_error=False, tags=tags,
    )  # fmt: skip
    return Materialized(result, time.monotonic() - began)


def assert_loaded_once(
    records: PostgresRecordStore, search: SearchEngineStore, key: str,
    reference: dict[str, set[str]], expected: dict[str, int],
) -> None:
    """Both stores hold exactly the file's ids, once: the same set as a fault-free load, as
    many rows and documents as ids (no duplicate), nothing else."""
    search.refresh()
    for service, ids in reference.items():
        assert set(records.ids_for_file(service, key)) == ids, service  # type: ignore[arg-type]
        assert set(search.ids_for_file(service, key)) == ids, service  # type: ignore[arg-type]
    assert records.count_rows("contacts") == len(reference["contacts"]) == expected["loaded"]
    assert search.count("contacts", None) == len(reference["contacts"])
    assert records.count_rows("companies") == len(reference["companies"])
    assert search.count("companies", None) == len(reference["companies"])

"""search_drift_sensor on the real stores: documents dropped from the index (a load's search
writes lost) and the index lost altogether are found, and the reindex run it requests
repairs them; stores in step need nothing. Real PostgreSQL and OpenSearch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.loading import load_file
from assets.resources import ConnectraResource
from orchestration.definitions import build_definitions
from orchestration.drift_sensor import DRIFT_TAG, repair_request, sensor_tick
from stores.factory import Stores
from stores.landing import LocalLandingZone
from stores.settings import settings_from_mapping
from tests.conftest import Services
from tests.orchestration.conftest import production_variables
from tests.orchestration.test_reindex import FILE_KEY, documents, load_sample


def run_repair(request: dg.RunRequest, variables: dict[str, str]) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings_from_mapping(variables)).resolve_job_def("reindex")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            instance=instance, run_config=request.run_config, tags=request.tags
        )


def test_dropped_documents_and_a_lost_index_are_found_and_repaired(
    stores: Stores, opensearch: Any, prefix: str, services: Services, database: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    load_sample(stores, tmp_path)
    variables = production_variables(services, database, prefix, tmp_path / "home")
    for name in ("PG_DB_HOST", "ELASTICSEARCH_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)  # what the resource reads, as in the daemon
    before = documents(opensearch, f"{prefix}contacts")
    resource = ConnectraResource()

    with dg.DagsterInstance.ephemeral() as instance:
        clean = repair_request(instance, resource)
        assert isinstance(clean, dg.SkipReason) and "in step" in str(clean.skip_message)

        # A fault dropped some of the file's search writes.
        lost = sorted(before)[:40]
        opensearch.delete_by_query(
            index=f"{prefix}contacts", body={"query": {"ids": {"values": lost}}}, refresh=True
        )
        request = repair_request(instance, resource)
        assert isinstance(request, dg.RunRequest), request
        assert request.run_config["ops"]["rebuild_search_index"]["config"]["files"] == [FILE_KEY]
        assert "1 file(s)" in request.tags[DRIFT_TAG]
        assert run_repair(request, variables).success
        assert documents(opensearch, f"{prefix}contacts") == before
        assert isinstance(repair_request(instance, resource), dg.SkipReason)

        # The node lost every index.
        for index in opensearch.indices.get_alias(index=f"{prefix}*"):
            opensearch.indices.delete(index=index)
        request = repair_request(instance, resource)
        assert isinstance(request, dg.RunRequest), request
        assert request.run_config["ops"]["rebuild_search_index"]["config"]["files"] == []
        assert "missing" in request.tags[DRIFT_TAG]
        assert run_repair(request, variables).success
        assert documents(opensearch, f"{prefix}contacts") == before
        clean = repair_request(instance, resource)
        assert isinstance(clean, dg.SkipReason) and "in step" in str(clean.skip_message)
    resource.teardown_after_execution(None)


def test_an_index_created_anew_by_a_load_is_rebuilt_whole(
    stores: Stores, opensearch: Any, prefix: str, services: Services, database: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A node lost its data and the next load created the index anew: per-file counts see
    only the earlier files behind (the later file's records look fine, though the fields
    only earlier files gave are gone), so the sensor notices that the physical index was
    replaced without a reindex and rebuilds everything; a reindex's own swap is not that."""
    load_sample(stores, tmp_path)
    variables = production_variables(services, database, prefix, tmp_path / "home")
    for name in ("PG_DB_HOST", "ELASTICSEARCH_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    before = documents(opensearch, f"{prefix}contacts")
    resource = ConnectraResource()
    job = build_definitions(settings_from_mapping(variables)).resolve_job_def("reindex")

    with dg.DagsterInstance.ephemeral() as instance:
        clean, cursor = sensor_tick(instance, resource, None)
        assert isinstance(clean, dg.SkipReason) and "in step" in str(clean.skip_message)

        # The node comes back empty; a later file (some of the same contacts) loads and
        # creates the index anew, holding its own documents only.
        for index in opensearch.indices.get_alias(index=f"{prefix}*"):
            opensearch.indices.delete(index=index)
        stores.search.ensure_indices()
        [landed] = (tmp_path / "landing").rglob("*.csv")
        later = tmp_path / "later.csv"
        later.write_text("".join(landed.open(encoding="utf-8").readlines()[:301]), "utf-8")
        landing = LocalLandingZone(tmp_path / "landing")
        with later.open("rb") as stream:
            landing.put("later/people.csv", stream)
        load_file(landing, "later/people.csv", stores, "run-2", batch_rows=100)
        assert 0 < len(documents(opensearch, f"{prefix}contacts")) < len(before)

        request, kept = sensor_tick(instance, resource, cursor)
        assert isinstance(request, dg.RunRequest), request
        assert request.run_config["ops"]["rebuild_search_index"]["config"]["files"] == []
        assert "replaced outside a reindex" in request.tags[DRIFT_TAG]
        assert kept == cursor  # owed until a reindex succeeds
        result = job.execute_in_process(
            instance=instance, run_config=request.run_config, tags=request.tags
        )
        assert result.success
        assert set(documents(opensearch, f"{prefix}contacts")) == set(before)

        # The reindex swapped in another index: that replacement is its own, nothing owed.
        clean, moved = sensor_tick(instance, resource, kept)
        assert isinstance(clean, dg.SkipReason) and "in step" in str(clean.skip_message)
        assert moved != kept
        clean, _ = sensor_tick(instance, resource, moved)
        assert isinstance(clean, dg.SkipReason) and "in step" in str(clean.skip_message)
    resource.teardown_after_execution(None)

"""search_drift_sensor on the real stores: documents dropped from the index (a load's search
writes lost) and the index lost altogether are found, and the reindex run it requests
repairs them; stores in step need nothing. Real PostgreSQL and OpenSearch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.drift_sensor import DRIFT_TAG, repair_request
from orchestration.resources import ConnectraResource
from stores.factory import Stores
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

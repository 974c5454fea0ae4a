"""An outage longer than the step's retries, on the production profile: the load fails, the
requeue sensor waits while PostgreSQL is still away, requeues the file once it answers, and
the file ends loaded once; a bad CSV's failed run is never requeued.

The real assets run in process (dagster.materialize on a test instance, configured by the
environment as a run worker is), PostgreSQL is reached through a fault proxy, and the step's
retries are made fast (2 retries, 0.1 s) so the outage outlasts them in a second. The
sensor is evaluated against the same instance with the real resource (its ping goes through
the proxy too); the run it requests is then executed the way the daemon would launch it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import assets.ingest as ingest_assets
from assets.failures import FAILURE_TAG, REQUEUE_ATTEMPT_TAG, WILL_REQUEUE_TAG, RequeuePolicy
from assets.ingest import landed_file, loaded_file
from assets.partitions import FILE_KEY_TAG, FILE_VERSION_TAG, LANDED_FILES
from assets.resources import ConnectraResource
from orchestration.jobs import ingest_file_job
from orchestration.requeue import REQUEUE_OF_TAG, build_requeue_sensor
from stores.landing import LocalLandingZone
from stores.postgres import PostgresRecordStore
from tests.conftest import Services
from tests.reliability.asset_runs import (
    Materialized,
    assert_loaded_once,
    configure,
    search_store,
)
from tests.reliability.conftest import via
from tests.reliability.faults import TcpProxy
from tests.reliability.loads import KEY, reference_ids, sample

pytestmark = pytest.mark.services
BAD = "drops/not-a-csv.csv"
POLICY = RequeuePolicy(base_seconds=0.5, cap_seconds=5)


def tick(instance: dg.DagsterInstance, sensor: dg.SensorDefinition) -> Any:
    repository = dg.Definitions(
        assets=[landed_file, loaded_file], jobs=[ingest_file_job], sensors=[sensor],
        resources={"connectra": ConnectraResource()},
    ).get_repository_def()  # fmt: skip
    with dg.build_sensor_context(
        instance=instance, resources={"connectra": ConnectraResource()},
        repository_def=repository,
    ) as context, dg.partition_loading_context(dynamic_partitions_store=instance):  # fmt: skip
        return sensor.evaluate_tick(context)


def run_ingest(instance: dg.DagsterInstance, key: str, tags: Mapping[str, str]) -> Materialized:
    """The ingest job on one partition, in process, as a run worker executes it."""
    job = dg.Definitions(
        assets=[landed_file, loaded_file], jobs=[ingest_file_job],
        resources={"connectra": ConnectraResource()},
    ).resolve_job_def(ingest_file_job.name)  # fmt: skip
    began = time.monotonic()
    result = job.execute_in_process(
        partition_key=key, instance=instance, tags=dict(tags), raise_on_error=False
    )
    return Materialized(result, time.monotonic() - began)


def failure_descriptions(run: Materialized) -> list[str]:
    return [
        e.step_failure_data.user_failure_data.description or ""
        for e in run.events(dg.DagsterEventType.STEP_FAILURE)
        if e.step_failure_data.user_failure_data is not None
    ]


def tags_of(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return dict(run.tags)


def test_an_outage_past_the_retries_is_requeued_once_postgres_answers(
    services: Services, opensearch: Any, database: str, pg_proxy: TcpProxy, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    path, expected = sample(tmp_path, 2_000, seed=47)
    reference = reference_ids(tmp_path, path)
    landing = LocalLandingZone(home / "landing")
    with path.open("rb") as stream:
        landing.put(KEY, stream)
    landing.put(BAD, _bytes(b"\x00\x01\x02 not a csv at all \xff\xfe" * 50))
    prefix = f"relq{uuid.uuid4().hex[:8]}_"
    configure(monkeypatch, home, via(database, pg_proxy.port), services.search_url, prefix)
    monkeypatch.setattr(ingest_assets, "TRANSIENT_RETRY", dg.RetryPolicy(max_retries=2, delay=0.1))
    sensor = build_requeue_sensor(ingest_file_job, POLICY)
    records = PostgresRecordStore(database)
    search = search_store(services.search_url, prefix)
    try:
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(LANDED_FILES, [KEY, BAD])

            def file_tags(key: str) -> dict[str, str]:
                return {FILE_KEY_TAG: key, FILE_VERSION_TAG: landing.stat(key).version}

            pg_proxy.stop()  # PostgreSQL away for longer than the step's retries
            failed = run_ingest(instance, KEY, tags=file_tags(KEY))
            assert not failed.success
            assert failed.step_retries == 2
            [why] = failure_descriptions(failed)
            assert "postgres" in why and "requeue 1 of 10" in why, why
            failed_id = failed.result.run_id
            assert tags_of(instance, failed_id)[FAILURE_TAG] == "transient"
            assert tags_of(instance, failed_id)[WILL_REQUEUE_TAG] == "true"

            bad = run_ingest(instance, BAD, tags=file_tags(BAD))
            assert not bad.success
            [why_bad] = failure_descriptions(bad)
            assert "Not requeued" in why_bad, why_bad
            assert tags_of(instance, bad.result.run_id)[FAILURE_TAG] == "terminal"

            time.sleep(POLICY.delay(0) + 0.1)  # the backoff has passed: only the outage holds
            for _ in range(2):
                waiting = tick(instance, sensor)
                assert waiting.run_requests == []
                assert "stores not answering" in (waiting.skip_message or "")
                assert KEY in (waiting.skip_message or "") and BAD not in waiting.skip_message

            pg_proxy.start()
            requeued = tick(instance, sensor)
            [request] = requeued.run_requests
            assert request.partition_key == KEY
            assert request.tags[REQUEUE_OF_TAG] == failed_id
            assert request.tags[REQUEUE_ATTEMPT_TAG] == "1"

            # the daemon launches the request; here it runs in process with the same tags
            again = run_ingest(instance, KEY, tags=request.tags)
            assert again.success, again.failures
            assert again.checks == {"rows_accounted_for": True, "stores_agree": True}
            [counts] = [
                e.event_specific_data.materialization.metadata
                for e in again.events(dg.DagsterEventType.ASSET_MATERIALIZATION)
                if e.event_specific_data.materialization.asset_key == dg.AssetKey("records")
            ]
            for name in ("read", "loaded", "merged", "rejected"):
                assert counts[f"rows_{name}"].value == expected[name], name
            assert_loaded_once(records, search, KEY, reference, expected)

            settled = tick(instance, sensor)
            assert settled.run_requests == []
            assert tags_of(instance, failed_id)[WILL_REQUEUE_TAG] == "false"
            assert tick(instance, sensor).skip_message == "no failed load waits to be requeued"
            assert tags_of(instance, bad.result.run_id)[WILL_REQUEUE_TAG] == "false"
    finally:
        pg_proxy.restore()
        search.drop_indices()
        search.close()
        records.close()


def _bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)

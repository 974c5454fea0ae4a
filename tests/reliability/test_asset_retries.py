"""End to end through Dagster: PostgreSQL goes away in the middle of a file's load and comes
back a second later; the asset's retry policy reruns the step and the file ends up loaded
exactly once in both stores.

The real assets run in process (dagster.materialize, ephemeral instance) with the
configuration in the environment, as a run worker has it; PostgreSQL is reached through a
fault proxy that a watcher stops as soon as the first batch is committed.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from assets.ingest import landed_file, loaded_file
from assets.partitions import LANDED_FILES
from assets.resources import ConnectraResource
from stores.landing import LocalLandingZone
from stores.postgres import PostgresRecordStore
from tests.conftest import Services
from tests.reliability.conftest import search_store, via
from tests.reliability.faults import TcpProxy
from tests.reliability.loads import KEY, reference_ids, sample

pytestmark = pytest.mark.services
OUTAGE_S = 1.0  # shorter than the retry policy's first delay (2 s, +/- jitter)


def stop_after_first_commit(database: str, proxy: TcpProxy, done: threading.Event) -> None:
    """Watches the records directly (not through the proxy); cuts the proxy once a batch is
    in, then restores it OUTAGE_S later."""
    with psycopg.connect(database, autocommit=True) as watcher:
        while not done.is_set():
            if watcher.execute("SELECT count(*) FROM contacts").fetchone()[0] > 0:  # type: ignore[index]
                proxy.stop()
                done.wait(OUTAGE_S)
                proxy.start()
                return
            done.wait(0.02)


def test_postgres_restart_mid_load_is_retried_by_the_asset_and_loads_once(
    services: Services, opensearch: Any, database: str, pg_proxy: TcpProxy, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = services.env
    home = tmp_path / "home"
    path, expected = sample(tmp_path, 3_000, seed=31)
    reference = reference_ids(tmp_path, path)
    with path.open("rb") as stream:
        LocalLandingZone(home / "landing").put(KEY, stream)
    prefix = f"relr{uuid.uuid4().hex[:8]}_"
    variables = {
        "API_KEY": "reliability-retry-key", "CONNECTRA_HOME": str(home),
        "DATABASE_URL": via(database, pg_proxy.port),
        "SEARCH_URL": services.search_url, "SEARCH_ENGINE": "opensearch",
        "SEARCH_INDEX_PREFIX": prefix, "BATCH_SIZE_FOR_INSERTION": "10",
    }
    for name in ("PG_DB_HOST", "ELASTICSEARCH_HOST", "S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(LANDED_FILES, [KEY])
    done = threading.Event()
    watcher = threading.Thread(target=stop_after_first_commit, args=(database, pg_proxy, done))
    watcher.start()
    try:
        result = dg.materialize(
            [landed_file, loaded_file], partition_key=KEY, instance=instance,
            resources={"connectra": ConnectraResource()}, raise_on_error=False,
        )
    finally:
        done.set()
        watcher.join(10)
    search = search_store(int(env["ELASTICSEARCH_PORT"]), prefix)
    records = PostgresRecordStore(database)
    try:
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        retried = [e for e in result.all_events
                   if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
        assert retried, "the outage should have cost the step one retry"
        checks = {e.event_specific_data.check_name: e.event_specific_data.passed  # type: ignore[union-attr]
                  for e in result.all_events
                  if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION}
        assert checks == {"rows_accounted_for": True, "stores_agree": True}
        for service, ids in reference.items():
            assert set(records.ids_for_file(service, KEY)) == ids  # type: ignore[arg-type]
            assert set(search.ids_for_file(service, KEY)) == ids  # type: ignore[arg-type]
        assert records.count_rows("contacts") == expected["loaded"]
        assert search.count("contacts", None) == expected["loaded"]
    finally:
        search.drop_indices()
        search.close()
        records.close()
        instance.dispose()

"""Real restarts of real servers in the middle of a load through the real Dagster assets.

Unlike the proxies of test_load_faults and test_asset_retries, which cut connections the way
a restart looks to a client, these restart the servers themselves, so their own shutdown and
recovery are part of the test: a private PostgreSQL cluster restarted with `pg_ctl restart -m
fast` and `-m immediate` (crash recovery by WAL replay at the next start), and a private
OpenSearch node whose JVM is SIGKILLed and started again (shards recovered from the
translog). Both are dedicated servers started by the test (tests/reliability/servers.py),
never the shared ones of `make services`.

The assets run in process with their retry policy (dagster.materialize on an ephemeral
instance, configured by the environment as a run worker is), and the fault is fired by a
watcher as soon as the first batch of the file is committed in PostgreSQL, so it lands in the
middle of the load. Whatever absorbs the fault (the driver's reconnect, the bulk client's
retries, the step's retry policy, or, past them, a rerun of the file), the file must end
loaded exactly once: both stores hold the ids of a fault-free load of the same file, no
duplicate, and both asset checks pass.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from assets.partitions import LANDED_FILES
from stores.landing import LocalLandingZone
from stores.postgres import PostgresRecordStore, migrate
from tests.conftest import Services, fresh_database, need
from tests.reliability.asset_runs import (
    Materialized,
    assert_loaded_once,
    configure,
    materialize,
    search_store,
)
from tests.reliability.loads import KEY, reference_ids, sample
from tests.reliability.servers import PrivateOpenSearch, PrivatePostgres

pytestmark = pytest.mark.services
CHECKS_PASSED = {"rows_accounted_for": True, "stores_agree": True}


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        need("a private PostgreSQL cluster (initdb)", server.start)
        yield server
    finally:
        server.close()


@pytest.fixture
def private_opensearch() -> Iterator[PrivateOpenSearch]:
    node = PrivateOpenSearch()
    try:
        need("a private OpenSearch node", node.start)
        yield node
    finally:
        node.close()


# A statement of the loader's (COPY into staging, INSERT ... ON CONFLICT) running right now.
WRITE_IN_FLIGHT = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
      AND (query ILIKE 'COPY%' OR query ILIKE 'INSERT%')
"""


class FaultAfterFirstCommit:
    """A watcher that polls the contacts table directly and fires `fault` as soon as the
    first batch of the load is committed (with `in_flight`, once the loader is inside its
    next write, so that the fault ends a transaction rather than falling between two);
    records how many rows were in and how long the fault took."""

    def __init__(
        self, records_url: str, fault: Callable[[], Any], *, in_flight: bool = False
    ) -> None:
        self.records_url = records_url
        self.fault = fault
        self.in_flight = in_flight
        self.write_seen = False
        self.done = threading.Event()
        self.rows_at_fault: int | None = None
        self.fault_seconds: float | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._watch, name="fault-watcher", daemon=True)

    def __enter__(self) -> FaultAfterFirstCommit:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(300)

    def _watch(self) -> None:
        try:
            with psycopg.connect(self.records_url, autocommit=True) as watcher:
                while not self.done.is_set():
                    row = watcher.execute("SELECT count(*) FROM contacts").fetchone()
                    if row is not None and row[0] > 0 and self._writing(watcher):
                        self.rows_at_fault = int(row[0])
                        break
                    self.done.wait(0.01)
            if self.rows_at_fault is None:
                return
            began = time.monotonic()
            self.fault()
            self.fault_seconds = time.monotonic() - began
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _writing(self, watcher: psycopg.Connection[Any]) -> bool:
        if not self.in_flight:
            return True
        row = watcher.execute(WRITE_IN_FLIGHT).fetchone()
        self.write_seen = row is not None and row[0] > 0
        return self.write_seen

    def assert_fired_mid_load(self, rows_in_file: int) -> None:
        assert self.error is None, f"the fault could not be injected: {self.error!r}"
        assert self.rows_at_fault is not None, "the load ended before its first batch was seen"
        assert self.rows_at_fault < rows_in_file, "the fault came after the load"


def land(home: Path, path: Path) -> None:
    with path.open("rb") as stream:
        LocalLandingZone(home / "landing").put(KEY, stream)


def report(what: str, runs: list[Materialized], extra: str) -> None:
    attempts = ", ".join(
        f"run {n}: {'success' if r.success else 'FAILED'} in {r.seconds:.1f} s with "
        f"{r.step_retries} step retr{'y' if r.step_retries == 1 else 'ies'}"
        for n, r in enumerate(runs, 1)
    )
    print(f"\n[restart] {what}: {extra}; {attempts}")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted_mid_load_the_file_loads_exactly_once(
    mode: str, private_postgres: PrivatePostgres, services: Services, opensearch: Any,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    records_url = private_postgres.create_database("connectra")
    migrate(records_url)
    home = tmp_path / "home"
    path, expected = sample(tmp_path, 6_000, seed=41)
    reference = reference_ids(tmp_path, path)
    land(home, path)
    prefix = f"relpg{uuid.uuid4().hex[:8]}_"
    configure(monkeypatch, home, records_url, services.search_url, prefix)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(LANDED_FILES, [KEY])
    records = PostgresRecordStore(records_url)
    search = search_store(services.search_url, prefix)
    try:
        restart = lambda: private_postgres.restart(mode)  # noqa: E731
        with FaultAfterFirstCommit(records_url, restart, in_flight=True) as fault:
            run = materialize(instance, KEY)
        fault.assert_fired_mid_load(expected["loaded"])
        runs = [run]
        if not run.success:  # past the retry policy: the file is rerun (a backfill, the CLI)
            runs.append(materialize(instance, KEY))
        report(
            f"PostgreSQL `pg_ctl restart -m {mode}` during a write, after "
            f"{fault.rows_at_fault} of {expected['loaded']} rows",
            runs, f"restart took {fault.fault_seconds:.2f} s",
        )  # fmt: skip
        assert runs[-1].success, runs[-1].failures
        assert len(runs) == 1, f"the step's retries did not absorb a restart: {run.failures}"
        assert runs[-1].checks == CHECKS_PASSED
        assert_loaded_once(records, search, KEY, reference, expected)
        log = private_postgres.log_text()
        assert "database system is ready to accept connections" in log
        if mode == "immediate":  # the server's own crash recovery ran
            assert "automatic recovery in progress" in log, log[-2000:]
    finally:
        search.drop_indices()
        search.close()
        records.close()
        instance.dispose()


@pytest.mark.slow
def test_opensearch_killed_mid_load_and_restarted_the_file_loads_exactly_once(
    private_opensearch: PrivateOpenSearch, services: Services, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = private_opensearch
    home = tmp_path / "home"
    path, expected = sample(tmp_path, 8_000, seed=42)
    reference = reference_ids(tmp_path, path)
    land(home, path)
    prefix = f"relos{uuid.uuid4().hex[:8]}_"

    def kill_and_restart() -> None:
        node.kill()
        node.start()

    with fresh_database(services) as records_url:
        migrate(records_url)
        configure(monkeypatch, home, records_url, node.url, prefix)
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(LANDED_FILES, [KEY])
        records = PostgresRecordStore(records_url)
        search = search_store(node.url, prefix)
        try:
            with FaultAfterFirstCommit(records_url, kill_and_restart) as fault:
                run = materialize(instance, KEY)
            fault.assert_fired_mid_load(expected["loaded"])
            runs = [run]
            if not run.success:  # past the retry policy: the file is rerun
                assert run.checks.get("stores_agree") is not True  # not silently half-loaded
                node.wait_green()
                runs.append(materialize(instance, KEY))
            report(
                f"OpenSearch JVM SIGKILLed after {fault.rows_at_fault} of {expected['loaded']} "
                "rows, then started again",
                runs, f"first start {node.starts[0]:.1f} s, restart to green "
                f"{node.starts[-1]:.1f} s",
            )  # fmt: skip
            assert len(node.starts) == 2, "the node was not restarted"
            assert runs[-1].success, runs[-1].failures
            assert runs[-1].checks == CHECKS_PASSED
            assert_loaded_once(records, search, KEY, reference, expected)
        finally:
            search.drop_indices()
            search.close()
            records.close()
            instance.dispose()

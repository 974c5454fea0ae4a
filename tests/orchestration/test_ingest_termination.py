"""Terminating an ingest run cancels it; only transient store errors retry the step.

Dagster terminates a run by marking it CANCELING and interrupting the run worker (SIGINT),
whose in-process step then sees DagsterExecutionInterruptedError, or, inside a DuckDB query,
DuckDB's RuntimeError('Query interrupted'). With a RetryPolicy on the assets, Dagster
re-ran the interrupted step in the same run (dagster-io/dagster#15026): the whole file was
loaded again and the run ended SUCCESS instead of CANCELED. These tests run the real assets
in process, as the run worker does, with the load itself replaced.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

import assets.ingest as ingest_assets
from assets.loading import Agreement, LoadProgress
from assets.partitions import LANDED_FILES
from assets.resources import ConnectraResource
from stores.errors import TransientStoreError

KEY = "drops/people.csv"
PROFILE_VARS = (
    "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL", "S3_BUCKET",
)  # fmt: skip


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    for name in PROFILE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONNECTRA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # no developer's .env
    landed = tmp_path / "home" / "landing" / KEY
    landed.parent.mkdir(parents=True)
    landed.write_text("email,first_name\nada@analytical.io,Ada\n")
    monkeypatch.setattr(ingest_assets, "stores_agree", lambda stores, key: Agreement(1, 1, 0, 0))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(LANDED_FILES, [KEY])
        yield instance


def materialize(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [ingest_assets.landed_file, ingest_assets.loaded_file],
        instance=instance,
        partition_key=KEY,
        resources={"connectra": ConnectraResource()},
        raise_on_error=False,
    )


def terminate_run(instance: dg.DagsterInstance, run_id: str) -> None:
    """What DefaultRunLauncher.terminate does: CANCELING, then SIGINT to the run worker."""
    run = instance.get_run_by_id(run_id)
    assert run is not None
    instance.report_run_canceling(run)
    os.kill(os.getpid(), signal.SIGINT)


def fake_load(attempts: list[str], during_first: Callable[[str], None]) -> Callable[..., Any]:
    def load_file(landing: Any, key: str, stores: Any, load_run: str, **_: Any) -> LoadProgress:
        attempts.append(load_run)
        if len(attempts) == 1:
            during_first(load_run)
        return LoadProgress(key=key, size=1, rows_read=1, rows_loaded=1)

    return load_file


def events_of(result: dg.ExecuteInProcessResult, kind: dg.DagsterEventType) -> list[Any]:
    return [e for e in result.all_events if e.event_type == kind]


def run_status(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> Any:
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return run.status


def interrupted_in_python(instance: dg.DagsterInstance) -> Callable[[str], None]:
    def during(run_id: str) -> None:
        terminate_run(instance, run_id)
        time.sleep(30)  # the interrupt ends this long before

    return during


def interrupted_in_duckdb(instance: dg.DagsterInstance) -> Callable[[str], None]:
    """The normalizer's case: the SIGINT arrives while the main thread runs a DuckDB query,
    and DuckDB raises RuntimeError('Query interrupted') in place of Dagster's interrupt
    (this one was canceled before too, as a Failure; it now reads as the interrupt)."""

    def during(run_id: str) -> None:
        timer = threading.Timer(0.3, terminate_run, [instance, run_id])
        timer.start()
        try:
            # Short queries back to back, like the normalizer's models: DuckDB looks at
            # signals between its tasks, and one long query may not be interrupted at all.
            with duckdb.connect(":memory:") as con:
                until = time.monotonic() + 20
                while time.monotonic() < until:
                    con.execute("SELECT sum(range) FROM range(20000000)").fetchall()
        finally:
            timer.join()

    return during


def transient_while_terminating(instance: dg.DagsterInstance) -> Callable[[str], None]:
    """An interrupt that broke a store call surfaces as a transient store error."""

    def during(run_id: str) -> None:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        instance.report_run_canceling(run)
        raise TransientStoreError("duckdb", "the statement was interrupted")

    return during


@pytest.mark.parametrize(
    "interrupt", [interrupted_in_python, interrupted_in_duckdb, transient_while_terminating]
)
def test_a_terminated_load_is_canceled_not_retried(
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    interrupt: Callable[[dg.DagsterInstance], Callable[[str], None]],
) -> None:
    attempts: list[str] = []
    monkeypatch.setattr(ingest_assets, "load_file", fake_load(attempts, interrupt(instance)))
    started = time.monotonic()

    result = materialize(instance)

    assert len(attempts) == 1, "the terminated step was run again"
    assert not events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert run_status(instance, result) == dg.DagsterRunStatus.CANCELED
    assert time.monotonic() - started < 25


def test_a_transient_store_error_still_retries_the_step(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(run_id: str) -> None:
        raise TransientStoreError("duckdb", "could not write to the database within 60 s")

    attempts: list[str] = []
    monkeypatch.setattr(ingest_assets, "load_file", fake_load(attempts, unreachable))
    monkeypatch.setattr(ingest_assets, "TRANSIENT_RETRY", dg.RetryPolicy(max_retries=4))

    result = materialize(instance)

    assert result.success
    assert len(attempts) == 2
    assert len(events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)) == 1
    assert run_status(instance, result) == dg.DagsterRunStatus.SUCCESS


def test_other_failures_do_not_retry(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(run_id: str) -> None:
        raise ValueError("not a CSV file")

    attempts: list[str] = []
    monkeypatch.setattr(ingest_assets, "load_file", fake_load(attempts, broken))

    result = materialize(instance)

    assert not result.success and len(attempts) == 1
    assert not events_of(result, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert run_status(instance, result) == dg.DagsterRunStatus.FAILURE

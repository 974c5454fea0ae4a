"""The orphaned-run sensor on a real Dagster instance (SQLite in a temp folder): a STARTED run
whose worker pid is gone is failed at the second tick that sees it, and a run whose worker
lives (a plain Python process, as a multiprocessing run worker is) is left alone until it dies."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.events import EngineEventData
from dagster._core.launcher import DefaultRunLauncher

from orchestration.orphans import build_orphan_sensor, is_alive


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        assert isinstance(inst.run_launcher, DefaultRunLauncher)
        yield inst


def started_run(instance: dg.DagsterInstance, pid: int) -> str:
    run = instance.add_run(dg.DagsterRun(job_name="ingest_file",
                                         status=dg.DagsterRunStatus.STARTED))
    instance.report_engine_event(f"Started process for run (pid: {pid}).", run,
                                 EngineEventData.in_process(pid))
    return run.run_id


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[str, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = build_orphan_sensor()(context)
    assert isinstance(result, dg.SkipReason)
    return result.skip_message or "", context.cursor


def status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.status


def test_a_run_whose_worker_is_gone_is_failed_at_the_second_tick(
    instance: dg.DagsterInstance,
) -> None:
    orphan = started_run(instance, dead_pid())
    message, cursor = tick(instance, None)
    assert "failed at the next tick" in message
    assert status(instance, orphan) == dg.DagsterRunStatus.STARTED
    message, cursor = tick(instance, cursor)
    assert orphan in message
    assert status(instance, orphan) == dg.DagsterRunStatus.FAILURE
    assert tick(instance, cursor)[0].startswith("every STARTED run has a live worker")


def test_a_live_worker_is_left_alone_then_failed_once_it_dies(
    instance: dg.DagsterInstance,
) -> None:
    # A run worker is a multiprocessing child: a plain Python process, no "dagster" in sight.
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert is_alive(worker.pid)
        live = started_run(instance, worker.pid)
        cursor = None
        for _ in range(3):
            _, cursor = tick(instance, cursor)
        assert status(instance, live) == dg.DagsterRunStatus.STARTED
        worker.kill()
        worker.wait()
        for _ in range(2):
            _, cursor = tick(instance, cursor)
        assert status(instance, live) == dg.DagsterRunStatus.FAILURE
    finally:
        worker.kill()
        worker.wait()

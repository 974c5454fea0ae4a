"""The orphaned-run sensor on a real Dagster instance (SQLite in a temp folder): a STARTED run
whose worker pid is gone is failed at the second tick that sees it, and a run whose worker
lives (a plain Python process, as a multiprocessing run worker is) is left alone until it dies;
a STARTING run nobody is starting (never handed to a code server, or its server gone) is failed
at the second tick too, while a real code server holds the run it is starting."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType, EngineEventData
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.storage.tags import GRPC_INFO_TAG

from orchestration.orphans import build_orphan_sensor, holds_run, is_alive


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


def starting_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    run = instance.add_run(dg.DagsterRun(job_name="ingest_file", tags=tags,
                                         status=dg.DagsterRunStatus.STARTING))  # fmt: skip
    return run.run_id


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({}, "it was never handed to a code server"),
        ({GRPC_INFO_TAG: json.dumps({"host": "localhost", "socket": "/tmp/connectra-no-such"})},
         "the code server it was handed to does not have it"),
    ],
    ids=["never-handed-over", "code-server-gone"],
)
def test_a_starting_run_nobody_is_starting_is_failed_at_the_second_tick(
    instance: dg.DagsterInstance, tags: dict[str, str], why: str
) -> None:
    """The daemon killed between dequeuing a run (STARTING) and handing it to its code server,
    or the server gone with it: nothing will ever start the run."""
    orphan = starting_run(instance, tags)
    message, cursor = tick(instance, None)
    assert "failed at the next tick" in message
    assert status(instance, orphan) == dg.DagsterRunStatus.STARTING
    message, cursor = tick(instance, cursor)
    assert status(instance, orphan) == dg.DagsterRunStatus.FAILURE
    [event] = [e for e in instance.all_logs(orphan, of_type=DagsterEventType.ENGINE_EVENT)]
    assert event.message == (
        f"The run is orphaned: {why} (the daemon launching it is gone), and nothing else noticed."
    )


SLOW_JOB = """
import time
import dagster as dg

@dg.op
def wait() -> None:
    time.sleep(120)

@dg.job
def slow() -> None:
    wait()

defs = dg.Definitions(jobs=[slow])
"""


@pytest.mark.slow  # a code server and a run worker started: ~30-60 s on 2 busy cores
def test_a_code_server_holds_the_run_it_is_starting(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    """What the STARTING check asks a real code server: a run it executes is held (from its
    worker's spawn on, before any pid event), another run id is not, and once the server is
    gone nothing is."""
    from dagster._core.test_utils import create_run_for_test
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import PythonFileTarget

    (tmp_path / "slow.py").write_text(SLOW_JOB)
    target = PythonFileTarget(python_file=str(tmp_path / "slow.py"), attribute=None,
                              working_directory=str(tmp_path), location_name="slow")  # fmt: skip
    with WorkspaceProcessContext(instance, target) as context:
        workspace = context.create_request_context()
        job = workspace.get_code_location("slow").get_repository("__repository__").get_full_job(
            "slow")  # fmt: skip
        run = create_run_for_test(instance, job_name="slow",
                                  remote_job_origin=job.get_remote_origin(),
                                  job_code_origin=job.get_python_origin())  # fmt: skip
        instance.launch_run(run.run_id, workspace)
        launched = instance.get_run_by_id(run.run_id)
        assert launched is not None
        server = json.loads(launched.tags[GRPC_INFO_TAG])
        try:
            assert holds_run(server, run.run_id)
            assert not holds_run(server, "not-a-run-of-this-server")
            message, cursor = tick(instance, None)
            message, cursor = tick(instance, cursor)
            assert status(instance, run.run_id) in {dg.DagsterRunStatus.STARTING,
                                                    dg.DagsterRunStatus.STARTED}  # fmt: skip
        finally:
            instance.run_launcher.terminate(run.run_id)
            deadline = time.monotonic() + 60
            while status(instance, run.run_id) not in {dg.DagsterRunStatus.CANCELED,
                                                       dg.DagsterRunStatus.FAILURE}:
                assert time.monotonic() < deadline, status(instance, run.run_id)
                time.sleep(0.5)
    assert not holds_run(server, run.run_id)  # the server stopped with the workspace

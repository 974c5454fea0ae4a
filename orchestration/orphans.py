"""The orphaned-run sensor: fails a run that nothing will carry on any more.

With Dagster's default run launcher (what `connectra up` runs) each run is a process started
by the daemon's code server, which watches its children and fails a run whose worker dies;
run retries then retry it. When the code server dies too (its process group killed, the
machine's processes killed together), nothing watches the run any more: it would stay
STARTED forever, holding a slot of the queue, its file never retried. This sensor looks at
the STARTED runs, finds each one's worker pid in the run's "Started process for run" event,
and fails a run whose worker has been gone at two ticks in a row (a live code server fails
it first; the second look keeps the two from racing). run_retries then retries it from the
failed step, like any dead worker.

A run can also be orphaned before its worker exists: the daemon dequeues a run (STARTING),
tags it with the code server it hands it to, then asks that server to start it. A daemon
killed in between leaves the run STARTING with nobody starting it, and run monitoring would
fail it only after start_timeout_seconds (180 s; ~185 s after a kill, measured). So a STARTING run
without a worker pid is orphaned too when it was never handed to a code server (no tag) or
when that code server does not hold it (gone, or answering that it has no such execution);
a server busy starting it holds it from the moment its worker process is spawned. Same two
looks, same failure, same retry.

Only valid where the run workers live on the daemon's host, i.e. with the default launcher;
with another launcher (K8s, ECS, Docker) it does nothing, as those launchers' run
monitoring checks worker health itself.
"""


import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import grpc
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.events import DagsterEventType
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
from dagster._serdes import deserialize_value

CHECK_SECONDS = 20
ASK_SECONDS = 10


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the run's worker, from its "Started process for run" engine event."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ENGINE_EVENT
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event is not None else None
        pid = data.metadata.get("pid") if data is not None else None
        if pid is not None and str(pid.value).isdigit():
            return int(str(pid.value))
    return None


def is_alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process. Its command line is not checked: a run
    worker is a multiprocessing child whose command line does not name Dagster. A pid reused
    by another program reads as alive, which only delays noticing the dead run (safe side)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False  # it exited meanwhile
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal check is all there is


def holds_run(server: dict[str, Any], run_id: str) -> bool:
    """Whether the code server of a run's GRPC_INFO_TAG has the run among its executions. Gone
    (UNAVAILABLE: its socket removed, its port closed) is no; any other error (a server too
    busy to answer in time) counts as yes, the safe side."""
    client = DagsterGrpcClient(port=server.get("port"), socket=server.get("socket"),
                               host=server.get("host", "localhost"),
                               use_ssl=bool(server.get("use_ssl", False)))  # fmt: skip
    try:
        answer = client.can_cancel_execution(CanCancelExecutionRequest(run_id=run_id), ASK_SECONDS)
    except DagsterUserCodeUnreachableError as exc:
        cause = exc.__cause__
        return not (isinstance(cause, grpc.RpcError)
                    and cause.code() == grpc.StatusCode.UNAVAILABLE)  # type: ignore[attr-defined]
    return deserialize_value(answer, CanCancelExecutionResult).can_cancel


def not_starting(run: dg.DagsterRun) -> str | None:
    """Why nobody is starting a STARTING run whose worker has not come up, or None."""
    tag = run.tags.get(GRPC_INFO_TAG)
    if tag is None:
        return "it was never handed to a code server (the daemon launching it is gone)"
    if holds_run(json.loads(tag), run.run_id):
        return None
    return "the code server it was handed to does not have it (the daemon launching it is gone)"


def orphaned_runs(instance: dg.DagsterInstance) -> dict[str, str]:
    """STARTED or STARTING runs that nothing will carry on: run id -> why."""
    found: dict[str, str] = {}
    runs = instance.get_runs(filters=dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]))  # fmt: skip
    for run in runs:
        pid = worker_pid(instance, run.run_id)
        if pid is not None:
            if not is_alive(pid):
                found[run.run_id] = f"its worker process (pid {pid}) is gone"
        elif run.status == dg.DagsterRunStatus.STARTING and (why := not_starting(run)):
            found[run.run_id] = why
    return found


def build_orphan_sensor(interval_seconds: int = CHECK_SECONDS) -> dg.SensorDefinition:
    @dg.sensor(
        name="orphaned_runs_sensor",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Fails STARTED runs whose worker process is gone (its code server died "
        "with it) and STARTING runs nobody is starting (the daemon died launching them), so "
        "run retries load their file again.",
    )
    def orphaned_runs_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        instance = context.instance
        if not isinstance(instance.run_launcher, DefaultRunLauncher):
            return dg.SkipReason("run workers are not local processes (not the default launcher)")
        seen_before = set(json.loads(context.cursor or "[]"))
        dead = orphaned_runs(instance)
        failed = []
        for run_id, why in dead.items():
            run = instance.get_run_by_id(run_id)
            if run_id not in seen_before or run is None or run.is_finished:
                continue
            message = f"The run is orphaned: {why}, and nothing else noticed."
            instance.report_engine_event(message, run)
            instance.report_run_failed(run, message)
            failed.append(run_id)
        context.update_cursor(json.dumps(sorted(set(dead) - set(failed))))
        if failed:
            context.log.warning(f"failed orphaned runs {', '.join(failed)}")
            return dg.SkipReason(f"failed {len(failed)} orphaned run(s): {', '.join(failed)}")
        if dead:
            return dg.SkipReason(f"{len(dead)} orphaned run(s); failed at the next tick")
        return dg.SkipReason("every STARTED run has a live worker, every STARTING run a starter")

    return orphaned_runs_sensor

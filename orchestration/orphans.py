"""The orphaned-run sensor: fails a run whose worker died where nothing else would notice.

With Dagster's default run launcher (what `connectra up` runs) each run is a process started
by the daemon's code server, which watches its children and fails a run whose worker dies;
run retries then retry it. When the code server dies too (its process group killed, the
machine's processes killed together), nothing watches the run any more: it would stay
STARTED forever, holding a slot of the queue, its file never retried. This sensor looks at
the STARTED runs, finds each one's worker pid in the run's "Started process for run" event,
and fails a run whose worker has been gone at two ticks in a row (a live code server fails
it first; the second look keeps the two from racing). run_retries then retries it from the
failed step, like any dead worker.

Only valid where the run workers live on the daemon's host, i.e. with the default launcher;
with another launcher (K8s, ECS, Docker) it does nothing, as those launchers' run
monitoring checks worker health itself.
"""


import json
import os
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.launcher import DefaultRunLauncher

CHECK_SECONDS = 20


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


def dead_runs(instance: dg.DagsterInstance) -> dict[str, int]:
    """STARTED runs whose worker is not alive: run id -> the worker's pid."""
    dead: dict[str, int] = {}
    started = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    for run in started:
        pid = worker_pid(instance, run.run_id)
        if pid is not None and not is_alive(pid):
            dead[run.run_id] = pid
    return dead


def build_orphan_sensor(interval_seconds: int = CHECK_SECONDS) -> dg.SensorDefinition:
    @dg.sensor(
        name="orphaned_runs_sensor",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Fails STARTED runs whose worker process is gone (its code server died "
        "with it), so run retries load their file again.",
    )
    def orphaned_runs_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        instance = context.instance
        if not isinstance(instance.run_launcher, DefaultRunLauncher):
            return dg.SkipReason("run workers are not local processes (not the default launcher)")
        seen_before = set(json.loads(context.cursor or "[]"))
        dead = dead_runs(instance)
        failed = []
        for run_id, pid in dead.items():
            run = instance.get_run_by_id(run_id)
            if run_id not in seen_before or run is None or run.is_finished:
                continue
            message = f"The run's worker process (pid {pid}) is gone and nothing else noticed."
            instance.report_engine_event(message, run)
            instance.report_run_failed(run, message)
            failed.append(run_id)
        context.update_cursor(json.dumps(sorted(set(dead) - set(failed))))
        if failed:
            context.log.warning(f"failed orphaned runs {', '.join(failed)}")
            return dg.SkipReason(f"failed {len(failed)} orphaned run(s): {', '.join(failed)}")
        if dead:
            return dg.SkipReason(f"{len(dead)} run(s) without a worker; failed at the next tick")
        return dg.SkipReason("every STARTED run has a live worker")

    return orphaned_runs_sensor

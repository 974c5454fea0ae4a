"""`connectra reindex [--file KEY]...`: the reindex job, run here, with its progress printed.

The run executes in this process (as `connectra ingest --wait` does) on the profile's
Dagster instance, so it is recorded like a run launched from the UI and its log lines are
the ones printed here. On the embedded profile there is no index apart from the records, so
the command says so and does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

import dagster as dg

from orchestration.instance import use_instance
from orchestration.reindex import NOTHING_TO_REBUILD
from orchestration.reindex_job import REINDEX_JOB_NAME
from stores.settings import Settings

CLI_TAG = "connectra/cli_request"
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def reindex_and_wait(
    settings: Settings, files: Sequence[str] = (), log: Callable[[str], None] = print
) -> int:
    if settings.profile == "embedded":
        log(f"nothing to rebuild: {NOTHING_TO_REBUILD}")
        return 0
    use_instance(settings)
    token = uuid.uuid4().hex
    with dg.DagsterInstance.get() as instance, ThreadPoolExecutor(1) as runner:
        run = runner.submit(_execute, instance, list(files), token)
        seen: set[str] = set()
        while not run.done():
            wait([run], timeout=1.0)
            for line in _new_lines(instance, token, seen):
                log(line)
        result = run.result()
        for line in _new_lines(instance, token, seen):
            log(line)
    if not result.success:
        failure = next(
            (e for e in result.all_events if e.event_type_value == "STEP_FAILURE"), None
        )
        error = failure.step_failure_data.error if failure else None
        reason = error.message.strip() if error else "see the run in Dagster"
        reason = reason.removeprefix("dagster._core.definitions.events.Failure: ")
        log(f"reindex FAILED (run {result.run_id}): {reason}")
        return 1
    log(f"reindex done (run {result.run_id})")
    return 0


def _execute(
    instance: dg.DagsterInstance, files: list[str], token: str
) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    job = defs().resolve_job_def(REINDEX_JOB_NAME)
    config = {"ops": {"rebuild_search_index": {"config": {"files": files}}}, **QUIET_LOGGERS}
    return job.execute_in_process(
        run_config=config, instance=instance, tags={CLI_TAG: token}, raise_on_error=False
    )


def _new_lines(instance: dg.DagsterInstance, token: str, seen: set[str]) -> list[str]:
    """The run's reindex log lines not printed yet (every line: one per batch is few)."""
    runs = instance.get_run_records(filters=dg.RunsFilter(tags={CLI_TAG: token}), limit=1)
    if not runs:
        return []
    lines = []
    for entry in instance.all_logs(runs[0].dagster_run.run_id):
        message = entry.user_message
        if message and message.startswith("reindex") and message not in seen:
            seen.add(message)
            lines.append(message)
    return lines

"""`connectra ingest PATH_OR_S3_URI... [--wait]`: the ingest job for given files.

Each file is first made a landed file (a local file outside the landing folder is copied in;
an s3:// URI must be inside the landing prefix), so the run is exactly what the sensor would
have started and shows in the Dagster UI under the file's partition. With --wait the run
executes here, printing its progress; without, it is queued on the running Dagster
(`connectra up`) through its GraphQL API.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.instance import write_instance_yaml
from orchestration.jobs import INGEST_JOB_NAME
from orchestration.partitions import FILE_KEY_TAG, FILE_VERSION_TAG, LANDED_FILES
from stores.errors import TerminalStoreError
from stores.landing import LandedFile, LandingZone, LocalLandingZone, landing_key, landing_zone
from stores.settings import Settings

CLI_TAG = "connectra/cli_request"
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def land(settings: Settings, landing: LandingZone, target: str) -> LandedFile:
    """The landed file for a CLI argument: an S3 URI in the landing prefix, or a path."""
    if target.startswith("s3://"):
        if settings.s3 is None:
            raise TerminalStoreError("landing", "an s3:// URI needs S3_BUCKET to be configured")
        bucket, _, key = target.removeprefix("s3://").partition("/")
        if bucket != settings.s3.bucket or not key.startswith(settings.s3.prefix):
            raise TerminalStoreError(
                "landing",
                f"{target} is not in the landing zone s3://{settings.s3.bucket}/"
                f"{settings.s3.prefix}",
            )
        return landing.stat(key[len(settings.s3.prefix) :])
    path = Path(target).resolve()
    if not path.is_file():
        raise TerminalStoreError("landing", f"no such file: {target}")
    if isinstance(landing, LocalLandingZone) and path.is_relative_to(landing.root.resolve()):
        return landing.stat(path.relative_to(landing.root.resolve()).as_posix())
    with path.open("rb") as stream:
        return landing.put(landing_key(f"cli/{path.name}"), stream)


def run_tags(file: LandedFile) -> dict[str, str]:
    return {FILE_KEY_TAG: file.key, FILE_VERSION_TAG: file.version}


def _execute(
    instance: dg.DagsterInstance, file: LandedFile, token: str
) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    job = defs().resolve_job_def(INGEST_JOB_NAME)
    return job.execute_in_process(
        partition_key=file.key,
        instance=instance,
        tags={**run_tags(file), CLI_TAG: token},
        run_config=QUIET_LOGGERS,
        raise_on_error=False,
    )


def _progress_lines(instance: dg.DagsterInstance, token: str, seen: set[str]) -> list[str]:
    runs = instance.get_run_records(filters=dg.RunsFilter(tags={CLI_TAG: token}), limit=1)
    if not runs:
        return []
    lines = []
    for entry in instance.all_logs(runs[0].dagster_run.run_id):
        message = entry.user_message
        if message and " rows read (" in message and message not in seen:
            seen.add(message)
            lines.append(message)
    return lines[-1:]


def ingest_and_wait(
    settings: Settings, targets: list[str], log: Callable[[str], None] = print
) -> int:
    write_instance_yaml(settings)
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    landing = landing_zone(settings)
    files = [land(settings, landing, t) for t in targets]
    failures = 0
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(LANDED_FILES, [f.key for f in files])
        for file in files:
            token = uuid.uuid4().hex
            with ThreadPoolExecutor(1) as runner:
                run = runner.submit(_execute, instance, file, token)
                seen: set[str] = set()
                while not run.done():
                    wait([run], timeout=1.0)
                    for line in _progress_lines(instance, token, seen):
                        log(line)
            failures += _report(run.result(), file, log)
    return 1 if failures else 0


def _report(
    result: dg.ExecuteInProcessResult,
    file: LandedFile,
    log: Callable[[str], None],
) -> int:
    if not result.success:
        failure = next(
            (e for e in result.all_events if e.event_type_value == "STEP_FAILURE"), None
        )
        error = failure.step_failure_data.error if failure else None
        reason = error.message.strip() if error else "see the run in Dagster"
        reason = reason.removeprefix("dagster._core.definitions.events.Failure: ")
        log(f"{file.key}: FAILED (run {result.run_id}): {reason}")
        return 1
    counts: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey("records"):
            counts = {k: v.value for k, v in materialization.metadata.items()}
    log(
        f"{file.key}: {counts.get('rows_read', 0):,} read, {counts.get('rows_loaded', 0):,} "
        f"loaded, {counts.get('rows_merged', 0):,} merged, {counts.get('rows_rejected', 0):,} "
        f"rejected (run {result.run_id}, {counts.get('seconds', 0)} s)"
    )
    return 0


def ingest_queued(
    settings: Settings, targets: list[str], log: Callable[[str], None] = print
) -> int:
    """Queues runs on the running Dagster (connectra up) through its GraphQL API."""
    from dagster_graphql import DagsterGraphQLClient

    landing = landing_zone(settings)
    files = [land(settings, landing, t) for t in targets]
    client = DagsterGraphQLClient("127.0.0.1", port_number=settings.dagster_port)
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(LANDED_FILES, [f.key for f in files])
    for file in files:
        run_id = client.submit_job_execution(
            INGEST_JOB_NAME,
            repository_location_name="connectra",
            tags={**run_tags(file), "dagster/partition": file.key},
        )
        log(f"{file.key}: queued as run {run_id}")
    return 0

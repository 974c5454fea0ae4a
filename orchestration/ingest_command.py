"""`connectra ingest PATH_OR_S3_URI... [--wait]`: the ingest job for given files.

Each file is first made a landed file (a local file outside the landing folder is copied in;
an s3:// URI must be inside the landing prefix), so the run is exactly what the sensor would
have started and shows in the Dagster UI under the file's partition. With --wait the run
executes here, printing its progress; without, it is queued on the running Dagster
(`connectra up`) through its GraphQL API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from assets.partitions import FILE_KEY_TAG, FILE_VERSION_TAG, LANDED_FILES
from orchestration.instance import use_instance
from orchestration.jobs import INGEST_JOB_NAME
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


@contextmanager
def _landed(
    settings: Settings, targets: list[str], log: Callable[[str], None]
) -> Iterator[list[LandedFile]]:
    """The targets as landed files; if what follows fails, says what stays in the landing zone
    (the landing sensor of a running `connectra up` loads it anyway)."""
    landing = landing_zone(settings)
    files: list[LandedFile] = []
    try:
        for target in targets:
            files.append(land(settings, landing, target))
        yield files
    except BaseException:
        for file in files:
            log(
                f"{file.key}: left in the landing zone ({landing.description}); "
                "the landing sensor of a running `connectra up` will load it"
            )
        raise


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
    use_instance(settings)
    failures = 0
    with _landed(settings, targets, log) as files, dg.DagsterInstance.get() as instance:
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
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    use_instance(settings)
    client = DagsterGraphQLClient("127.0.0.1", port_number=settings.dagster_port)
    with _landed(settings, targets, log) as files:
        with dg.DagsterInstance.get() as instance:
            instance.add_dynamic_partitions(LANDED_FILES, [f.key for f in files])
        for file in files:
            try:
                run_id = client.submit_job_execution(
                    INGEST_JOB_NAME,
                    repository_location_name="connectra",
                    tags={**run_tags(file), "dagster/partition": file.key},
                )
            except DagsterGraphQLClientError as exc:
                raise TerminalStoreError(
                    "dagster",
                    f"cannot queue a run on Dagster at 127.0.0.1:{settings.dagster_port} "
                    f"({str(exc).splitlines()[0].strip()}); is `connectra up` running? "
                    "--wait runs the load in this process instead",
                ) from None
            log(f"{file.key}: queued as run {run_id}")
    return 0

"""Exports on Dagster: launch an `export_records` run, read its state (api/exports.py).

Same road as the loads (api/dagster_jobs.py): the webserver's GraphQL API, so runs go
through the instance's run queue. The export id is the run id of the first try; Dagster's
run retries are followed through `dagster/root_run_id`. The run is tagged with the
fingerprint of the API key that asked (`connectra/owner`): the status of an export is only
shown to that key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from api.dagster_jobs import WILL_RETRY_TAG, DagsterJobsClient
from api.jobs import JobState, iso_time, job_state

EXPORT_JOB = "export_records"  # orchestration/export_job.py EXPORT_JOB_NAME
EXPORT_OP = "write_export"
OWNER_TAG = "connectra/owner"
FORMAT_TAG = "connectra/export_format"
NAME_TAG = "connectra/export_suffix"
EXPORTS_ASSET = ["exports"]

@dataclass(frozen=True)
class ExportRun:
    export_id: str
    status: JobState
    owner: str
    format: str
    suffix: str
    rows_written: int | None = None
    bytes: int | None = None
    dataset_version: int | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    finished_epoch: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DagsterExportsClient:
    def __init__(self, jobs: DagsterJobsClient) -> None:
        self.jobs = jobs

    def submit(self, config: dict[str, Any], owner: str, suffix: str) -> str:
        tags = {OWNER_TAG: owner, FORMAT_TAG: str(config["format"]), NAME_TAG: suffix}
        return self.jobs.launch(EXPORT_JOB, tags, what="launch the export run",
                                run_config={"ops": {EXPORT_OP: {"config": config}}})

    def get(self, export_id: str) -> ExportRun | None:
        found = self.jobs.tries(export_id, EXPORT_JOB, requeue_tag=None,
                                what="read the export run")
        if found is None:
            return None
        first, newest = found.first, found.newest
        tags = found.first_tags
        state = job_state(newest["status"], found.newest_tags.get(WILL_RETRY_TAG) == "true")
        done = state in ("completed", "failed")
        run = ExportRun(
            export_id=export_id,
            status=state,
            owner=tags.get(OWNER_TAG, ""),
            format=tags.get(FORMAT_TAG, ""),
            suffix=tags.get(NAME_TAG, ""),
            created_at=iso_time(first.get("creationTime")),
            started_at=iso_time(newest.get("startTime")),
            finished_at=iso_time(newest.get("endTime")) if done else None,
            finished_epoch=newest.get("endTime") if done else None,
        )
        if not done:
            return run
        failed = state == "failed"
        details = self.jobs.details(newest["runId"], EXPORTS_ASSET, failed=failed,
                                    what="read the export run")
        values = details.metadata
        return ExportRun(**{
            **run.as_dict(),
            "rows_written": values.get("rows_written"),
            "bytes": values.get("bytes"),
            "dataset_version": values.get("dataset_version"),
            "error": details.error(failed, "the export failed"),
        })

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

from api.dagster_jobs import (
    _RUN_ID,
    JOB_QUERY,
    LOCATION_NAME,
    REPOSITORY_NAME,
    ROOT_RUN_TAG,
    WILL_RETRY_TAG,
    DagsterJobsClient,
    _failure_messages,
    _translated,
)
from api.jobs import JobState, iso_time, job_state

EXPORT_JOB = "export_records"  # orchestration/export_job.py EXPORT_JOB_NAME
EXPORT_OP = "write_export"
OWNER_TAG = "connectra/owner"
FORMAT_TAG = "connectra/export_format"
NAME_TAG = "connectra/export_suffix"
EXPORTS_ASSET = ["exports"]

EXPORT_DETAILS = """
query ExportDetails($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      assetMaterializations {
        assetKey { path }
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on TextMetadataEntry { text }
        }
      }
      eventConnection(limit: 1000) {
        events {
          __typename
          ... on ExecutionStepFailureEvent { message error { message } }
          ... on RunFailureEvent { message }
        }
      }
    }
  }
}
"""


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
    def __init__(self, jobs: DagsterJobsClient, location: str = LOCATION_NAME) -> None:
        self.jobs = jobs
        self.location = location

    def submit(self, config: dict[str, Any], owner: str, suffix: str) -> str:
        tags = {OWNER_TAG: owner, FORMAT_TAG: str(config["format"]), NAME_TAG: suffix}
        with _translated("launch the export run"), self.jobs.lock:
            run_id: str = self.jobs.client.submit_job_execution(
                EXPORT_JOB,
                repository_location_name=self.location,
                repository_name=REPOSITORY_NAME,
                run_config={"ops": {EXPORT_OP: {"config": config}}},
                tags=tags,
            )
        return run_id

    def get(self, export_id: str) -> ExportRun | None:
        if not _RUN_ID.match(export_id):
            return None
        variables = {
            "runId": export_id,
            "retries": {"tags": [{"key": ROOT_RUN_TAG, "value": export_id}]},
            "requeues": {"tags": [{"key": "connectra/none", "value": export_id}]},
        }
        data = self.jobs._query(JOB_QUERY, variables, "read the export run")  # noqa: SLF001
        first = data["runOrError"]
        if first.get("__typename") != "Run" or first.get("jobName") != EXPORT_JOB:
            return None
        tries = [first]
        found = data["runsOrError"]
        if found.get("__typename") == "Runs" and found.get("results"):
            tries.append(found["results"][0])
        newest = max(tries, key=lambda run: run.get("creationTime") or 0.0)
        tags = {t["key"]: t["value"] for t in first.get("tags", [])}
        newest_tags = {t["key"]: t["value"] for t in newest.get("tags", [])}
        state = job_state(newest["status"], newest_tags.get(WILL_RETRY_TAG) == "true")
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
        if done:
            run = self._with_details(run, newest["runId"], failed=state == "failed")
        return run

    def _with_details(self, run: ExportRun, run_id: str, failed: bool) -> ExportRun:
        data = self.jobs._query(EXPORT_DETAILS, {"runId": run_id}, "read the export run")  # noqa: SLF001
        found = data["runOrError"]
        if found.get("__typename") != "Run":
            return run
        values: dict[str, Any] = {}
        for event in found.get("assetMaterializations", []):
            if event.get("assetKey", {}).get("path") != EXPORTS_ASSET:
                continue
            for entry in event.get("metadataEntries", []):
                values[entry["label"]] = entry.get("intValue", entry.get("text"))
        errors = _failure_messages(found["eventConnection"]["events"]) if failed else []
        return ExportRun(**{
            **run.as_dict(),
            "rows_written": values.get("rows_written"),
            "bytes": values.get("bytes"),
            "dataset_version": values.get("dataset_version"),
            "error": (errors[0] if errors else "the export failed") if failed else None,
        })

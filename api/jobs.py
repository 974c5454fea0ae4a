"""What the API needs from the orchestrator: launch a load of one landed file, read its state.

A job is a Dagster run of the ingest job for the file's partition; its id is the run id of
the first try. The API never imports the orchestration code: it talks to Dagster through a
JobsClient (DagsterJobsClient in api/dagster_jobs.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

JobState = Literal["open", "in_queue", "processing", "completed", "failed"]
JOB_STATES: tuple[JobState, ...] = ("open", "in_queue", "processing", "completed", "failed")

_STATES: dict[str, JobState] = {
    "QUEUED": "in_queue",
    "NOT_STARTED": "in_queue",
    "STARTING": "in_queue",
    "MANAGED": "in_queue",
    "STARTED": "processing",
    "CANCELING": "processing",
    "SUCCESS": "completed",
    "FAILURE": "failed",
    "CANCELED": "failed",
}


def job_state(run_status: str | None, will_retry: bool = False) -> JobState:
    """DESIGN.md section 7: no run yet = open; waiting (or a failure that will be retried:
    by Dagster's run retries, or requeued by the requeue sensor) = in_queue; running or
    being cancelled = processing; SUCCESS = completed; FAILURE or CANCELED = failed."""
    if run_status is None:
        return "open"
    if run_status == "FAILURE" and will_retry:
        return "in_queue"
    return _STATES.get(run_status, "in_queue")


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    status: JobState
    file_key: str
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def iso_time(epoch_seconds: float | None) -> str | None:
    """Epoch seconds -> ISO-8601 UTC with a Z, like the records' timestamps."""
    if epoch_seconds is None:
        return None
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JobsClient(Protocol):
    def submit(self, file_key: str, file_version: str) -> JobStatus:
        """Launches a load of the landed file `file_key` (relative to the landing prefix)."""
        ...

    def get(self, job_id: str) -> JobStatus | None:
        """The job's state (its newest try), or None for an id that is no job of ours."""
        ...

    def ping(self) -> None:
        """Raises a stores.errors.StoreError when the orchestrator cannot be reached."""
        ...

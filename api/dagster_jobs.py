"""JobsClient on Dagster, through the GraphQL API of the webserver that `connectra up` runs.

Why GraphQL for both launching and reading, rather than DagsterInstance: the API process
then needs only the webserver's address. It holds no Dagster storage credentials, needs no
DAGSTER_HOME, opens no SQLite file another process writes, and works the same whether the
instance keeps runs in SQLite (embedded) or PostgreSQL. Runs are launched the way the UI
launches them, so they go through the instance's run queue (PARALLEL_JOBS at once).

A job id is the run id of the first try. With run retries, Dagster starts new runs tagged
with the first one's id as `dagster/root_run_id`; a load requeued after a transient failure
(orchestration/requeue.py) is a new run tagged `connectra/requeue_root` with it (its own run
retries carry that tag too). The newest of them all is the job's state; a failure that
Dagster will retry or the requeue sensor will requeue is `in_queue`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Literal

import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportError,
    TransportServerError,
)

from api.jobs import JobStatus, iso_time, job_state
from stores.errors import StoreTimeout, TerminalStoreError, TransientStoreError

BACKEND = "dagster"
JOB_NAME = "ingest_file"  # orchestration/jobs.py INGEST_JOB_NAME
LOCATION_NAME = "connectra"  # workspace.yaml location_name
REPOSITORY_NAME = "__repository__"  # the one repository of a Definitions object
PARTITIONS_DEF = "landed_files"  # assets/partitions.py
FILE_KEY_TAG = "connectra/file_key"
FILE_VERSION_TAG = "connectra/file_version"
PARTITION_TAG = "dagster/partition"
ROOT_RUN_TAG = "dagster/root_run_id"
WILL_RETRY_TAG = "dagster/will_retry"
WILL_REQUEUE_TAG = "connectra/will_requeue"  # orchestration/requeue.py
REQUEUE_ROOT_TAG = "connectra/requeue_root"
RECORDS_ASSET = ["records"]
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

ADD_PARTITION = """
mutation AddPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name,
                      partitionKey: $key) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""

RUN_FIELDS = """
  runId jobName status creationTime startTime endTime
  tags { key value }
"""

JOB_QUERY = f"""
query Job($runId: ID!, $retries: RunsFilter!, $requeues: RunsFilter!) {{
  runOrError(runId: $runId) {{
    __typename
    ... on Run {{ {RUN_FIELDS} }}
  }}
  runsOrError(filter: $retries, limit: 1) {{
    __typename
    ... on Runs {{ results {{ {RUN_FIELDS} }} }}
  }}
  requeues: runsOrError(filter: $requeues, limit: 1) {{
    __typename
    ... on Runs {{ results {{ {RUN_FIELDS} }} }}
  }}
}}
"""

RUN_DETAILS = """
query RunDetails($runId: ID!, $cursor: String) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      assetMaterializations {
        assetKey { path }
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on FloatMetadataEntry { floatValue }
          ... on TextMetadataEntry { text }
        }
      }
      eventConnection(afterCursor: $cursor, limit: 1000) {
        cursor hasMore
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
class RunTries:
    """A job's first run (its id is the job's) and the newest of its retries and requeues."""

    first: dict[str, Any]
    newest: dict[str, Any]

    @property
    def first_tags(self) -> dict[str, str]:
        return {t["key"]: t["value"] for t in self.first.get("tags", [])}

    @property
    def newest_tags(self) -> dict[str, str]:
        return {t["key"]: t["value"] for t in self.newest.get("tags", [])}


@dataclass(frozen=True)
class RunDetails:
    """What a finished (or running) run reported: one asset's newest metadata, and why it
    failed (the step failures' messages first)."""

    metadata: dict[str, Any]
    errors: list[str]

    def error(self, failed: bool, fallback: str) -> str | None:
        return (self.errors[0] if self.errors else fallback) if failed else None


class DagsterJobsClient:
    """api.jobs.JobsClient over Dagster's GraphQL API."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3000,
        *,
        timeout_seconds: int = 15,
        location: str = LOCATION_NAME,
        client: DagsterGraphQLClient | None = None,
    ) -> None:
        self.location = location
        # gql's transport is not thread-safe (two calls at once: "Transport is already
        # connected"), and the API's server threads share this client: calls take turns.
        self.lock = threading.Lock()
        self.client = client or DagsterGraphQLClient(
            host, port_number=port, timeout=timeout_seconds
        )

    # -- JobsClient -------------------------------------------------------------------------

    def submit(self, file_key: str, file_version: str) -> JobStatus:
        self._add_partition(file_key)
        tags = {PARTITION_TAG: file_key, FILE_KEY_TAG: file_key, FILE_VERSION_TAG: file_version}
        run_id = self.launch(JOB_NAME, tags, what="launch the ingest run")
        return self.get(run_id) or JobStatus(job_id=run_id, status="in_queue", file_key=file_key)

    def get(self, job_id: str) -> JobStatus | None:
        found = self.tries(job_id, JOB_NAME, requeue_tag=REQUEUE_ROOT_TAG, what="read the run")
        if found is None:
            return None
        first, newest = found.first, found.newest
        tags = found.newest_tags
        again = tags.get(WILL_RETRY_TAG) == "true" or tags.get(WILL_REQUEUE_TAG) == "true"
        state = job_state(newest["status"], again)
        status = JobStatus(
            job_id=job_id,
            status=state,
            file_key=tags.get(FILE_KEY_TAG) or tags.get(PARTITION_TAG, ""),
            created_at=iso_time(first.get("creationTime")),
            started_at=iso_time(newest.get("startTime")),
            finished_at=iso_time(newest.get("endTime")) if state in ("completed", "failed")
            else None,
        )
        if state in ("completed", "failed", "processing"):
            status = self._with_details(status, newest["runId"], failed=state == "failed")
        return status

    def ping(self) -> None:
        self._query("query Ping { version }", None, "ping")

    # -- details ----------------------------------------------------------------------------

    def launch(
        self, job_name: str, tags: dict[str, str], *, what: str,
        run_config: dict[str, Any] | None = None,
    ) -> str:  # fmt: skip
        """Submits a run of `job_name` (through the instance's run queue); its run id."""
        with _translated(what), self.lock:
            run_id: str = self.client.submit_job_execution(
                job_name,
                repository_location_name=self.location,
                repository_name=REPOSITORY_NAME,
                run_config=run_config,
                tags=tags,
            )
        return run_id

    def tries(
        self, run_id: str, job_name: str, *, requeue_tag: str | None, what: str
    ) -> RunTries | None:
        """The run `run_id` of `job_name` and its newest retry (Dagster's run retries) or
        requeue (runs tagged `requeue_tag` with its id); None when it is not such a run."""
        if not _RUN_ID.match(run_id):
            return None  # never an id of ours; not worth a round trip
        variables = {
            "runId": run_id,
            "retries": {"tags": [{"key": ROOT_RUN_TAG, "value": run_id}]},
            "requeues": {"tags": [{"key": requeue_tag or "connectra/none", "value": run_id}]},
        }
        data = self._query(JOB_QUERY, variables, what)
        first = data["runOrError"]
        if first.get("__typename") != "Run" or first.get("jobName") != job_name:
            return None
        tries = [first]
        for found in (data["runsOrError"], data.get("requeues") or {}):
            if found.get("__typename") == "Runs" and found.get("results"):
                tries.append(found["results"][0])
        return RunTries(first, max(tries, key=lambda run: run.get("creationTime") or 0.0))

    def details(self, run_id: str, asset: list[str], *, failed: bool, what: str) -> RunDetails:
        """The newest metadata the run reported for `asset`, and, when it failed, why."""
        metadata: dict[str, Any] = {}
        errors: list[str] = []
        cursor: str | None = None
        for _ in range(100):  # at most 100k events; a run of ours logs far fewer
            data = self._query(RUN_DETAILS, {"runId": run_id, "cursor": cursor}, what)
            run = data["runOrError"]
            if run.get("__typename") != "Run":
                break
            if cursor is None:
                metadata = _asset_metadata(run.get("assetMaterializations", []), asset)
            if not failed:
                break
            page = run["eventConnection"]
            errors.extend(_failure_messages(page["events"]))
            if not page.get("hasMore"):
                break
            cursor = page["cursor"]
        return RunDetails(metadata, errors)

    def _with_details(self, status: JobStatus, run_id: str, failed: bool) -> JobStatus:
        found = self.details(run_id, RECORDS_ASSET, failed=failed, what="read the run")
        counts = {k: int(v) for k, v in found.metadata.items()
                  if k.startswith("rows_") and isinstance(v, int | float)}  # fmt: skip
        return JobStatus(
            **{
                **status.as_dict(),
                "rows_read": counts.get("rows_read"),
                "rows_loaded": counts.get("rows_loaded"),
                "rows_rejected": counts.get("rows_rejected"),
                "error": found.error(failed, "the run failed"),
            }
        )

    def _add_partition(self, file_key: str) -> None:
        selector = {"repositoryLocationName": self.location, "repositoryName": REPOSITORY_NAME}
        data = self._query(
            ADD_PARTITION,
            {"selector": selector, "name": PARTITIONS_DEF, "key": file_key},
            "add the file's partition",
        )
        kind = data["addDynamicPartition"]["__typename"]
        if kind not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
            raise TerminalStoreError(BACKEND, f"Dagster refused the partition: {kind}")

    def _query(self, query: str, variables: dict[str, Any] | None, what: str) -> dict[str, Any]:
        with _translated(what), self.lock:
            result: dict[str, Any] = self.client._execute(query, variables)  # noqa: SLF001
        return result


def _asset_metadata(materializations: list[dict[str, Any]], asset: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for event in materializations:  # oldest first: the newest materialization wins
        if event.get("assetKey", {}).get("path") != asset:
            continue
        for entry in event.get("metadataEntries", []):
            value = entry.get("intValue", entry.get("floatValue", entry.get("text")))
            if value is not None:
                values[entry["label"]] = value
    return values


def _failure_messages(events: list[dict[str, Any]]) -> list[str]:
    """The step failures' error messages first (they say why), then the run's."""
    steps, runs = [], []
    for event in events:
        kind = event.get("__typename")
        if kind == "ExecutionStepFailureEvent":
            error = (event.get("error") or {}).get("message") or event.get("message") or ""
            steps.append(_clean(error))
        elif kind == "RunFailureEvent":
            runs.append(_clean(event.get("message") or ""))
    return [m for m in steps + runs if m]


def _clean(message: str) -> str:
    """The exception's own words, without the class path Dagster puts in front."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return re.sub(r"^[\w.]+(Error|Exception|Failure): ", "", first)[:1000]


class _translated:  # noqa: N801 - used as a context manager, reads like a keyword
    """GraphQL client errors -> the stores' error tree (503 / 504 / 500 in the API)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        handled = DagsterGraphQLClientError | requests.RequestException | TransportError
        if exc is None or not isinstance(exc, handled):
            return False
        chain = _causes(exc)
        if any(isinstance(e, requests.Timeout | TimeoutError) for e in chain):
            raise StoreTimeout(BACKEND, f"Dagster did not answer in time ({self.what})") from exc
        if any(isinstance(e, _UNREACHABLE) for e in chain):
            raise TransientStoreError(BACKEND, f"Dagster is unreachable ({self.what})") from exc
        status = next((e.code for e in chain if isinstance(e, TransportServerError)), None)
        if status in (429, 502, 503, 504):
            raise TransientStoreError(BACKEND, f"Dagster answered {status} ({self.what})") from exc
        kind = exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__
        kind = kind if re.fullmatch(r"\w{1,80}", kind) else type(exc).__name__
        raise TerminalStoreError(BACKEND, f"could not {self.what}: {kind}") from exc


_UNREACHABLE = (requests.ConnectionError, TransportConnectionFailed, ConnectionError)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain

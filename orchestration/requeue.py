"""Requeueing files whose load failed for a transient reason, once their stores answer again.

A load step rides out a short outage with its own retries (assets/ingest.py: about 5
minutes). A longer outage used to fail the file for good: run retries skip step failures
(retry_on_asset_or_op_failure is false, since most step failures are bad files), and the
landing sensor never requests a version it has seen. Now:

1. **The failure says what it was, in one place** (`final_failure`, called by the assets): a
   step that gives up raises a `Failure` whose description and metadata say whether it was
   transient (stores.errors.TransientStoreError and subclasses: unreachable, timeouts,
   429/503) or terminal (anything else: not a CSV, no header, TerminalStoreError), and
   whether the file will be requeued; the same verdict goes on the run as tags
   (`connectra/failure`, `connectra/will_requeue`), which is what the sensor and the API read.
2. **The requeue sensor** (`requeue_sensor`, RUNNING by default, every 30 s) looks at the
   failed runs tagged `connectra/will_requeue=true`. Only the newest run of a file counts:
   a newer run of the same partition (a requeue already made, Dagster's own run retry, a new
   version from the landing sensor, a rerun from the UI), finished or in flight, means
   nothing to do. A failed run Dagster will still retry itself (`dagster/will_retry=true`)
   is left to Dagster. Otherwise the file is due after a backoff per file (1, 2, 4, ... min
   after the failure, at most 30 min), and requeued only when every store answers a ping
   (through the resource); at most MAX_REQUEUES times per file version, after which the
   sensor stops and says so on the failed run.
3. **Visible in the UI**: each tick's skip reason says what waits and why; a requeue run
   carries `connectra/requeue_of=<failed run>`, `connectra/requeue_attempt=N` and
   `connectra/requeue_root=<first run>` (the job id of the API); when the sensor is done
   with a failed run (requeued, superseded, given up) it writes an engine event on that
   run saying so and sets its `connectra/will_requeue` to false.

The decision is `plan_requeues`, a pure function of the runs, the time and the policy.

No `from __future__ import annotations`: Dagster reads the sensor's resource annotation.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dagster as dg

from assets.failures import (
    DEFAULT_POLICY,
    FAILURE_TAG,
    REQUEUE_ATTEMPT_TAG,
    TRANSIENT,
    WILL_REQUEUE_TAG,
    RequeuePolicy,
    minutes,
    requeue_attempt,
)
from assets.partitions import FILE_KEY_TAG, FILE_VERSION_TAG, LANDED_FILES
from assets.resources import ConnectraResource
from stores.errors import StoreError

REQUEUE_OF_TAG = "connectra/requeue_of"  # the failed run a requeue replaces
REQUEUE_ROOT_TAG = "connectra/requeue_root"  # the first run of the chain (the API's job id)
PARTITION_TAG = "dagster/partition"
WILL_RETRY_TAG = "dagster/will_retry"  # Dagster's run retries will retry this failed run
ROOT_RUN_TAG = "dagster/root_run_id"

CHECK_SECONDS = 30
MAX_REQUESTS_PER_TICK = 20
MAX_CANDIDATES_PER_TICK = 500


# -- the decision: pure ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """What the decision needs of one run."""

    run_id: str
    partition: str
    status: dg.DagsterRunStatus
    created: float  # epoch seconds
    ended: float | None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def attempt(self) -> int:
        return requeue_attempt(self.tags)

    @property
    def root(self) -> str:
        return self.tags.get(REQUEUE_ROOT_TAG) or self.tags.get(ROOT_RUN_TAG) or self.run_id


@dataclass(frozen=True)
class Requeue:
    failed: RunView
    attempt: int  # the requeue's own number, 1 ... max_requeues

    def run_request(self) -> dg.RunRequest:
        tags = {
            FILE_KEY_TAG: self.failed.tags.get(FILE_KEY_TAG, self.failed.partition),
            REQUEUE_OF_TAG: self.failed.run_id,
            REQUEUE_ATTEMPT_TAG: str(self.attempt),
            REQUEUE_ROOT_TAG: self.failed.root,
        }
        if FILE_VERSION_TAG in self.failed.tags:
            tags[FILE_VERSION_TAG] = self.failed.tags[FILE_VERSION_TAG]
        return dg.RunRequest(
            run_key=f"requeue:{self.failed.run_id}",  # one requeue per failed run, ever
            partition_key=self.failed.partition,
            tags=tags,
        )


Outcome = Literal["requeue", "wait", "settle"]


@dataclass(frozen=True)
class Verdict:
    run: RunView
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class RequeuePlan:
    requeues: list[Requeue]
    waiting: list[Verdict]  # looked at again next tick
    settled: list[Verdict]  # done with: the sensor marks them will_requeue=false

    def summary(self) -> str:
        parts = [f"{v.run.partition}: {v.reason}" for v in self.waiting + self.settled]
        return "; ".join(parts)


def plan_requeues(
    failed: Sequence[RunView],
    newest: Mapping[str, RunView],
    now: float,
    policy: RequeuePolicy = DEFAULT_POLICY,
    max_requests: int = MAX_REQUESTS_PER_TICK,
) -> RequeuePlan:
    """Which failed runs to requeue now, given the newest run of each partition.

    `failed` are the runs marked will_requeue (FAILURE, transient); `newest` maps a partition
    to its newest run of the ingest job, whatever its status. A failed run that is not its
    partition's newest is superseded; one Dagster's run retries will retry waits for them;
    one past the cap is given up; otherwise it is due `policy.delay(attempt)` after it ended.
    """
    requeues: list[Requeue] = []
    waiting: list[Verdict] = []
    settled: list[Verdict] = []
    for run in sorted(failed, key=lambda r: (r.ended or r.created, r.run_id)):
        latest = newest.get(run.partition, run)
        if latest.run_id != run.run_id:
            how = ("requeued as" if latest.tags.get(REQUEUE_OF_TAG) == run.run_id
                   else "superseded by")  # fmt: skip
            settled.append(
                Verdict(run, "settle", f"{how} run {latest.run_id} ({latest.status.value})")
            )
        elif run.status != dg.DagsterRunStatus.FAILURE or run.tags.get(FAILURE_TAG) != TRANSIENT:
            settled.append(Verdict(run, "settle", "not a transient failure: not requeued"))
        elif run.tags.get(WILL_RETRY_TAG) == "true":
            waiting.append(Verdict(run, "wait", "Dagster's run retries will retry it"))
        elif run.attempt >= policy.max_requeues:
            settled.append(
                Verdict(
                    run,
                    "settle",
                    f"requeued {run.attempt} times already (the most): given up, "
                    "rerun it from the UI",
                )
            )
        else:
            due = (run.ended or run.created) + policy.delay(run.attempt)
            if now < due:
                waiting.append(Verdict(
                    run, "wait", f"requeue {run.attempt + 1} of {policy.max_requeues} in "
                    f"{minutes(due - now)} (backoff)",
                ))  # fmt: skip
            elif len(requeues) >= max_requests:
                waiting.append(Verdict(run, "wait", "due; over this tick's cap"))
            else:
                requeues.append(Requeue(run, run.attempt + 1))
    return RequeuePlan(requeues, waiting, settled)


# -- the sensor --------------------------------------------------------------------------------


def run_view(record: Any) -> RunView:
    run: dg.DagsterRun = record.dagster_run
    return RunView(
        run_id=run.run_id,
        partition=run.tags.get(PARTITION_TAG, ""),
        status=run.status,
        created=record.create_timestamp.timestamp(),
        ended=record.end_time,
        tags=dict(run.tags),
    )


def candidate_runs(instance: dg.DagsterInstance) -> list[RunView]:
    """Failed runs marked will_requeue, whichever job ran the assets (the ingest job, or a
    materialization launched from the asset's page in the UI)."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE],
            tags={WILL_REQUEUE_TAG: "true"},
        ),
        limit=MAX_CANDIDATES_PER_TICK,
    )
    return [v for v in map(run_view, records) if v.partition]


def newest_runs(instance: dg.DagsterInstance, partitions: set[str]) -> dict[str, RunView]:
    """The newest run of each partition (landed file), of any job and status."""
    newest: dict[str, RunView] = {}
    for key in sorted(partitions):
        records = instance.get_run_records(
            filters=dg.RunsFilter(tags={PARTITION_TAG: key}), limit=1
        )
        if records:
            newest[key] = run_view(records[0])
    return newest


def settle(instance: dg.DagsterInstance, verdicts: list[Verdict]) -> None:
    """Marks failed runs the sensor is done with, with an event saying why, on the run."""
    for verdict in verdicts:
        run = instance.get_run_by_id(verdict.run.run_id)
        if run is None:
            continue
        instance.report_engine_event(f"requeue_sensor: {verdict.reason}", run)
        instance.add_run_tags(run.run_id, {WILL_REQUEUE_TAG: "false"})


def build_requeue_sensor(
    job: Any,
    policy: RequeuePolicy = DEFAULT_POLICY,
    interval_seconds: int = CHECK_SECONDS,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="requeue_sensor",
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requeues files whose load failed for a transient reason (stores "
        "unreachable, timeouts) once the stores answer again, with backoff, at most "
        f"{policy.max_requeues} times per file version.",
    )
    def requeue_sensor(
        context: dg.SensorEvaluationContext, connectra: ConnectraResource
    ) -> dg.SensorResult | dg.SkipReason:
        instance = context.instance
        failed = candidate_runs(instance)
        if not failed:
            return dg.SkipReason("no failed load waits to be requeued")
        newest = newest_runs(instance, {r.partition for r in failed})
        plan = plan_requeues(failed, newest, time.time(), policy)
        known = set(instance.get_dynamic_partitions(LANDED_FILES))
        gone = [r for r in plan.requeues if r.failed.partition not in known]
        if gone:
            plan = RequeuePlan(
                [r for r in plan.requeues if r not in gone],
                plan.waiting,
                plan.settled
                + [Verdict(r.failed, "settle", "its partition was deleted") for r in gone],
            )
        settle(instance, plan.settled)
        for verdict in plan.settled:
            context.log.info(
                f"{verdict.run.partition} (run {verdict.run.run_id}): {verdict.reason}"
            )
        if not plan.requeues:
            return dg.SkipReason(plan.summary() or "nothing to requeue")
        try:
            connectra.ping()
        except Exception as exc:  # noqa: BLE001 - any failure to answer means "not yet"
            # a StoreError's message is free of secrets by contract; anything else is named
            why = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
            files = ", ".join(r.failed.partition for r in plan.requeues)
            return dg.SkipReason(
                f"stores not answering ({why}): {len(plan.requeues)} file(s) wait to be "
                f"requeued: {files}"
            )
        for requeue in plan.requeues:
            context.log.info(
                f"requeueing {requeue.failed.partition} (failed run {requeue.failed.run_id}), "
                f"attempt {requeue.attempt} of {policy.max_requeues}"
            )
        if plan.waiting:
            context.log.info(f"still waiting: {'; '.join(v.reason for v in plan.waiting)}")
        return dg.SensorResult(run_requests=[r.run_request() for r in plan.requeues])

    return requeue_sensor

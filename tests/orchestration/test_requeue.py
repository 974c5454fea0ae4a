"""The requeue decision (pure), the step's final failure, and the sensor on a real Dagster
instance (SQLite in a temp folder) whose stores are stubbed: up or down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from assets.failures import (
    FAILURE_TAG,
    REQUEUE_ATTEMPT_TAG,
    TERMINAL,
    TRANSIENT,
    WILL_REQUEUE_TAG,
    RequeuePolicy,
    final_failure,
)
from assets.ingest import landed_file, loaded_file
from assets.partitions import FILE_KEY_TAG, FILE_VERSION_TAG, LANDED_FILES
from assets.resources import ConnectraResource
from orchestration.jobs import ingest_file_job
from orchestration.requeue import (
    PARTITION_TAG,
    REQUEUE_OF_TAG,
    REQUEUE_ROOT_TAG,
    WILL_RETRY_TAG,
    RunView,
    build_requeue_sensor,
    plan_requeues,
)
from stores.errors import StoreTimeout, TerminalStoreError, TransientStoreError

S = dg.DagsterRunStatus
POLICY = RequeuePolicy(max_requeues=10, base_seconds=60, cap_seconds=1800)
T0 = 1_800_000_000.0


def view(run_id: str, key: str = "a.csv", status: S = S.FAILURE, ended: float = T0,
         attempt: int = 0, failure: str = TRANSIENT,
         tags: dict[str, str] | None = None) -> RunView:
    all_tags = {PARTITION_TAG: key, FILE_KEY_TAG: key, FILE_VERSION_TAG: "v1",
                FAILURE_TAG: failure, WILL_REQUEUE_TAG: "true", **(tags or {})}
    if attempt:
        all_tags[REQUEUE_ATTEMPT_TAG] = str(attempt)
    return RunView(run_id, key, status, ended - 10, ended, all_tags)  # fmt: skip


def plan(failed: list[RunView], now: float, newest: dict[str, RunView] | None = None,
         **kwargs: Any) -> Any:
    newest = newest if newest is not None else {r.partition: r for r in failed}
    return plan_requeues(failed, newest, now, POLICY, **kwargs)


def test_backoff_doubles_from_one_minute_and_is_capped() -> None:
    assert [POLICY.delay(n) for n in range(8)] == [60, 120, 240, 480, 960, 1800, 1800, 1800]


def test_a_transient_failure_is_requeued_after_its_backoff() -> None:
    run = view("r1")
    early = plan([run], T0 + 59)
    assert early.requeues == [] and early.settled == []
    assert "requeue 1 of 10 in 1 s" in early.waiting[0].reason
    due = plan([run], T0 + 60)
    [requeue] = due.requeues
    assert requeue.attempt == 1
    request = requeue.run_request()
    assert request.partition_key == "a.csv"
    assert request.run_key == "requeue:r1"
    assert request.tags[REQUEUE_OF_TAG] == "r1"
    assert request.tags[REQUEUE_ATTEMPT_TAG] == "1"
    assert request.tags[REQUEUE_ROOT_TAG] == "r1"
    assert request.tags[FILE_VERSION_TAG] == "v1"


def test_the_nth_requeue_waits_longer_and_keeps_the_chain() -> None:
    third = view("r3", attempt=3, tags={REQUEUE_ROOT_TAG: "r0"})
    assert plan([third], T0 + 479).requeues == []
    [requeue] = plan([third], T0 + 480).requeues
    assert requeue.attempt == 4
    assert requeue.run_request().tags[REQUEUE_ROOT_TAG] == "r0"


def test_the_cap_stops_requeueing_and_says_so() -> None:
    last = view("r10", attempt=10)
    result = plan([last], T0 + 10_000)
    assert result.requeues == [] and result.waiting == []
    assert "given up" in result.settled[0].reason


@pytest.mark.parametrize("status", [S.QUEUED, S.STARTING, S.STARTED, S.SUCCESS, S.FAILURE])
def test_a_newer_run_of_the_same_file_means_nothing_to_do(status: S) -> None:
    old = view("old")
    newer = view("new", status=status, ended=T0 + 5)
    result = plan([old], T0 + 10_000, {"a.csv": newer})
    assert result.requeues == [] and result.waiting == []
    assert "superseded by run new" in result.settled[0].reason


def test_a_requeue_already_made_settles_its_failed_run() -> None:
    old = view("old")
    requeued = view("new", status=S.QUEUED, tags={REQUEUE_OF_TAG: "old"})
    result = plan([old], T0 + 10_000, {"a.csv": requeued})
    assert result.settled[0].reason.startswith("requeued as run new")


def test_a_failure_dagster_retries_itself_is_left_to_it() -> None:
    run = view("r1", tags={WILL_RETRY_TAG: "true"})
    result = plan([run], T0 + 10_000)
    assert result.requeues == [] and "run retries" in result.waiting[0].reason


def test_a_terminal_failure_is_never_requeued() -> None:
    run = view("bad", failure=TERMINAL)
    result = plan([run], T0 + 10_000)
    assert result.requeues == [] and "not a transient failure" in result.settled[0].reason


def test_files_are_independent_and_the_tick_is_capped() -> None:
    runs = [view(f"r{i}", key=f"f{i}.csv", ended=T0 + i) for i in range(5)]
    result = plan(runs, T0 + 62, max_requests=2)
    assert [r.failed.run_id for r in result.requeues] == ["r0", "r1"]  # oldest first
    reasons = sorted(v.reason for v in result.waiting)
    assert reasons == ["due; over this tick's cap", "requeue 1 of 10 in 1 s (backoff)",
                       "requeue 1 of 10 in 2 s (backoff)"]


# -- the step's final failure -----------------------------------------------------------------


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def a_run(instance: dg.DagsterInstance, tags: dict[str, str] | None = None) -> dg.DagsterRun:
    return instance.add_run(dg.DagsterRun(job_name="ingest_file", tags=tags or {}))


@pytest.mark.parametrize(
    ("exc", "attempt", "failure", "will"),
    [
        (TransientStoreError("postgres", "connection refused"), 0, TRANSIENT, True),
        (StoreTimeout("search", "timed out"), 9, TRANSIENT, True),
        (TransientStoreError("postgres", "connection refused"), 10, TRANSIENT, False),
        (TerminalStoreError("search", "mapping conflict"), 0, TERMINAL, False),
        (ValueError("not a CSV file"), 0, TERMINAL, False),
    ],
)
def test_the_final_failure_says_and_tags_whether_it_is_requeued(
    instance: dg.DagsterInstance, exc: Exception, attempt: int, failure: str, will: bool
) -> None:
    run = a_run(instance, {REQUEUE_ATTEMPT_TAG: str(attempt)} if attempt else None)
    raised = final_failure(instance, run, exc, retries=8)
    assert raised.allow_retries is False
    assert raised.metadata["failure"].value == failure
    assert raised.metadata["will_requeue"].value is will
    assert str(exc) in (raised.description or "")
    description = raised.description or ""
    if will:
        assert f"requeue {attempt + 1} of 10" in description
    else:
        assert "not requeued" in description.lower()
    stored = instance.get_run_by_id(run.run_id)
    assert stored is not None
    tags = stored.tags
    assert tags[FAILURE_TAG] == failure
    assert tags[WILL_REQUEUE_TAG] == str(will).lower()


# -- the sensor on a real instance --------------------------------------------------------------


class StubConnectra(ConnectraResource):
    """The resource with its stores replaced: `down` says whether a ping fails."""

    down: bool = False

    def ping(self) -> None:
        if self.down:
            raise TransientStoreError("postgres", "connection refused")


def tick(instance: dg.DagsterInstance, sensor: dg.SensorDefinition, down: bool) -> Any:
    repository = dg.Definitions(
        assets=[landed_file, loaded_file], jobs=[ingest_file_job], sensors=[sensor],
        resources={"connectra": StubConnectra(down=down)},
    ).get_repository_def()  # fmt: skip
    with dg.build_sensor_context(
        instance=instance, resources={"connectra": StubConnectra(down=down)},
        repository_def=repository,
    ) as context, dg.partition_loading_context(dynamic_partitions_store=instance):  # fmt: skip
        return sensor.evaluate_tick(context)


def failed_run(instance: dg.DagsterInstance, key: str, exc: Exception,
               tags: dict[str, str] | None = None) -> dg.DagsterRun:
    if not instance.has_dynamic_partition(LANDED_FILES, key):
        instance.add_dynamic_partitions(LANDED_FILES, [key])
    run = a_run(instance, {PARTITION_TAG: key, FILE_KEY_TAG: key, FILE_VERSION_TAG: "v1",
                           **(tags or {})})  # fmt: skip
    final_failure(instance, run, exc, retries=8)
    instance.report_run_failed(run)
    return run


def test_the_sensor_requeues_only_transient_failures_once_the_stores_answer(
    instance: dg.DagsterInstance,
) -> None:
    sensor = build_requeue_sensor(ingest_file_job, RequeuePolicy(base_seconds=0.2))
    assert tick(instance, sensor, down=False).skip_message == (
        "no failed load waits to be requeued"
    )
    transient = failed_run(instance, "a.csv", TransientStoreError("postgres", "refused"))
    failed_run(instance, "bad.csv", ValueError("not a CSV file"))
    time.sleep(0.3)
    down = tick(instance, sensor, down=True)
    assert down.run_requests == []
    assert "stores not answering" in down.skip_message and "a.csv" in down.skip_message
    up = tick(instance, sensor, down=False)
    [request] = up.run_requests
    assert request.partition_key == "a.csv"
    assert request.tags[REQUEUE_OF_TAG] == transient.run_id
    assert request.tags[REQUEUE_ATTEMPT_TAG] == "1"

    # the daemon would launch it; a run of it in the instance settles the failed one
    instance.add_run(dg.DagsterRun(job_name="ingest_file",
                                   tags={PARTITION_TAG: "a.csv", **request.tags},
                                   status=S.STARTED))  # fmt: skip
    after = tick(instance, sensor, down=False)
    assert after.run_requests == []
    settled = instance.get_run_by_id(transient.run_id)
    assert settled is not None and settled.tags[WILL_REQUEUE_TAG] == "false"
    events = instance.all_logs(transient.run_id)
    assert any("requeue_sensor: requeued as run" in (e.message or "") for e in events)
    assert tick(instance, sensor, down=False).skip_message == (
        "no failed load waits to be requeued"
    )

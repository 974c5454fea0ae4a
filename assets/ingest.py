"""The assets of one landed file: checked, then normalized and loaded into both stores.

No `from __future__ import annotations` here: Dagster reads the context and resource
annotations at definition time.
"""

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from assets.failures import final_failure
from assets.loading import check_file, load_file, stores_agree
from assets.partitions import landed_files
from assets.resources import ConnectraResource
from stores.errors import TransientStoreError

# Transient store errors (connection refused, 429, timeouts) are retried with backoff (waits
# of about 2, 6, 14, 30 s, then 60 s: 8 retries ride out about 5 minutes of a store being
# away, e.g. a server restart or a cluster failover); any other failure is raised as a
# Failure that forbids retries, since a retry cannot help. A transient error that outlasts the
# retries is a Failure too, marked transient: the requeue sensor loads the file again once
# the stores answer (orchestration/requeue.py).
#
# The retries are requested by the assets themselves (RetryRequested), not through the
# assets' `retry_policy`: Dagster applies a retry policy to interrupts too, and terminating a
# run (the UI's Terminate, GraphQL terminateRun) interrupts its in-process step, so with a
# policy the step was re-run in the same run, which reloaded the whole file and ended SUCCESS
# (or stayed CANCELING while it reloaded) instead of CANCELED (dagster-io/dagster#15026).
# The backoff is waited out at the start of the next attempt (_pause_before_retry), where a
# terminate interrupts it, not by Dagster between attempts, where it holds interrupts back.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=8, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
MAX_RETRY_WAIT_SECONDS = 60.0
RECORDS = dg.AssetKey("records")
SEARCH_INDEX = dg.AssetKey("search_index")
_TERMINATING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)


def _terminating(context: AssetExecutionContext) -> bool:
    """Whether the run is being terminated (the launcher marks it CANCELING first)."""
    try:
        run = context.instance.get_run_by_id(context.run.run_id)
    except Exception:  # noqa: BLE001 - the step's own error is the one to report
        return False
    return run is not None and run.status in _TERMINATING


def _failed(context: AssetExecutionContext, exc: Exception) -> BaseException:
    """What a step raises for `exc`: an interruption while the run is being terminated (the
    interrupt may reach us as another error: DuckDB turns it into RuntimeError('Query
    interrupted')), a retry for a transient store error while retries are left, else the
    final Failure, which says (and tags the run with) whether the requeue sensor will load
    the file again (orchestration/requeue.py)."""
    if _terminating(context):
        return dg.DagsterExecutionInterruptedError()
    if isinstance(exc, TransientStoreError) and context.retry_number < TRANSIENT_RETRY.max_retries:
        # At once: the next attempt waits out the backoff itself (_pause_before_retry).
        return dg.RetryRequested(max_retries=TRANSIENT_RETRY.max_retries)
    return final_failure(context.instance, context.run, exc, retries=context.retry_number)


def _pause_before_retry(context: AssetExecutionContext) -> None:
    """A retried attempt first waits out the transient retry's backoff, here in the step
    rather than as the retry's `seconds_to_wait`: Dagster holds interrupts back while it
    sleeps between attempts, so a run terminated during such a wait stayed CANCELING until it
    was over (up to a minute); in the step, the interrupt ends the wait at once."""
    if context.retry_number == 0:
        return
    seconds = min(MAX_RETRY_WAIT_SECONDS, TRANSIENT_RETRY.calculate_delay(context.retry_number))
    context.log.info(
        f"attempt {context.retry_number + 1}: waiting {seconds:.0f} s for the stores first "
        "(the previous attempt met a transient store error)"
    )
    time.sleep(seconds)


@dg.asset(partitions_def=landed_files, group_name="ingest")
def landed_file(context: AssetExecutionContext, connectra: ConnectraResource) -> dg.Output[None]:
    """The landed CSV file, checked: readable, CSV, with a recognizable header."""
    _pause_before_retry(context)
    try:
        report = check_file(connectra.landing(), context.partition_key)
    except Exception as exc:
        raise _failed(context, exc) from exc
    return dg.Output(None, metadata=report.metadata())


@dg.multi_asset(
    specs=[
        dg.AssetSpec(RECORDS, deps=[landed_file], description="Rows in the record store."),
        dg.AssetSpec(SEARCH_INDEX, deps=[landed_file], description="Documents in the index."),
    ],
    check_specs=[
        dg.AssetCheckSpec("rows_accounted_for", asset=RECORDS),
        dg.AssetCheckSpec("stores_agree", asset=SEARCH_INDEX),
    ],
    partitions_def=landed_files,
    group_name="ingest",
)
def loaded_file(
    context: AssetExecutionContext, connectra: ConnectraResource
) -> Iterator[Any]:
    """The file normalized by the dbt_like_sql models and written to both stores at once."""
    _pause_before_retry(context)
    settings = connectra.settings()
    try:
        counts = load_file(
            connectra.landing(),
            context.partition_key,
            connectra.stores(),
            load_run=context.run_id,
            batch_rows=settings.batch_size_for_insertion,
            progress=lambda p: context.log.info(p.describe()),
        )
        agreement = stores_agree(connectra.stores(), context.partition_key)
        connectra.stores().records.mark_loaded(context.run_id)  # the dataset version moves
    except Exception as exc:
        raise _failed(context, exc) from exc
    yield dg.MaterializeResult(asset_key=RECORDS, metadata=counts.metadata())
    yield dg.MaterializeResult(asset_key=SEARCH_INDEX, metadata=agreement.metadata())
    yield dg.AssetCheckResult(
        check_name="rows_accounted_for",
        asset_key=RECORDS,
        passed=counts.accounted_for,
        metadata=counts.metadata(),
    )
    yield dg.AssetCheckResult(
        check_name="stores_agree",
        asset_key=SEARCH_INDEX,
        passed=agreement.passed,
        metadata=agreement.metadata(),
    )

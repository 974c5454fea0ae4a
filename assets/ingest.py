"""The assets of one landed file: checked, then normalized and loaded into both stores.

No `from __future__ import annotations` here: Dagster reads the context and resource
annotations at definition time.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from assets.failures import final_failure
from assets.loading import check_file, load_file, stores_agree
from assets.partitions import landed_files
from assets.resources import ConnectraResource
from assets.retries import pause_before_retry, step_failed

# Transient store errors (connection refused, 429, timeouts) are retried with backoff (waits
# of about 2, 6, 14, 30 s, then 60 s: 8 retries ride out about 5 minutes of a store being
# away, e.g. a server restart or a cluster failover); any other failure is raised as a
# Failure that forbids retries, since a retry cannot help. A transient error that outlasts the
# retries is a Failure too, marked transient: the requeue sensor loads the file again once
# the stores answer (orchestration/requeue.py).
#
# How the retries are made so that a terminate always interrupts: assets/retries.py.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=8, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
RECORDS = dg.AssetKey("records")
SEARCH_INDEX = dg.AssetKey("search_index")


def _failed(context: AssetExecutionContext, exc: Exception) -> BaseException:
    """An interruption, a retry, or the final Failure, which says (and tags the run with)
    whether the requeue sensor will load the file again (orchestration/requeue.py)."""
    return step_failed(
        context,
        exc,
        TRANSIENT_RETRY,
        lambda: final_failure(context.instance, context.run, exc, retries=context.retry_number),
    )


def _pause_before_retry(context: AssetExecutionContext) -> None:
    pause_before_retry(context, TRANSIENT_RETRY)


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
def loaded_file(context: AssetExecutionContext, connectra: ConnectraResource) -> Iterator[Any]:
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

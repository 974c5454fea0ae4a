"""The assets of one landed file: checked, then normalized and loaded into both stores.

No `from __future__ import annotations` here: Dagster reads the context and resource
annotations at definition time.
"""


from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.ingest import check_file, load_file, stores_agree
from orchestration.partitions import landed_files
from orchestration.resources import ConnectraResource
from stores.errors import TransientStoreError

# Transient store errors (connection refused, 429, timeouts) are retried with backoff; any
# other failure is raised as a Failure that forbids retries, since a retry cannot help.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=4, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
RECORDS = dg.AssetKey("records")
SEARCH_INDEX = dg.AssetKey("search_index")


def _terminal(exc: Exception) -> dg.Failure:
    return dg.Failure(description=str(exc), allow_retries=False)


@dg.asset(partitions_def=landed_files, retry_policy=TRANSIENT_RETRY, group_name="ingest")
def landed_file(context: AssetExecutionContext, connectra: ConnectraResource) -> dg.Output[None]:
    """The landed CSV file, checked: readable, CSV, with a recognizable header."""
    try:
        report = check_file(connectra.landing(), context.partition_key)
    except TransientStoreError:
        raise
    except Exception as exc:
        raise _terminal(exc) from exc
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
    retry_policy=TRANSIENT_RETRY,
    group_name="ingest",
)
def loaded_file(
    context: AssetExecutionContext, connectra: ConnectraResource
) -> Iterator[Any]:
    """The file normalized by the dbt_like_sql models and written to both stores at once."""
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
    except TransientStoreError:
        raise
    except Exception as exc:
        raise _terminal(exc) from exc
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

"""The `reindex` job: the search index rebuilt from the records, launched from the Dagster UI
(Jobs -> reindex -> Launchpad) or by `connectra reindex`, with each batch in its run log.

No `from __future__ import annotations` here: Dagster reads the context, config and
resource annotations at definition time.
"""

from typing import Any

import dagster as dg

from assets.loading import READ_BATCH_FACTOR
from assets.resources import ConnectraResource
from assets.retries import pause_before_retry, step_failed
from orchestration.reindex import reindex

REINDEX_JOB_NAME = "reindex"
# One reindex at a time through the run queue (orchestration/instance.py): two would each
# delete the other's half-built index as a leftover.
REINDEX_TAG = {"connectra/exclusive": "reindex"}
# A rebuild that meets a store away starts again from scratch (its half-built index is
# deleted on the way out), so only a few, widely spaced tries (assets/retries.py).
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=30)


class ReindexConfig(dg.Config):
    files: list[str] = []  # noqa: RUF012 - pydantic copies defaults
    """Source files (landing keys) whose records are upserted into the live index again;
    empty: rebuild every index from all the records into new versioned indices."""


@dg.op(description="Rebuild the search index (or some files' documents) from the records.")
def rebuild_search_index(
    context: dg.OpExecutionContext, config: ReindexConfig, connectra: ConnectraResource
) -> dg.Output[Any]:
    """Streams the records into new indices, swaps the aliases, deletes the old indices."""
    pause_before_retry(context, TRANSIENT_RETRY)
    settings = connectra.settings()
    try:
        report = reindex(
            connectra.stores(),
            batch_rows=settings.batch_size_for_insertion * READ_BATCH_FACTOR,
            files=config.files or None,
            progress=lambda p: context.log.info(p.describe()),
        )
    except Exception as exc:
        raise step_failed(context, exc, TRANSIENT_RETRY) from exc
    for line in report.swaps:
        context.log.info(f"reindex {line}")
    context.log.info(report.describe())
    return dg.Output(None, metadata=report.metadata())


@dg.job(
    name=REINDEX_JOB_NAME,
    executor_def=dg.in_process_executor,
    tags=REINDEX_TAG,
    description="Rebuild the search index of contacts and companies from the record store.",
)
def reindex_job() -> None:
    rebuild_search_index()

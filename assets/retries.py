"""Retrying a step that met a store away, in a way a terminate always interrupts.

Every step of ours (the ingest assets, the reindex and export ops) retries a transient store
error the same way:

- the retry is requested by the step itself (`RetryRequested`, at once), never through a
  `retry_policy` on the definition: Dagster applies a retry policy to interrupts too, and
  terminating a run interrupts its in-process step, so with a policy the step ran again in
  the same run instead of ending CANCELED (dagster-io/dagster#15026);
- the backoff is waited out at the start of the next attempt (:func:`pause_before_retry`),
  not by Dagster between attempts (`seconds_to_wait`): Dagster holds interrupts back while
  it sleeps there, so a run terminated during the wait stayed CANCELING until it was over
  (43.3 s for a 45 s pause, RELIABILITY.md); in the step, the interrupt ends it at once;
- an error while the run is being terminated (the interrupt may surface as another error:
  DuckDB turns it into RuntimeError('Query interrupted')) is an interruption, never a retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg

from stores.errors import TransientStoreError

StepContext = dg.OpExecutionContext | dg.AssetExecutionContext
MAX_RETRY_WAIT_SECONDS = 60.0
_TERMINATING = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)


def terminating(context: StepContext) -> bool:
    """Whether the run is being terminated (the launcher marks it CANCELING first)."""
    try:
        run = context.instance.get_run_by_id(context.run.run_id)
    except Exception:  # noqa: BLE001 - the step's own error is the one to report
        return False
    return run is not None and run.status in _TERMINATING


def step_failed(
    context: StepContext,
    exc: Exception,
    retries: dg.RetryPolicy,
    give_up: Callable[[], BaseException] | None = None,
) -> BaseException:
    """What a step raises for `exc`: an interruption while the run is being terminated, a
    retry for a transient store error while `retries` has some left, else `give_up()` (by
    default a Failure that forbids retries, saying `exc`)."""
    if terminating(context):
        return dg.DagsterExecutionInterruptedError()
    if isinstance(exc, TransientStoreError) and context.retry_number < retries.max_retries:
        return dg.RetryRequested(max_retries=retries.max_retries)
    if give_up is None:
        return dg.Failure(description=str(exc), allow_retries=False)
    return give_up()


def pause_before_retry(context: StepContext, retries: dg.RetryPolicy) -> None:
    """A retried attempt first waits out the backoff of `retries` (capped at a minute)."""
    if context.retry_number == 0:
        return
    seconds = min(MAX_RETRY_WAIT_SECONDS, retries.calculate_delay(context.retry_number))
    context.log.info(
        f"attempt {context.retry_number + 1}: waiting {seconds:.0f} s for the stores first "
        "(the previous attempt met a transient store error)"
    )
    time.sleep(seconds)

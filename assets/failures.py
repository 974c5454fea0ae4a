"""What a load step says when it gives up: transient or terminal, and whether the file will
be requeued (orchestration/requeue.py's sensor reads the verdict from the run's tags).

Classified once, where the step gives up (`final_failure`, called by the assets): a
TransientStoreError and its subclasses (unreachable, timeouts, 429/503) are transient, and
anything else (not a CSV, no header, a TerminalStoreError) terminal. The same verdict goes
on the run as tags (`connectra/failure`, `connectra/will_requeue`): what the requeue sensor
and the API's job status read.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from stores.errors import TransientStoreError

FAILURE_TAG = "connectra/failure"  # transient | terminal, set when a step gives up
WILL_REQUEUE_TAG = "connectra/will_requeue"  # true | false
REQUEUE_ATTEMPT_TAG = "connectra/requeue_attempt"  # 1, 2, ... per file version
TRANSIENT = "transient"
TERMINAL = "terminal"
MAX_REQUEUES = 10


@dataclass(frozen=True)
class RequeuePolicy:
    """Backoff per file: base * 2**n after the n-th failure (n = requeues so far), capped."""

    max_requeues: int = MAX_REQUEUES
    base_seconds: float = 60.0
    cap_seconds: float = 1800.0

    def delay(self, requeues_so_far: int) -> float:
        return min(self.cap_seconds, self.base_seconds * 2 ** min(requeues_so_far, 30))


DEFAULT_POLICY = RequeuePolicy()


def requeue_attempt(tags: Mapping[str, str]) -> int:
    """How many times this file version was requeued before the run with these tags."""
    raw = tags.get(REQUEUE_ATTEMPT_TAG, "0")
    return int(raw) if raw.isdigit() else 0


def minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    return f"{seconds / 60:.0f} min"


# -- the failure: classified once, where the step gives up ------------------------------------


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientStoreError)


def final_failure(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    exc: BaseException,
    retries: int,
    policy: RequeuePolicy = DEFAULT_POLICY,
) -> dg.Failure:
    """The Failure a step raises when it gives up on `exc` (after `retries` step retries): its
    description says whether the file will be requeued, and the run is tagged with the same
    verdict (the tags are what the requeue sensor and the API read)."""
    attempt = requeue_attempt(run.tags)
    transient = is_transient(exc)
    will_requeue = transient and attempt < policy.max_requeues
    if will_requeue:
        verdict = (
            f"Transient: the stores did not answer through {retries} step retries. The "
            f"requeue sensor loads the file again once they answer (requeue {attempt + 1} of "
            f"{policy.max_requeues}, not before {minutes(policy.delay(attempt))})."
        )
    elif transient:
        verdict = (
            f"Transient, but this file version was requeued {attempt} times already (the "
            f"most): not requeued again. Rerun it from the UI once the stores are back."
        )
    else:
        verdict = "Not requeued: retrying cannot help (fix the file, then upload it again)."
    tags = {FAILURE_TAG: TRANSIENT if transient else TERMINAL,
            WILL_REQUEUE_TAG: "true" if will_requeue else "false"}  # fmt: skip
    with contextlib.suppress(Exception):  # Dagster's storage away: the failure still stands
        instance.add_run_tags(run.run_id, tags)
    return dg.Failure(
        description=f"{exc}\n{verdict}",
        metadata={
            "failure": tags[FAILURE_TAG],
            "will_requeue": will_requeue,
            "requeues_before": attempt,
            "error_class": type(exc).__name__,
        },
        allow_retries=False,
    )


# -- the decision: pure ------------------------------------------------------------------------

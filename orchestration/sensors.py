"""The landing sensor: one dynamic partition and one run per new or changed landed file.

The cursor is a last-modified watermark plus the versions seen inside a small overlap window
before it, so a file whose timestamp lands just behind the watermark (clock skew, S3 listing
lag) is still found, and one seen already is not requested twice. A re-upload changes the
version (ETag, or size + mtime), so it loads again. Requests per tick are capped, and so is
the queue (JOB_IN_QUEUE_SIZE): what does not fit waits for the next tick, the watermark
advancing only past files actually requested.
"""


import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import dagster as dg

from assets.partitions import FILE_KEY_TAG, FILE_VERSION_TAG, LANDED_FILES
from assets.resources import ConnectraResource
from stores.errors import TransientStoreError
from stores.landing import LandedFile

OVERLAP_SECONDS = 120.0
MAX_REQUESTS_PER_TICK = 50
WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]


@dataclass
class SensorCursor:
    watermark: float = 0.0  # epoch seconds of the newest file requested so far
    seen: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (version, mtime)

    def dumps(self) -> str:
        return json.dumps({"watermark": self.watermark, "seen": self.seen}, sort_keys=True)

    @classmethod
    def loads(cls, raw: str | None) -> Self:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(data["watermark"], {k: (v[0], v[1]) for k, v in data["seen"].items()})


@dataclass(frozen=True)
class TickPlan:
    requested: list[LandedFile]
    cursor: SensorCursor
    waiting: int  # new files left for a later tick (cap or full queue)


def plan_tick(
    files: list[LandedFile],
    cursor: SensorCursor,
    room: int,
    now: datetime,
    settle_seconds: float = 0.0,
) -> TickPlan:
    """Which files to request this tick, and the cursor after requesting them.

    A file modified less than settle_seconds ago may still be being written (a local copy in
    progress) and waits for the next tick.
    """
    horizon = cursor.watermark - OVERLAP_SECONDS
    fresh_limit = now.timestamp() - settle_seconds
    candidates = sorted(
        (
            f
            for f in files
            if horizon <= f.last_modified.timestamp() <= fresh_limit
            and cursor.seen.get(f.key, ("", 0.0))[0] != f.version
        ),
        key=lambda f: (f.last_modified, f.key),
    )
    requested = candidates[: max(0, room)]
    seen = dict(cursor.seen)
    for f in requested:
        seen[f.key] = (f.version, f.last_modified.timestamp())
    watermark = max([cursor.watermark] + [f.last_modified.timestamp() for f in requested])
    seen = {k: v for k, v in seen.items() if v[1] >= watermark - OVERLAP_SECONDS}
    return TickPlan(requested, SensorCursor(watermark, seen), len(candidates) - len(requested))


def run_request(file: LandedFile) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"{file.key}@{file.version}",
        partition_key=file.key,
        tags={FILE_KEY_TAG: file.key, FILE_VERSION_TAG: file.version},
    )


def already_launched(instance: dg.DagsterInstance, file: LandedFile) -> bool:
    """A run for this very version exists (launched by `connectra ingest` or the API)."""
    runs = instance.get_run_records(
        filters=dg.RunsFilter(tags={FILE_KEY_TAG: file.key, FILE_VERSION_TAG: file.version}),
        limit=1,
    )
    return bool(runs)


def build_landing_sensor(
    job: Any,
    interval_seconds: int,
    queue_size: int,
    settle_seconds: float,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests one ingest run per new or changed file in the landing zone.",
    )
    def landing_sensor(
        context: dg.SensorEvaluationContext, connectra: ConnectraResource
    ) -> dg.SensorResult | dg.SkipReason:
        try:
            files = connectra.landing().list()
        except TransientStoreError as exc:
            return dg.SkipReason(f"landing zone unreachable, trying again next tick: {exc}")
        waiting = context.instance.get_runs_count(dg.RunsFilter(statuses=WAITING))
        room = min(MAX_REQUESTS_PER_TICK, queue_size - waiting)
        plan = plan_tick(
            files, SensorCursor.loads(context.cursor), room, datetime.now(UTC), settle_seconds
        )
        if plan.waiting:
            context.log.info(f"{plan.waiting} new file(s) wait for room in the queue")
        todo = [f for f in plan.requested if not already_launched(context.instance, f)]
        # Added here rather than through SensorResult.dynamic_partitions_requests, so that
        # the partitions exist before the run requests naming them are checked.
        known = set(context.instance.get_dynamic_partitions(LANDED_FILES))
        new_keys = sorted({f.key for f in todo} - known)
        if new_keys:
            context.instance.add_dynamic_partitions(LANDED_FILES, new_keys)
        return dg.SensorResult(
            run_requests=[run_request(f) for f in todo], cursor=plan.cursor.dumps()
        )

    return landing_sensor

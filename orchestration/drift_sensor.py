"""search_drift_sensor: finds the search index missing, empty or behind the records, and
launches the `reindex` job that repairs it (orchestration/drift.py decides what).

Every tick with no run in flight (a load in progress legitimately has written PostgreSQL
ahead of the index) it compares the stores per source file and on a sample of records; a
difference becomes one `reindex` run, of the files behind or of everything. Each tick says
what it found, so the sensor's page in the Dagster UI is the history of the index's health,
and the reindex run carries the reason in its `connectra/drift` tag.

Counts per file cannot see one loss: a node that lost its data gets its index created anew
by the next load, which then holds that load's documents only, and a record that a later file
touched is counted under the later file while the fields only an earlier file gave are gone.
So the sensor also remembers, in its cursor, which physical index answers for each service
(`SearchEngineStore.index_identity`): one replaced without a successful `reindex` run since
the last tick was created by a load, and everything is rebuilt.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.resources import ConnectraResource
from orchestration.drift import SERVICES, measure, plan_repair
from stores.base import Service
from stores.errors import StoreError

SENSOR_NAME = "search_drift_sensor"
DRIFT_TAG = "connectra/drift"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]  # fmt: skip
# Plain text fields of the records that their documents hold unchanged: what the sample of
# values compares (timestamps and numbers are rendered differently by the two stores).
COMPARED: dict[Service, tuple[str, ...]] = {
    "contacts": ("email", "first_name", "last_name", "title", "seniority", "country",
                 "company_id", "source_file"),
    "companies": ("name", "domain", "country", "source_file"),
}  # fmt: skip


def differing_values(records: Any, search: Any) -> Any:
    """same_values for drift.measure: the sampled ids whose document differs from the record
    on a COMPARED field."""

    def check(service: Service, ids: list[str]) -> list[str]:
        fields = COMPARED[service]
        rows = {r["id"]: r for r in records.fetch(service, ids, ["id", *fields])}
        docs = search.get_documents(service, ids)
        return [
            i for i in ids
            if i in rows and i in docs
            and any(_text(rows[i].get(f)) != _text(docs[i].get(f)) for f in fields)
        ]  # fmt: skip

    return check


def _text(value: Any) -> str | None:
    """A value as comparable text; a list as its sorted elements (both stores keep every
    source file, though concurrent loads may have added them in another order), and an
    older document's single file as a one-element list."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):
        return "\n".join(sorted(map(str, value)))
    return str(value)


def repair_request(instance: dg.DagsterInstance, resource: ConnectraResource) -> Any:
    """A RunRequest of the reindex job, or a SkipReason saying why none is needed now."""
    return sensor_tick(instance, resource, None)[0]


def sensor_tick(
    instance: dg.DagsterInstance, resource: ConnectraResource, cursor: str | None
) -> tuple[Any, str | None]:
    """(RunRequest or SkipReason, the cursor to keep): one tick of the sensor."""
    if resource.settings().postgres is None:
        return dg.SkipReason(
            "embedded profile: DuckDB holds the records and answers the searches itself; "
            "there is no separate index to drift"
        ), cursor
    busy = instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=1)
    if busy:
        run = busy[0].dagster_run
        return dg.SkipReason(
            f"run {run.run_id[:8]} ({run.job_name}) in flight: compared later"
        ), cursor
    stores = resource.stores()
    try:
        replaced, kept = replaced_indices(instance, stores.search, cursor)
    except StoreError as exc:
        return dg.SkipReason(f"stores not answering ({exc}): compared later"), cursor
    if replaced:
        reason = (
            f"the index of {' and '.join(replaced)} was replaced outside a reindex (a node "
            "that lost its data, the index created anew by a load): rebuilding everything"
        )
        return _reindex_request([], "every index", reason), kept
    return _measured_request(stores), kept


def replaced_indices(
    instance: dg.DagsterInstance, search: Any, cursor: str | None
) -> tuple[list[str], str]:
    """The services whose index was replaced since the cursor's tick by anything but a
    successful reindex run, and the cursor to keep (unchanged while a rebuild is owed, so a
    failed rebuild is asked for again)."""
    current = {service: search.index_identity(service) for service in SERVICES}
    fresh = json.dumps({"indices": current, "at": time.time()}, sort_keys=True)
    if not cursor:
        return [], fresh
    previous = json.loads(cursor)
    replaced: list[str] = [
        service for service in SERVICES
        if current[service] is not None and previous["indices"].get(service) != current[service]
    ]  # fmt: skip
    if not replaced:
        return [], fresh
    rebuilt = instance.get_run_records(
        dg.RunsFilter(
            job_name="reindex",
            statuses=[dg.DagsterRunStatus.SUCCESS],
            updated_after=datetime.fromtimestamp(previous["at"], UTC),
        ),
        limit=1,
    )
    return ([], fresh) if rebuilt else (replaced, cursor)


def _reindex_request(files: list[str], what: str, reason: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_config={"ops": {"rebuild_search_index": {"config": {"files": files}}}},
        tags={DRIFT_TAG: f"reindex {what}: {reason}"[:250]},
    )


def _measured_request(stores: Any) -> Any:
    """The repair the per-file counts and the sample call for, or why none is needed."""
    try:
        drift = measure(
            stores.records, stores.search,
            same_values=differing_values(stores.records, stores.search),
        )  # fmt: skip
    except StoreError as exc:
        return dg.SkipReason(f"stores not answering ({exc}): compared later")
    plan = plan_repair(drift)
    if plan is None:
        return dg.SkipReason(drift.describe())
    what = "every index" if plan.full else f"{len(plan.files or [])} file(s)"
    return _reindex_request(plan.files or [], what, plan.reason)


def build_drift_sensor(job: Any, interval_seconds: int = 120) -> dg.SensorDefinition:
    @dg.sensor(
        name=SENSOR_NAME,
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Reindexes what the search index lost or missed (compared with the records).",
    )
    def search_drift_sensor(
        context: dg.SensorEvaluationContext, connectra: ConnectraResource
    ) -> Any:
        result, cursor = sensor_tick(context.instance, connectra, context.cursor)
        if cursor != context.cursor:
            context.update_cursor(cursor)
        return result

    return search_drift_sensor

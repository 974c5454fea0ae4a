"""The one Dagster Definitions of Connectra, loaded by workspace.yaml and `dagster dev`.

Built when Dagster loads the code location (not at import), since the sensor's interval and
the queue size come from the settings.
"""

from __future__ import annotations

import dagster as dg

from assets.ingest import landed_file, loaded_file
from assets.resources import ConnectraResource
from orchestration.drift_sensor import build_drift_sensor
from orchestration.export_job import export_job
from orchestration.jobs import ingest_file_job
from orchestration.orphans import build_orphan_sensor
from orchestration.reindex_job import reindex_job
from orchestration.requeue import build_requeue_sensor
from orchestration.sensors import build_landing_sensor
from stores.settings import Settings, load_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    sensor = build_landing_sensor(
        ingest_file_job,
        interval_seconds=max(1, round(settings.ticker_interval_minutes * 60)),
        queue_size=settings.job_in_queue_size,
        settle_seconds=2.0 if settings.s3 is None else 0.0,
    )
    return dg.Definitions(
        assets=[landed_file, loaded_file],
        jobs=[ingest_file_job, reindex_job, export_job],
        sensors=[
            sensor,
            build_orphan_sensor(),
            build_requeue_sensor(ingest_file_job),
            build_drift_sensor(reindex_job),
        ],
        resources={"connectra": ConnectraResource()},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())

"""The ingest job: the assets of one landed file, run in one process per file."""

from __future__ import annotations

import dagster as dg

from assets.ingest import landed_file, loaded_file

INGEST_JOB_NAME = "ingest_file"

# In-process: a file's two steps stream through one process (no step subprocess start-up);
# concurrency across files comes from the run queue (PARALLEL_JOBS runs at once).
ingest_file_job = dg.define_asset_job(
    INGEST_JOB_NAME,
    selection=dg.AssetSelection.assets(landed_file, loaded_file),
    executor_def=dg.in_process_executor,
    description="Check, normalize and load one landed file into both stores.",
)

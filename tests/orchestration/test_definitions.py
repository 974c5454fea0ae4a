"""The Definitions load as Dagster loads them, with the ingest assets, job and sensor."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from orchestration.definitions import build_definitions
from stores.settings import settings_from_mapping

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_hold_the_ingest_pipeline(tmp_path: Path) -> None:
    defs = build_definitions(settings_from_mapping({"CONNECTRA_HOME": str(tmp_path)}))
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {"landed_file", "records", "search_index"} <= keys
    job = defs.resolve_job_def("ingest_file")
    assert job.partitions_def is not None
    sensor = defs.resolve_sensor_def("landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30  # embedded: TICKER_INTERVAL_MINUTES 0.5
    for name in ("orphaned_runs_sensor", "requeue_sensor"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def test_dagster_loads_the_workspace(tmp_path: Path) -> None:
    env = {**os.environ, "CONNECTRA_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    for name in ("PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL", "S3_BUCKET"):
        env.pop(name, None)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
         "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

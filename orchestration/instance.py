"""The Dagster instance (dagster.yaml) that matches the settings' profile.

Production keeps Dagster's runs, events and schedules in PostgreSQL (the same database as
the records; Dagster's tables do not collide with ours) and reads the URL from the
environment at run time, so no password is written to disk. Embedded uses SQLite under
CONNECTRA_HOME. Both queue runs with at most PARALLEL_JOBS running at once, and retry a run
whose worker died (step failures are retried by the assets' own retry policies instead).

A dead run worker is noticed by the code server that spawned it (with the default run
launcher, each run is a subprocess of the daemon's code server, whose cleanup thread marks the
run failed within about a second of the worker's death; run_retries then start a retry from
the failed step). Run monitoring adds what the code server cannot see: a run stuck in STARTING
(its worker never came up) or in CANCELING (its worker never stopped) is failed / canceled
after the timeouts below. The default launcher cannot check a worker's health or resume a
run (supports_check_run_worker_health and supports_resume_run are False), so
max_resume_run_attempts must stay 0: anything else makes the instance refuse to load. A
worker that dies together with its code server, and a run left STARTING by a daemon killed
while launching it, are failed by Connectra's orphaned-run sensor instead (orchestration/
orphans.py), and then retried like any other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from stores.settings import Settings

DAGSTER_PG_URL_ENV = "CONNECTRA_DAGSTER_PG_URL"


def instance_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": settings.parallel_jobs,
                # orchestration/reindex_job.py: one reindex at a time
                "tag_concurrency_limits": [
                    {"key": "connectra/exclusive", "value": "reindex", "limit": 1}
                ],
            },
        },
        "run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False},
        "run_monitoring": {
            "enabled": True,
            "start_timeout_seconds": 180,
            "cancel_timeout_seconds": 180,
            "max_resume_run_attempts": 0,
            "poll_interval_seconds": 30,
        },
        "sensors": {"use_threads": True, "num_workers": 2},
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }
    if settings.postgres is not None:
        config["storage"] = {
            "postgres": {"postgres_url": {"env": DAGSTER_PG_URL_ENV}},
        }
    return config


def dagster_env(settings: Settings) -> dict[str, str]:
    """Variables the Dagster processes need beyond the settings' own."""
    env = {"DAGSTER_HOME": str(settings.dagster_home)}
    if settings.postgres is not None:
        # psycopg2 explicitly: SQLAlchemy 2.1 defaults to psycopg 3, whose server-side
        # parameters break dagster-postgres's `NOTIFY run_events, %(id)s`.
        env[DAGSTER_PG_URL_ENV] = settings.postgres.url("postgresql+psycopg2")
    return env


def write_instance_yaml(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    path.write_text(
        "# Written by Connectra from its settings (orchestration/instance.py).\n"
        + yaml.safe_dump(instance_config(settings), sort_keys=False)
    )
    return path


def use_instance(settings: Settings) -> None:
    """Points this process at the settings' Dagster instance: its dagster.yaml written and the
    variables it reads (DAGSTER_HOME, the storage URL) set. Every command that opens the
    instance calls this, so none needs more than the documented variables."""
    write_instance_yaml(settings)
    os.environ.update(dagster_env(settings))


def initialize_instance(settings: Settings) -> None:
    """Creates Dagster's storage once, before the webserver and the daemon start together
    (each would otherwise create the same SQLite tables and one of them would fail)."""
    import dagster as dg

    use_instance(settings)
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.get_runs_count()

"""`connectra up`: the whole system in one command, on the embedded or production profile.

Prepares the stores (schema, indices), the Dagster instance and the API key, lands sample
data on a first start, then runs three processes side by side: the Dagster webserver (UI and
GraphQL), the Dagster daemon (the sensors, the run queue, run retries and monitoring) and the API
(waitress). Ctrl-C or SIGTERM stops them all. One that dies after the start is started again,
with backoff and a log line (orchestration/supervisor.py): a killed daemon comes back, its
runs in flight finish under its old code server, and the runs queued meanwhile are launched.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

from orchestration.instance import dagster_env, initialize_instance
from orchestration.supervisor import Supervisor
from stores.settings import Settings, ensure_api_key, load_settings


def write_workspace(settings: Settings) -> Path:
    path = settings.dagster_home / "workspace.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    workspace = {
        "load_from": [
            {
                "python_module": {
                    "module_name": "orchestration.definitions",
                    "location_name": "connectra",
                }
            }
        ]
    }
    path.write_text(yaml.safe_dump(workspace, sort_keys=False))
    return path


def prepare_stores(settings: Settings) -> None:
    """Schema and indices, idempotently (what `connectra migrate` does)."""
    from stores.factory import open_stores

    if settings.postgres is not None:
        from stores.postgres import migrate

        migrate(settings.postgres.url())
    stores = open_stores(settings)
    try:
        stores.search.ensure_indices()
    finally:
        stores.close()


def land_sample_data(settings: Settings, rows: int, log: Callable[[str], None]) -> None:
    """On a first start (empty landing zone), lands `rows` generated rows for the sensor."""
    from orchestration.sample_data import write_sample_files
    from stores.landing import landing_zone

    landing = landing_zone(settings)
    if rows <= 0 or landing.list():
        return
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_sample_files(rows, Path(tmp), write_manifest=False):
            with path.open("rb") as stream:
                landed = landing.put(f"samples/{path.name}", stream)
            log(f"landed {rows:,} sample rows as {landed.key}")


def _wait_http(url: str, seconds: float, alive: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return True
        except OSError:
            time.sleep(0.5)
    return False


def say(line: str) -> None:
    """A line to the terminal, flushed (also when the output goes to a file)."""
    print(line, flush=True)


def up(sample_rows: int, log: Callable[[str], None] = say) -> int:
    settings = ensure_api_key(load_settings())
    settings.home.mkdir(parents=True, exist_ok=True)
    api_key = settings.api_keys[0].get()
    log(f"profile: {settings.profile} (CONNECTRA_HOME={settings.home})")
    prepare_stores(settings)
    from orchestration.migrate import warn_if_outdated  # it builds on this module

    warn_if_outdated(settings, log)
    initialize_instance(settings)
    workspace = write_workspace(settings)
    land_sample_data(settings, sample_rows, log)

    env = {**os.environ, **dagster_env(settings), "API_KEY": api_key}
    env["CONNECTRA_HOME"] = str(settings.home)
    bin_dir = Path(sys.executable).parent
    logs = settings.home / "logs"
    logs.mkdir(exist_ok=True)
    host, api_port, dagster_port = settings.api_host, settings.api_port, settings.dagster_port
    supervisor = Supervisor(env, log)
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    dagster = [
        "-w", str(workspace),
    ]  # fmt: skip
    supervisor.start(
        "dagster-webserver",
        [str(bin_dir / "dagster-webserver"), *dagster, "-h", "127.0.0.1", "-p", str(dagster_port)],
        logs / "dagster-webserver.log",
    )
    supervisor.start(
        "dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", *dagster], logs / "daemon.log"
    )
    supervisor.start(
        "api",
        [str(bin_dir / "connectra"), "api", "--host", host, "--port", str(api_port)],
        logs / "api.log",
    )
    try:
        alive = lambda: not supervisor.dead() and not stop_requested  # noqa: E731
        api_url = f"http://{host}:{api_port}"
        dagster_url = f"http://127.0.0.1:{dagster_port}"
        if not (
            _wait_http(f"{api_url}/health", 120, alive)
            and _wait_http(f"{dagster_url}/server_info", 180, alive)
        ):
            if not stop_requested:
                log(f"could not start {', '.join(supervisor.dead()) or 'in time'}; see {logs}")
                return 1
            return 0
        log("")
        log(f"  API         {api_url}")
        log(f"  Dagster UI  {dagster_url}")
        log(f"  API key     {api_key}")
        log(f"  landing     {settings.s3 and settings.s3.bucket or settings.landing_dir}")
        log(f"  logs        {logs}")
        log("")
        log("  try:")
        log(
            f"  curl -s -H 'X-API-Key: {api_key}' -H 'Content-Type: application/json' "
            f"-d '{{\"limit\": 3}}' {api_url}/contacts/filter"
        )
        log("")
        log("Ctrl-C stops everything.")
        while not stop_requested:
            supervisor.keep_running()
            time.sleep(0.5)
        return 0
    finally:
        log("stopping ...")
        supervisor.stop()

"""`connectra up` end to end, as a newcomer runs it: a subprocess on free ports, sample data
loaded by the sensor through the real job, files dropped and uploaded, a job followed over
HTTP, Dagster's GraphQL API inspected, then Ctrl-C and no process left behind.

Runs on the embedded profile and on the production profile (PostgreSQL + OpenSearch + S3 of
`make services`, each isolated: its own database, index prefix and S3 prefix).
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from orchestration.sample_data import read_manifest, write_sample_files
from tests.conftest import Services, fresh_database

SAMPLE_ROWS = 1_500
PROFILE_VARS = (
    "API_KEY", "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL",
    "SEARCH_ENGINE", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT", "DAGSTER_HOME",
)  # fmt: skip
NEW_CSV = (
    "email,first_name,last_name,title,company_name,company_website\n"
    "ada@analytical.io,Ada,Lovelace,Chief Mathematician,Analytical Engines,analytical.io\n"
    "charles@analytical.io,Charles,Babbage,Founder,Analytical Engines,analytical.io\n"
)
CANCEL_BOUND_SECONDS = 30
UPLOADED_CSV = "email,first_name,title\ngrace@navy.mil,Grace,Rear Admiral\nnot-an-email,Bad,Row\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"{what} did not happen in {seconds} s (last: {last!r})")


def processes_mentioning(marker: str) -> list[int]:
    """Processes whose command line or environment names the marker (our CONNECTRA_HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in blob:
            found.append(int(entry.name))
    return found


class Running:
    """A `connectra up` subprocess and an HTTP client for its API."""

    def __init__(self, home: Path, env: dict[str, str], log: Path) -> None:
        self.home, self.env, self.log = home, env, log
        self.api = f"http://127.0.0.1:{env['API_PORT']}"
        self.dagster = f"http://127.0.0.1:{env['DAGSTER_PORT']}"
        self.key = env.get("API_KEY", "")
        out = log.open("wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "connectra"), "up", "--sample-rows",
             str(SAMPLE_ROWS)],
            env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        out.close()

    def headers(self) -> dict[str, str]:
        key_file = self.home / "api_key"  # the embedded profile generates its key there
        if not self.key and key_file.exists():
            self.key = key_file.read_text().strip()
        return {"X-API-Key": self.key}

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(self.api + path, json=body, headers=self.headers(), timeout=30)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.api + path, headers=self.headers(), timeout=30)

    def count(self, where: dict[str, Any] | None = None) -> int:
        answer = self.post("/contacts/count", {"where": where} if where else {})
        return int(answer.json()["count"]) if answer.status_code == 200 else -1

    def graphql(self, query: str) -> dict[str, Any]:
        answer = requests.post(f"{self.dagster}/graphql", json={"query": query}, timeout=30)
        answer.raise_for_status()
        return answer.json()["data"]  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start(tmp_path: Path, extra: dict[str, str]) -> Running:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    env.update(
        CONNECTRA_HOME=str(home),
        API_PORT=str(free_port()),
        DAGSTER_PORT=str(free_port()),
        TICKER_INTERVAL_MINUTES="0.1",
        **extra,
    )
    home.mkdir(parents=True)
    return Running(home, env, tmp_path / "up.log")


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Running]:
    running = start(tmp_path, {})
    yield running
    running.stop()


@pytest.fixture
def production(tmp_path: Path, services: Services, unique_name: str) -> Iterator[Running]:
    e = services.env
    with ExitStack() as stack:
        database = stack.enter_context(fresh_database(services))
        running = start(
            tmp_path,
            {
                "API_KEY": "e2e-key",
                "DATABASE_URL": database,
                "SEARCH_URL": services.search_url,
                "SEARCH_ENGINE": "opensearch",
                "SEARCH_INDEX_PREFIX": f"{unique_name}_",
                **{k: e[k] for k in ("S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION",
                                     "S3_BUCKET", "S3_ENDPOINT")},
                "S3_PREFIX": f"{unique_name}/",
            },
        )  # fmt: skip
        stack.callback(running.stop)
        yield running


def expected_sample(tmp_path: Path) -> dict[str, int]:
    [path] = write_sample_files(SAMPLE_ROWS, tmp_path / "expected", write_manifest=True)
    return read_manifest(path).expected


def drop_file(running: Running, services: Services | None, key: str, body: str) -> None:
    """A file arriving in the landing zone by other means than the API."""
    if services is None:
        path = running.home / "landing" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        return
    import boto3

    e = services.env
    boto3.client(
        "s3",
        endpoint_url=e["S3_ENDPOINT"],
        aws_access_key_id=e["S3_ACCESS_KEY"],
        aws_secret_access_key=e["S3_SECRET_KEY"],
        region_name=e["S3_REGION"],
    ).upload_fileobj(io.BytesIO(body.encode()), e["S3_BUCKET"], running.env["S3_PREFIX"] + key)


def exercise(running: Running, services: Services | None, tmp_path: Path) -> None:
    expected = expected_sample(tmp_path)
    try:
        # 1. The sample data, landed on first start, loads through the sensor by itself.
        eventually(lambda: running.count() == expected["loaded"], 240, "the sample load")

        # 2. A file dropped into the landing zone becomes queryable through the sensor.
        drop_file(running, services, "drops/new.csv", NEW_CSV)
        ada = {"keyword_match": {"must": {"email": "ada@analytical.io"}}}
        eventually(lambda: running.count(ada) == 1, 120, "the dropped file's load")

        # 3. A file uploaded through an upload URL loads too, and a job follows it.
        grant = running.get("/common/upload-url?filename=navy.csv").json()
        assert grant["method"] == "PUT" and grant["expires_in"] > 0
        assert requests.put(grant["url"], data=UPLOADED_CSV.encode(), timeout=30).ok
        grace = {"keyword_match": {"must": {"email": "grace@navy.mil"}}}
        eventually(lambda: running.count(grace) == 1, 120, "the uploaded file's load")

        job = running.post("/common/jobs", {"file_key": grant["key"]})
        assert job.status_code == 202, job.text
        job_id = job.json()["job_id"]
        done = eventually(
            lambda: (s := running.get(f"/common/jobs/{job_id}").json())["status"]
            in {"completed", "failed"} and s,
            180,
            "the job",
        )
        assert done["status"] == "completed", done
        assert (done["rows_read"], done["rows_loaded"], done["rows_rejected"]) == (2, 1, 1)

        # 4. Dagster's own API shows the assets, the running sensor and the file partitions.
        nodes = running.graphql("{ assetNodes { assetKey { path } partitionKeys } }")
        by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes["assetNodes"]}
        assert {"landed_file", "records", "search_index"} <= set(by_key)
        partitions = set(by_key["records"]["partitionKeys"])
        assert {"drops/new.csv", f"samples/contacts-42-{SAMPLE_ROWS}.csv"} <= partitions
        sensors = running.graphql(
            '{ sensorsOrError(repositorySelector: {repositoryName: "__repository__", '
            'repositoryLocationName: "connectra"}) { ... on Sensors { results { name '
            "sensorState { status } } } } }"
        )
        results = sensors["sensorsOrError"]["results"]
        states = {s["name"]: s["sensorState"]["status"] for s in results}
        assert states == dict.fromkeys(
            ("landing_sensor", "orphaned_runs_sensor", "requeue_sensor", "search_drift_sensor"),
            "RUNNING",
        )

        # 5. A backfill over file partitions, as launched from the UI, reloads them.
        backfill(running, ["drops/new.csv", f"samples/contacts-42-{SAMPLE_ROWS}.csv"])
        assert running.count() == expected["loaded"] + 3

        # 6. Cancelling a running load (the UI's Terminate) stops it cleanly.
        cancel_a_running_load(running, services, tmp_path)
    except BaseException:
        print(running.log.read_text()[-4000:])
        raise

    # 7. Ctrl-C stops everything it started.
    running.stop()
    assert running.proc.returncode == 0, running.log.read_text()[-2000:]
    time.sleep(1)
    assert processes_mentioning(str(running.home)) == []


def backfill(running: Running, partitions: list[str]) -> None:
    """Launches a backfill of the ingest job over partitions and waits for its runs."""
    names = ", ".join(f'"{p}"' for p in partitions)
    launched = running.graphql(
        "mutation { launchPartitionBackfill(backfillParams: { selector: { partitionSetName: "
        '"ingest_file_partition_set", repositorySelector: { repositoryName: "__repository__", '
        f'repositoryLocationName: "connectra" }} }}, partitionNames: [{names}] }}) {{ '
        "__typename ... on LaunchBackfillSuccess { backfillId } "
        "... on PythonError { message } } }"
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def runs_done() -> list[str] | None:
        runs = running.graphql(
            '{ runsOrError(filter: { tags: [{ key: "dagster/backfill", value: "'
            + backfill_id
            + '" }] }) { ... on Runs { results { status } } } }'
        )["runsOrError"]["results"]
        statuses = [r["status"] for r in runs]
        finished = len(statuses) == len(partitions) and all(
            s in {"SUCCESS", "FAILURE", "CANCELED"} for s in statuses
        )
        return statuses if finished else None

    statuses = eventually(runs_done, 240, "the backfill's runs")
    assert statuses == ["SUCCESS"] * len(partitions)


def cancel_a_running_load(running: Running, services: Services | None, tmp_path: Path) -> None:
    [big] = write_sample_files(120_000, tmp_path / "big", seed=9, write_manifest=False)
    before = running.count()
    drop_file(running, services, "drops/big.csv", big.read_text())
    runs_of_big = (
        '{ runsOrError(filter: { tags: [{ key: "connectra/file_key", value: "drops/big.csv" }] })'
        " { ... on Runs { results { runId status } } } }"
    )

    def started() -> str | None:
        runs = running.graphql(runs_of_big)["runsOrError"]["results"]
        return runs[0]["runId"] if runs and runs[0]["status"] == "STARTED" else None

    run_id = eventually(started, 180, "the big file's run to start")
    time.sleep(2)  # into the load itself
    terminated_at = time.monotonic()
    terminated = running.graphql(
        f'mutation {{ terminateRun(runId: "{run_id}") {{ __typename }} }}'
    )["terminateRun"]
    assert terminated["__typename"] == "TerminateRunSuccess", terminated

    def canceled() -> bool:
        status = running.graphql(runs_of_big)["runsOrError"]["results"][0]["status"]
        # A terminated step that is retried in the run (an asset RetryPolicy applies to
        # interrupts too) reloads the file and ends SUCCESS instead: fail at once on that.
        assert status in {"STARTED", "CANCELING", "CANCELED"}, f"terminated run ended {status}"
        return status == "CANCELED"

    # The batch in flight completes first; whatever the load still waits for is abandoned
    # (tests/orchestration/test_cancel_load.py): a user waits seconds, not minutes.
    eventually(canceled, CANCEL_BOUND_SECONDS, "the run to be canceled")
    print(f"CANCELED {time.monotonic() - terminated_at:.1f} s after the terminate")
    after = running.count()  # the API still answers; some batches may have landed, not all
    assert before <= after < before + 100_000


def test_up_on_the_embedded_profile(embedded: Running, tmp_path: Path) -> None:
    exercise(embedded, None, tmp_path)


def test_up_on_the_production_profile(
    production: Running, services: Services, tmp_path: Path
) -> None:
    exercise(production, services, tmp_path)

"""POST /common/jobs and GET /common/jobs/{id}: the HTTP layer, and real runs on Dagster.

The Dagster part starts `dagster-webserver` on workspace.yaml with a DAGSTER_HOME and a
CONNECTRA_HOME of its own (embedded profile: the run writes into a DuckDB file there, so no
shared service is touched). With no dagster.yaml the instance launches runs at once, without
a daemon (and so without the landing sensor, which cannot interfere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from api.dagster_jobs import DagsterJobsClient
from api.jobs import job_state
from stores.errors import StoreError
from stores.landing import LocalLandingZone
from tests.api.conftest import ClientFactory, free_port

ROOT = Path(__file__).resolve().parents[2]
CSV = (
    "first_name,last_name,email,title,company_name,company_website,company_employees_count\n"
    "Ann,Smith,ann@example.com,Engineer,Acme,https://acme.example,51-200\n"
    "Bob,Jones,bob@example.com,Sales Lead,Acme,acme.example,51-200\n"
    "Eve,Kim,not-an-email,CTO,Initech,initech.example,12\n"
)


@pytest.mark.parametrize(
    ("status", "will_retry", "expected"),
    [
        (None, False, "open"), ("QUEUED", False, "in_queue"), ("NOT_STARTED", False, "in_queue"),
        ("STARTING", False, "in_queue"), ("STARTED", False, "processing"),
        ("CANCELING", False, "processing"), ("SUCCESS", False, "completed"),
        ("FAILURE", False, "failed"), ("FAILURE", True, "in_queue"),
        ("CANCELED", False, "failed"),
    ],
)
def test_dagster_status_mapping(status: str | None, will_retry: bool, expected: str) -> None:
    assert job_state(status, will_retry) == expected


def test_jobs_requests_are_checked_before_dagster_is_asked(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client()  # its Dagster is a closed port
    for body, pointer in (({}, "/file_key"), ({"file_key": 3}, "/file_key"),
                          ({"file_key": "a.csv", "x": 1}, "/x")):
        result = client.simulate_post("/common/jobs", json=body)
        assert result.status_code == 400
        assert result.json["error"]["details"][0]["path"] == pointer
    for missing in ("uploads/none.csv", "../../etc/passwd", "/abs.csv", ".hidden.csv"):
        result = client.simulate_post("/common/jobs", json={"file_key": missing})
        assert result.status_code == 404, missing
        assert result.json["error"]["code"] == "not_found"
    assert client.simulate_get("/common/jobs/not-a-run-id").status_code == 404
    # A file that exists, with Dagster down: 503, not a crash.
    LocalLandingZone(tmp_path / "landing").put("a.csv", _stream(CSV.encode()))
    result = client.simulate_post("/common/jobs", json={"file_key": "a.csv"})
    assert result.status_code == 503
    assert result.json["error"]["code"] == "backend_unavailable"
    assert client.simulate_get(f"/common/jobs/{uuid.uuid4()}").status_code == 503


def _stream(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


# -- real Dagster -------------------------------------------------------------------------------


@dataclass
class Dagster:
    port: int
    home: Path
    process: subprocess.Popen[bytes]


CONNECTRA_VARIABLES = (
    "API_KEY", "DATABASE_URL", "SEARCH_URL", "SEARCH_ENGINE", "CURSOR_SECRET", "CORS_ORIGINS",
)


def _dagster_env(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PG_DB_", "ELASTICSEARCH_", "S3_", "DAGSTER_"))
        and k not in CONNECTRA_VARIABLES
    }
    env.update(CONNECTRA_HOME=str(home), DAGSTER_HOME=str(home / "dagster"),
               PYTHONPATH=str(ROOT))
    return env


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dagster]:
    home = tmp_path_factory.mktemp("connectra-home")
    (home / "dagster").mkdir()
    port = free_port()
    log = (home / "webserver.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=_dagster_env(home), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        client = DagsterJobsClient("127.0.0.1", port, timeout_seconds=5)
        deadline = time.monotonic() + 90
        while True:
            try:
                client.ping()
                break
            except StoreError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("dagster-webserver did not start: "
                                + (home / "webserver.log").read_text()[-2000:])
                time.sleep(0.5)
        problem = _location_problem(client)
        if problem:
            pytest.fail(f"the connectra code location does not load: {problem}")
        yield Dagster(port, home, process)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _location_problem(client: DagsterJobsClient) -> str | None:
    query = """{ workspaceOrError { ... on Workspace { locationEntries { name
        locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    data = client._query(query, None, "read the workspace")  # noqa: SLF001
    for entry in data["workspaceOrError"]["locationEntries"]:
        error = entry["locationOrLoadError"] or {}
        if error.get("__typename") == "PythonError":
            return f"{entry['name']}: {error['message'][:1000]}"
    return None


def _wait(client: testing.TestClient, job_id: str, seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        result = client.simulate_get(f"/common/jobs/{job_id}")
        assert result.status_code == 200, result.text
        if result.json["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return result.json  # type: ignore[no-any-return]
        time.sleep(0.5)


@pytest.mark.services
def test_jobs_run_on_dagster(make_client: ClientFactory, dagster: Dagster) -> None:
    landing = LocalLandingZone(dagster.home / "landing")
    client = make_client(
        landing=landing, jobs=DagsterJobsClient("127.0.0.1", dagster.port, timeout_seconds=30)
    )
    landing.put("uploads/good.csv", _stream(CSV.encode()))
    landing.put("uploads/bad.csv", _stream(b"\x00\x01\x02 not a csv at all \xff\xfe" * 50))
    assert client.simulate_get("/health").json["checks"]["dagster"]["status"] == "ok"

    good = client.simulate_post("/common/jobs", json={"file_key": "uploads/good.csv"})
    assert good.status_code == 202, good.text
    assert good.json["status"] in ("in_queue", "processing")
    assert good.json["file_key"] == "uploads/good.csv"
    assert good.headers["Location"] == f"/common/jobs/{good.json['job_id']}"
    bad = client.simulate_post("/common/jobs", json={"file_key": "uploads/bad.csv"})
    assert bad.status_code == 202, bad.text

    done = _wait(client, good.json["job_id"])
    assert done["status"] == "completed", done
    assert (done["rows_read"], done["rows_loaded"], done["rows_rejected"]) == (3, 2, 1)
    assert done["error"] is None
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]

    failed = _wait(client, bad.json["job_id"])
    assert failed["status"] == "failed", failed
    assert failed["error"] and "Traceback" not in failed["error"]
    assert failed["finished_at"] is not None

    assert client.simulate_get(f"/common/jobs/{uuid.uuid4()}").status_code == 404

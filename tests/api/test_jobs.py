"""POST /common/jobs and GET /common/jobs/{id}: the HTTP layer, and real runs on Dagster
(the `dagster` fixture of tests/api/conftest.py)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from api.dagster_jobs import DagsterJobsClient
from api.jobs import job_state
from stores.landing import LocalLandingZone
from tests.api.conftest import ClientFactory, Dagster

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")

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


def _wait(client: testing.TestClient, job_id: str, seconds: float = 60) -> dict[str, Any]:
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
    assert done["status"] == "completed", str(done)
    assert (done["rows_read"], done["rows_loaded"], done["rows_rejected"]) == (3, 2, 1)
    assert done["error"] is None
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]

    failed = _wait(client, bad.json["job_id"])
    assert failed["status"] == "failed", failed
    assert failed["error"] and "Traceback" not in failed["error"]
    assert failed["finished_at"] is not None

    assert client.simulate_get(f"/common/jobs/{uuid.uuid4()}").status_code == 404


class _FakeGraphQL:
    """Answers the job query from canned runs (the first try, its newest retry, its newest
    requeue) and the details query with nothing."""

    def __init__(self, first: dict[str, Any], retry: dict[str, Any] | None = None,
                 requeue: dict[str, Any] | None = None) -> None:
        self.runs = (first, retry, requeue)
        self.variables: list[Any] = []

    def _execute(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        self.variables.append(variables)
        if "requeues:" not in query:
            return {"runOrError": {"__typename": "Run", "assetMaterializations": [],
                                   "eventConnection": {"cursor": "", "hasMore": False,
                                                       "events": []}}}
        first, retry, requeue = self.runs

        def runs(run: dict[str, Any] | None) -> dict[str, Any]:
            return {"__typename": "Runs", "results": [run] if run else []}

        return {"runOrError": first, "runsOrError": runs(retry), "requeues": runs(requeue)}


def _run(run_id: str, status: str, created: float, **tags: str) -> dict[str, Any]:
    return {"__typename": "Run", "runId": run_id, "jobName": "ingest_file", "status": status,
            "creationTime": created, "startTime": created, "endTime": created + 1,
            "tags": [{"key": k, "value": v} for k, v in
                     {"connectra/file_key": "a.csv", **tags}.items()]}


JOB = "5b0e1a2c-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("first", "retry", "requeue", "expected"),
    [
        # failed for a transient reason, the requeue sensor will load it again
        (_run(JOB, "FAILURE", 1, **{"connectra/will_requeue": "true"}), None, None, "in_queue"),
        # failed and given up (or terminal)
        (_run(JOB, "FAILURE", 1, **{"connectra/will_requeue": "false"}), None, None, "failed"),
        # requeued: the requeue is the newest try
        (_run(JOB, "FAILURE", 1), None, _run("r", "QUEUED", 5), "in_queue"),
        (_run(JOB, "FAILURE", 1), None, _run("r", "SUCCESS", 5), "completed"),
        # retried by Dagster after the requeue (the retry carries connectra/requeue_root)
        (_run(JOB, "FAILURE", 1), _run("x", "FAILURE", 2), _run("y", "STARTED", 9), "processing"),
        # a run retry newer than the last requeue
        (_run(JOB, "FAILURE", 1), _run("z", "SUCCESS", 9), _run("y", "FAILURE", 5), "completed"),
    ],
)
def test_a_job_follows_its_requeues(
    first: dict[str, Any], retry: dict[str, Any] | None, requeue: dict[str, Any] | None,
    expected: str,
) -> None:
    fake = _FakeGraphQL(first, retry, requeue)
    status = DagsterJobsClient(client=fake).get(JOB)  # type: ignore[arg-type]
    assert status is not None and status.status == expected
    assert fake.variables[0]["requeues"] == {
        "tags": [{"key": "connectra/requeue_root", "value": JOB}]
    }

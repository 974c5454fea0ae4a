"""POST /{service}/export and GET /common/exports/{id}: validation (the filter's 400s),
ownership, signed download links; then real runs of the export_records job on Dagster."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from falcon import testing

from api.app import create_app
from api.dagster_exports import DagsterExportsClient, ExportRun
from api.dagster_jobs import DagsterJobsClient
from stores.exports.files import LocalExportFiles
from tests.api.conftest import (
    API_KEY,
    OTHER_KEY,
    Backend,
    ClientFactory,
    Dagster,
    deps_for,
)
from tests.api.export_helpers import filter_all, read_back

pytestmark = [pytest.mark.services, pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")]


@pytest.mark.parametrize(
    ("service", "body", "pointer"),
    [
        ("contacts", {"format": "csv", "where": {"keyword_match": {"must": {"nope": "x"}}}},
         "/where/keyword_match/must/nope"),
        ("contacts", {"format": "csv", "where": {"range_query": {"must": {
            "email": {"gte": 1}}}}}, "/where/range_query/must/email"),
        ("contacts", {"format": "csv", "order_by": [{"order_by": "phone"}]},
         "/order_by/0/order_by"),
        ("contacts", {"format": "csv", "select_columns": ["id", "nope"]}, "/select_columns/1"),
        ("companies", {"format": "csv", "company_config": {"populate": True}},
         "/company_config"),
        ("contacts", {}, "/format"),
        ("contacts", {"format": "xml"}, "/format"),
        ("contacts", {"format": "parquet", "gzip": True}, "/gzip"),
        ("contacts", {"format": "csv", "gzip": "yes"}, "/gzip"),
        ("contacts", {"format": "csv", "max_rows": 0}, "/max_rows"),
        ("contacts", {"format": "csv", "max_rows": 2.5}, "/max_rows"),
        ("contacts", {"format": "csv", "limit": 10}, "/limit"),
        ("contacts", [], ""),
    ],
)
def test_bad_export_requests_get_the_filters_400s(
    prod_client: testing.TestClient, service: str, body: Any, pointer: str
) -> None:
    result = prod_client.simulate_post(f"/{service}/export", json=body)
    assert result.status_code == 400, result.text
    assert pointer in [d["path"] for d in result.json["error"]["details"]], result.json
    if "where" in body:  # the very 400 the filter gives for the same where
        filtered = prod_client.simulate_post(f"/{service}/filter", json={"where": body["where"]})
        assert filtered.json["error"] == result.json["error"]


def test_a_valid_export_with_dagster_away_is_503(prod_client: testing.TestClient) -> None:
    result = prod_client.simulate_post("/contacts/export", json={"format": "csv"})
    assert result.status_code == 503
    assert prod_client.simulate_get(f"/common/exports/{uuid.uuid4()}").status_code == 503


class OneExport:
    """The orchestrator's side of one finished export (the API's ExportsClient)."""

    def __init__(self, run: ExportRun) -> None:
        self.run = run

    def submit(self, config: dict[str, Any], owner: str, suffix: str) -> str:
        raise AssertionError("not launched here")

    def get(self, export_id: str) -> ExportRun | None:
        return self.run if export_id == self.run.export_id else None


def test_an_export_is_its_keys_alone_and_its_link_expires(
    production: Backend, tmp_path: Path
) -> None:
    from api.middleware import key_fingerprint

    export_id = str(uuid.uuid4())
    files = LocalExportFiles(tmp_path / "exports")
    with files.writer(f"{export_id}.csv") as sink:
        sink.write(b"id\n1\n")
    now = [time.time()]
    run = ExportRun(export_id, "completed", key_fingerprint(API_KEY), "csv", ".csv",
                    rows_written=1, bytes=5, dataset_version=3, finished_epoch=now[0] - 10)
    deps = deps_for(production, tmp_path, exports=OneExport(run), export_files=files,
                    clock=lambda: now[0], export_link_seconds=600,
                    export_retention_hours=1.0)
    app = create_app(deps)
    mine = testing.TestClient(app, headers={"X-API-Key": API_KEY})
    theirs = testing.TestClient(app, headers={"X-API-Key": OTHER_KEY})

    assert theirs.simulate_get(f"/common/exports/{export_id}").status_code == 404
    status = mine.simulate_get(f"/common/exports/{export_id}")
    assert status.status_code == 200
    assert status.json["dataset_version"] == 3
    assert status.headers["X-Dataset-Version"] == "3"
    url = status.json["download_url"]
    assert urlsplit(url).path == f"/common/export-files/{export_id}.csv"
    anyone = testing.TestClient(app)  # a signed link needs no key, like a presigned S3 GET
    got = download(anyone, url)
    assert got.status_code == 200 and got.content == b"id\n1\n"
    tampered = url.replace("signature=", "signature=0")
    assert download(anyone, tampered).status_code == 403
    other_file = url.replace(export_id, str(uuid.uuid4()))
    assert download(anyone, other_file).status_code == 403
    superscript = re.sub(r"expires=\d+", "expires=%C2%B2", url)  # "²": was a 500
    assert download(anyone, superscript).status_code == 403

    now[0] += 601  # the link expired
    assert download(anyone, url).status_code == 403
    # a new link is handed out, but never past the file's removal (retention: 1 h)
    now[0] += 3600
    assert mine.simulate_get(f"/common/exports/{export_id}").json["download_url"] is None


def download(client: testing.TestClient, url: str) -> Any:
    split = urlsplit(url)
    return client.simulate_get(split.path, query_string=split.query)


# -- real Dagster -------------------------------------------------------------------------------


def _wait(client: testing.TestClient, path: str, seconds: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        result = client.simulate_get(path)
        assert result.status_code == 200, result.text
        if result.json["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return result.json  # type: ignore[no-any-return]
        time.sleep(0.5)


CSV = (
    "first_name,last_name,email,title,company_name,company_website,company_employees_count\n"
    + "".join(f"Ann{i},Smith{i},ann{i}@example.com,Engineer,Acme{i % 3},acme{i % 3}.example,"
              f"51-200\n" for i in range(60))
)


@pytest.fixture
def on_dagster(make_client: ClientFactory, dagster: Dagster) -> testing.TestClient:
    """The API on the Dagster fixture's embedded CONNECTRA_HOME, with its loads done."""
    import io

    from stores.duckdb import DuckDBStore
    from stores.landing import LocalLandingZone
    from tests.api.conftest import CODEC

    store = DuckDBStore(dagster.home / "connectra.duckdb", cursors=CODEC)
    jobs = DagsterJobsClient("127.0.0.1", dagster.port, timeout_seconds=30)
    landing = LocalLandingZone(dagster.home / "landing")
    client = make_client(Backend("embedded", store, store), landing=landing, jobs=jobs,
                         export_files=LocalExportFiles(dagster.home / "exports"))
    if not (dagster.home / "landing" / "exports-test.csv").exists():
        landing.put("exports-test.csv", io.BytesIO(CSV.encode()))
        job = client.simulate_post("/common/jobs", json={"file_key": "exports-test.csv"})
        assert _wait(client, f"/common/jobs/{job.json['job_id']}")["status"] == "completed"
    return client


def test_an_export_runs_on_dagster_and_downloads(on_dagster: testing.TestClient) -> None:
    client = on_dagster
    body = {"where": {"keyword_match": {"must": {"company_name": "acme1"}}},
            "order_by": [{"order_by": "email"}], "select_columns": ["id", "email"]}
    counted = client.simulate_post("/contacts/count", json=body)
    version = counted.headers["X-Dataset-Version"]
    assert int(version) >= 1  # the load moved it

    queued = client.simulate_post("/contacts/export", json={**body, "format": "csv",
                                                            "gzip": True})
    assert queued.status_code == 202, queued.text
    assert queued.json["status"] == "in_queue"
    export_id = queued.json["export_id"]
    done = _wait(client, f"/common/exports/{export_id}")
    assert done["status"] == "completed", done
    assert done["rows_written"] == counted.json["count"] == 20
    assert str(done["dataset_version"]) == version
    assert done["format"] == "csv" and done["error"] is None
    url = done["download_url"]
    got = download(client, url)
    assert got.status_code == 200
    assert got.headers["Content-Length"] == str(done["bytes"])
    _, rows = read_back(got.content, "csv", True)
    assert rows == filter_all(client, "contacts", body)


def test_a_cancelled_export_ends_failed_without_a_file(
    on_dagster: testing.TestClient, dagster: Dagster
) -> None:
    """Terminated from outside (the UI's Terminate) while the run is inside its step: the
    test holds the DuckDB file open for writing, so the export waits for its snapshot."""
    import subprocess
    import sys

    client = on_dagster
    exports = DagsterExportsClient(DagsterJobsClient("127.0.0.1", dagster.port))
    # Another process (this one may hold the file read-only, which DuckDB would not mix).
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(300)", str(dagster.home / "connectra.duckdb")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        queued = client.simulate_post("/contacts/export", json={"format": "jsonl"})
        export_id = queued.json["export_id"]
        deadline = time.monotonic() + 60
        while client.simulate_get(f"/common/exports/{export_id}").json["status"] != \
                "processing":
            assert time.monotonic() < deadline, "the export never started"
            time.sleep(0.3)
        time.sleep(2.0)  # inside the step, waiting for the file
        answer = exports.jobs._query(  # noqa: SLF001 - what the UI's Terminate sends
            "mutation T($runId: String!) { terminateRun(runId: $runId) { __typename "
            "... on TerminateRunFailure { message } } }",
            {"runId": export_id}, "terminate")
        assert answer["terminateRun"]["__typename"] == "TerminateRunSuccess", answer
        done = _wait(client, f"/common/exports/{export_id}")
    finally:
        holder.kill()
        holder.wait(10)
    assert done["status"] == "failed", done
    assert done["download_url"] is None
    assert not list((dagster.home / "exports").glob(f"*{export_id}*"))


def test_concurrent_requests_share_one_graphql_client(dagster: Dagster) -> None:
    """The API's waitress threads share one Dagster client; gql's transport is not
    thread-safe ("Transport is already connected" became a 500), so calls take turns."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = DagsterJobsClient("127.0.0.1", dagster.port, timeout_seconds=30)
    exports = DagsterExportsClient(jobs)
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: exports.get(str(uuid.uuid4())), range(64)))
        pings = list(pool.map(lambda _: jobs.ping(), range(64)))
    assert found == [None] * 64 and pings == [None] * 64


def test_a_production_export_runs_on_dagster_into_s3(
    make_client: ClientFactory, services: Any, s3: Any, search_settings: Any,
    tmp_path: Path, unique_name: str,
) -> None:
    """PostgreSQL + OpenSearch + S3, through a real export_records run: the presigned
    download equals the filter's answer, at the dataset version of the data."""
    import requests

    from stores.exports.files import S3ExportFiles
    from stores.postgres import PostgresRecordStore, migrate
    from stores.search import make_search_store
    from stores.settings import S3Settings, Secret
    from tests.api.conftest import CODEC, load, start_dagster
    from tests.conftest import fresh_database

    e = services.env
    prefix = f"{unique_name}_"
    with fresh_database(services) as url:
        migrate(url)
        records = PostgresRecordStore(url)
        search = make_search_store(search_settings, prefix, cursors=CODEC, replicas=0)
        search.ensure_indices()
        load(records, search)
        records.mark_loaded("run-1")
        records.mark_loaded("run-2")
        variables = {
            "DATABASE_URL": url, "SEARCH_URL": services.search_url,
            "SEARCH_ENGINE": "opensearch", "SEARCH_INDEX_PREFIX": prefix,
            "API_KEY": API_KEY, "S3_BUCKET": e["S3_BUCKET"],
            "S3_PREFIX": f"{unique_name}/landing/", "S3_REGION": e["S3_REGION"],
            "S3_ENDPOINT": e["S3_ENDPOINT"], "S3_ACCESS_KEY": e["S3_ACCESS_KEY"],
            "S3_SECRET_KEY": e["S3_SECRET_KEY"],
        }
        files = S3ExportFiles(S3Settings(
            bucket=e["S3_BUCKET"], prefix=f"{unique_name}/landing/", region=e["S3_REGION"],
            endpoint=e["S3_ENDPOINT"], access_key=Secret(e["S3_ACCESS_KEY"]),
            secret_key=Secret(e["S3_SECRET_KEY"])))
        try:
            with start_dagster(tmp_path / "home", **variables) as dagster:
                client = make_client(
                    Backend("production", records, search), export_files=files,
                    jobs=DagsterJobsClient("127.0.0.1", dagster.port, timeout_seconds=30))
                body = {"where": {"keyword_match": {"must": {"country": "germany"}}},
                        "order_by": [{"order_by": "email", "order_direction": "desc"}],
                        "company_config": {"populate": True}}
                queued = client.simulate_post("/contacts/export",
                                              json={**body, "format": "parquet"})
                assert queued.status_code == 202, queued.text
                done = _wait(client, f"/common/exports/{queued.json['export_id']}", 180)
                assert done["status"] == "completed", done
                assert done["dataset_version"] == 2
                got = requests.get(done["download_url"], timeout=30)
                assert got.status_code == 200 and len(got.content) == done["bytes"]
                _, rows = read_back(got.content, "parquet", False)
                expected = filter_all(client, "contacts", body)
                assert done["rows_written"] == len(expected) > 0
                assert rows == expected
                assert files.key(f"{done['export_id']}.parquet").startswith(
                    f"{unique_name}/exports/")
        finally:
            files.sweep(-1)
            search.drop_indices()
            search.close()
            records.close()

"""Exports in process (stores/exports): every format read back equals the filter's answer,
on both profiles; one snapshot while a load runs; a failure publishes nothing."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from falcon import testing

from stores.errors import StoreError
from stores.exports.files import LocalExportFiles, S3ExportFiles
from stores.exports.request import ExportRequest, parse_export_request
from stores.exports.run import run_export
from stores.factory import Stores
from stores.settings import S3Settings, Secret
from tests.api.conftest import CODEC, Backend, load
from tests.api.dataset import DATASET, Dataset
from tests.api.export_helpers import as_csv, filter_all, read_back
from tests.conftest import Services

pytestmark = pytest.mark.services

CONTACTS_BODY: dict[str, Any] = {
    "where": {"keyword_match": {"must": {"country": ["united states", "germany"]}}},
    "order_by": [{"order_by": "last_name", "order_direction": "asc"}],
    "select_columns": ["id", "first_name", "email", "departments", "created_at", "company_id"],
    "company_config": {"populate": True, "select_columns": ["name", "industries", "updated_at"]},
}
COMPANIES_BODY: dict[str, Any] = {
    "where": {"range_query": {"must": {"employees_count": {"gte": 10}}}},
}
FORMATS = [("csv", False), ("csv", True), ("jsonl", False), ("jsonl", True),
           ("parquet", False)]


def stores_of(backend: Backend) -> Stores:
    return Stores(records=backend.records, search=backend.search, cursors=CODEC)


def export(backend: Backend, root: Path, service: str, body: dict[str, Any], **run: Any
           ) -> tuple[Any, ExportRequest, Path]:
    request = parse_export_request(service, body)
    export_id = str(uuid.uuid4())
    report = run_export(stores_of(backend), LocalExportFiles(root), request, export_id, **run)
    return report, request, root / report.name


@pytest.mark.parametrize(("fmt", "gzip"), FORMATS)
@pytest.mark.parametrize(("service", "body"), [("contacts", CONTACTS_BODY),
                                               ("companies", COMPANIES_BODY)])
def test_an_export_holds_what_the_filter_pages_hold(
    client: testing.TestClient, backend: Backend, tmp_path: Path, service: str,
    body: dict[str, Any], fmt: str, gzip: bool,
) -> None:
    expected = filter_all(client, service, body)
    assert len(expected) > 13  # the export below walks several pages
    report, _, path = export(backend, tmp_path, service, {**body, "format": fmt, "gzip": gzip},
                             page_rows=13)
    header, rows = read_back(path.read_bytes(), fmt, gzip)
    assert report.rows_written == len(expected)
    assert report.bytes == path.stat().st_size
    assert [r["id"] for r in rows] == [r["id"] for r in expected]
    if fmt == "csv":
        company = [f"company.{c}" for c in body.get("company_config", {}).get(
            "select_columns", [])]
        assert header == [k for k in expected[0] if k != "company"] + company
        assert rows == [{**{k: "" for k in header}, **as_csv(r)} for r in expected]
    else:
        assert rows == expected
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_max_rows_cuts_the_walk(backend: Backend, tmp_path: Path,
                                client: testing.TestClient) -> None:
    expected = filter_all(client, "contacts", CONTACTS_BODY)
    report, _, path = export(backend, tmp_path, "contacts",
                             {**CONTACTS_BODY, "format": "jsonl", "max_rows": 50}, page_rows=37)
    _, rows = read_back(path.read_bytes(), "jsonl", False)
    assert report.rows_written == 50
    assert rows == expected[:50]


# -- one snapshot -----------------------------------------------------------------------------


def changed(data: Dataset, new: int) -> Dataset:
    """Every contact's title changed, and `new` contacts that did not exist."""
    fresh = [{**c, "id": str(uuid.uuid4()), "email": f"new{i}@example.com"}
             for i, c in enumerate(data.contacts[:new])]
    return Dataset(data.companies,
                   [{**c, "title": f"changed {c['title']}"} for c in data.contacts] + fresh)


def test_an_export_during_a_load_holds_the_state_before_it(
    own_backend: Backend, tmp_path: Path
) -> None:
    before = {c["id"]: c["title"] for c in DATASET.contacts}
    after = changed(DATASET, new=20)
    loads: list[threading.Thread] = []
    seen_at_load: list[int] = []

    def a_load() -> None:
        load(own_backend.records, own_backend.search, after)
        own_backend.records.mark_loaded("run-2")

    def during(progress: Any) -> None:
        if loads:
            return
        seen_at_load.append(progress.rows)
        loads.append(threading.Thread(target=a_load))
        loads[0].start()
        if own_backend.profile == "production":
            loads[0].join(60)  # done before the export reads on
        else:
            time.sleep(1.0)  # the load waits for the file meanwhile

    report, _, path = export(own_backend, tmp_path / "exports", "contacts",
                             {"where": {}, "format": "jsonl",
                              "select_columns": ["id", "title"]},
                             page_rows=25, progress=during, progress_every=1)
    loads[0].join(90)
    _, rows = read_back(path.read_bytes(), "jsonl", False)
    assert seen_at_load == [25]  # the load ran while the export had read one page
    assert len(rows) == len(before) == report.rows_written  # no new record, none twice
    assert {r["id"]: r["title"] for r in rows} == before  # every record as it was
    assert report.dataset_version.version == 1
    # ...and the load did land: the data moved on, and its version with it.
    assert own_backend.records.dataset_version().version == 2
    one = DATASET.contacts[0]["id"]
    assert own_backend.records.fetch("contacts", [one], ["title"])[0]["title"].startswith(
        "changed")


# -- failures publish nothing --------------------------------------------------------------------


def test_the_engine_failing_mid_export_publishes_no_file(
    own_backend: Backend, tmp_path: Path, services: Services
) -> None:
    def engine_fails(progress: Any) -> None:
        if own_backend.profile == "production":
            # The export's own connection (idle in its transaction between pages) is killed.
            url = own_backend.records.engine.url  # type: ignore[attr-defined]
            with psycopg.connect(url.render_as_string(hide_password=False).replace(
                    "postgresql+psycopg", "postgresql"), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state = 'idle in transaction'").fetchall()
            assert killed
        else:
            raise RuntimeError("the engine went away")

    root = tmp_path / "exports"
    with pytest.raises((StoreError, RuntimeError)):
        export(own_backend, root, "contacts", {"format": "csv"}, page_rows=25,
               progress=engine_fails, progress_every=1)
    assert list(root.iterdir()) == []  # neither the file nor its temporary part


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_interrupted_export_publishes_no_file(
    embedded: Backend, tmp_path: Path, fmt: str
) -> None:
    def cancelled(progress: Any) -> None:
        raise KeyboardInterrupt  # what Dagster's terminate raises in the step

    with pytest.raises(KeyboardInterrupt):
        export(embedded, tmp_path, "contacts", {"format": fmt}, page_rows=25,
               progress=cancelled, progress_every=1)
    assert list(tmp_path.iterdir()) == []


# -- S3 ---------------------------------------------------------------------------------------


@pytest.fixture
def s3_files(services: Services, s3: Any, unique_name: str) -> S3ExportFiles:
    e = services.env
    return S3ExportFiles(S3Settings(
        bucket=e["S3_BUCKET"], prefix=f"{unique_name}/landing/", region=e["S3_REGION"],
        endpoint=e["S3_ENDPOINT"], access_key=Secret(e["S3_ACCESS_KEY"]),
        secret_key=Secret(e["S3_SECRET_KEY"]),
    ))


def test_s3_exports_sit_beside_the_landing_prefix_and_download_presigned(
    production: Backend, s3_files: S3ExportFiles, prod_client: testing.TestClient
) -> None:
    assert s3_files.prefix.endswith("/exports/") and "landing" not in s3_files.prefix
    request = parse_export_request("contacts", {**CONTACTS_BODY, "format": "jsonl"})
    export_id = str(uuid.uuid4())
    report = run_export(stores_of(production), s3_files, request, export_id, page_rows=40)
    url = s3_files.presign_get(report.name, 60)
    body = requests.get(url, timeout=10)
    assert body.status_code == 200
    _, rows = read_back(body.content, "jsonl", False)
    assert rows == filter_all(prod_client, "contacts", CONTACTS_BODY)
    assert len(rows) == report.rows_written
    assert s3_files.size(report.name) == report.bytes
    assert s3_files.sweep(-1) == [report.name]  # past the retention: removed
    assert s3_files.size(report.name) is None


def test_a_failed_s3_export_leaves_no_object_and_no_upload(
    embedded: Backend, s3_files: S3ExportFiles
) -> None:
    def fails(progress: Any) -> None:
        raise RuntimeError("boom")

    request = parse_export_request("contacts", {"format": "csv"})
    name = f"{uuid.uuid4()}.csv"
    with pytest.raises(RuntimeError):
        run_export(stores_of(embedded), s3_files, request, name[:-4], page_rows=25,
                   progress=fails, progress_every=1)
    assert s3_files.size(name) is None
    uploads = s3_files.client.list_multipart_uploads(Bucket=s3_files.bucket,
                                                    Prefix=s3_files.prefix)
    assert uploads.get("Uploads", []) == []


def test_the_landing_listing_never_loads_exports(services: Services, s3: Any,
                                                 unique_name: str) -> None:
    """With no landing prefix, exports/ lies inside the listed bucket: it is skipped."""
    import io

    from stores.landing import S3LandingZone, exports_prefix

    e = services.env
    settings = S3Settings(bucket=e["S3_BUCKET"], prefix="", region=e["S3_REGION"],
                          endpoint=e["S3_ENDPOINT"], access_key=Secret(e["S3_ACCESS_KEY"]),
                          secret_key=Secret(e["S3_SECRET_KEY"]))
    assert exports_prefix("") == "exports/"
    assert exports_prefix("data/landing/") == "data/exports/"
    zone = S3LandingZone(settings)
    s3.put_object(Bucket=e["S3_BUCKET"], Key=f"exports/{unique_name}.csv", Body=b"id\n")
    zone.put(f"{unique_name}/in.csv", io.BytesIO(b"id\n"))
    try:
        keys = {f.key for f in zone.list()}
        assert f"{unique_name}/in.csv" in keys
        assert f"exports/{unique_name}.csv" not in keys
    finally:
        s3.delete_object(Bucket=e["S3_BUCKET"], Key=f"exports/{unique_name}.csv")
        s3.delete_object(Bucket=e["S3_BUCKET"], Key=f"{unique_name}/in.csv")

"""The API over real stores: PostgreSQL + OpenSearch (production) and DuckDB (embedded), and
PostgreSQL + the real Elasticsearch 8 node (`elasticsearch8`) when `CONNECTRA_ES=1 make
services` started one (skipped otherwise).

Each backend is loaded once per session with tests/api/dataset.py, in a database and an
index prefix of its own. `client` is parametrized over both profiles; tests that are about
the HTTP layer alone (auth, limits, gzip) use `prod_client` or `make_client` with their own
settings. The jobs client points at a closed port unless a test asks for `dagster`: a real
`dagster-webserver` on workspace.yaml with a DAGSTER_HOME and a CONNECTRA_HOME of its own
(embedded profile: its runs write into a DuckDB file there, so no shared service is touched).
Its dagster.yaml picks the DefaultRunCoordinator, which launches runs at once without a daemon
(and so without the landing sensor, which cannot interfere).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from api.app import ApiDeps, create_app
from api.dagster_jobs import DagsterJobsClient
from stores.base import RecordStore, SearchStore
from stores.errors import StoreError
from stores.landing import LocalLandingZone
from stores.settings import SearchSettings, Secret, Settings
from tests.api.dataset import DATASET
from tests.conftest import Services, fresh_database
from vql.cursor import CursorCodec

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key-0123456789abcdef"
OTHER_KEY = "other-key-fedcba9876543210"
CODEC = CursorCodec(b"connectra-api-test-cursor-secret-0123")
SIGNING_KEY = b"connectra-api-test-upload-signing-key"


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Backend:
    profile: str
    records: RecordStore
    search: SearchStore


def load(records: Any, search: Any, data: Any = DATASET) -> None:
    """The data set's rows into both stores, searchable."""
    companies, contacts, documents = data.tables()
    records.upsert_companies(companies)
    records.upsert_contacts(contacts)
    search.bulk_upsert("companies", companies)
    search.bulk_upsert("contacts", documents)
    search.refresh()


@pytest.fixture(scope="session")
def api_database(services: Services) -> Iterator[str]:
    """A PostgreSQL database of the API tests' own."""
    with fresh_database(services) as url:
        yield url


@pytest.fixture(scope="session")
def search_settings(services: Services, opensearch: Any) -> SearchSettings:
    return SearchSettings(
        host=services.env["ELASTICSEARCH_HOST"],
        port=int(services.env["ELASTICSEARCH_PORT"]),
        engine="opensearch",
    )


@contextmanager
def production_backend(database: str, settings: SearchSettings) -> Iterator[Backend]:
    """PostgreSQL records and a search engine, migrated and loaded with the data set."""
    from stores.postgres import PostgresRecordStore, migrate
    from stores.search import make_search_store

    migrate(database)
    records = PostgresRecordStore(database)
    prefix = f"api{uuid.uuid4().hex[:8]}_"
    search = make_search_store(settings, prefix, cursors=CODEC, replicas=0)
    search.ensure_indices()
    load(records, search)
    try:
        yield Backend("production", records, search)
    finally:
        search.drop_indices()
        search.close()
        records.close()


@pytest.fixture(scope="session")
def production(api_database: str, search_settings: SearchSettings) -> Iterator[Backend]:
    with production_backend(api_database, search_settings) as backend:
        yield backend


@pytest.fixture(scope="session")
def elasticsearch8_backend(
    services: Services, elasticsearch8: tuple[str, int]
) -> Iterator[Backend]:
    """The production profile with the real Elasticsearch 8 node as its search engine."""
    host, port = elasticsearch8
    with fresh_database(services) as database, production_backend(
        database, SearchSettings(host=host, port=port, engine="elasticsearch")
    ) as backend:
        yield backend


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    from stores.duckdb import DuckDBStore

    path = tmp_path_factory.mktemp("duckdb") / "connectra.duckdb"
    store = DuckDBStore(path, cursors=CODEC)
    store.ensure_indices()
    load(store, store)
    yield Backend("embedded", store, store)
    store.close()


@pytest.fixture(params=["production", "embedded"])
def own_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Stores of this test alone (it loads into them), with DATASET loaded as run-1."""
    if request.param == "embedded":
        from stores.duckdb import DuckDBStore

        store = DuckDBStore(tmp_path / "connectra.duckdb", cursors=CODEC)
        store.ensure_indices()
        load(store, store)
        store.mark_loaded("run-1")
        yield Backend("embedded", store, store)
        return
    from stores.postgres import PostgresRecordStore, migrate
    from stores.search import make_search_store

    services: Services = request.getfixturevalue("services")
    settings = request.getfixturevalue("search_settings")
    with fresh_database(services) as url:
        migrate(url)
        records = PostgresRecordStore(url)
        search = make_search_store(settings, f"exp{uuid.uuid4().hex[:8]}_", cursors=CODEC,
                                   replicas=0)
        search.ensure_indices()
        load(records, search)
        records.mark_loaded("run-1")
        try:
            yield Backend("production", records, search)
        finally:
            search.drop_indices()
            search.close()
            records.close()


@pytest.fixture(params=["production", "embedded", "elasticsearch8"])
def backend(request: pytest.FixtureRequest) -> Backend:
    name = "elasticsearch8_backend" if request.param == "elasticsearch8" else request.param
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def api_settings(home: Path, **overrides: Any) -> Settings:
    base = Settings(home=home, api_keys=(Secret(API_KEY), Secret(OTHER_KEY)),
                    max_requests_per_minute=100_000)
    return replace(base, **overrides)


ClientFactory = Callable[..., testing.TestClient]


def deps_for(backend: Backend, home: Path, **overrides: Any) -> ApiDeps:
    """ApiDeps on a backend; keyword overrides go to Settings, or to ApiDeps when they name
    one of its fields."""
    dep_fields = {"records", "search", "landing", "jobs", "cursors", "clock", "signing_key",
                  "pool", "rules", "exports", "export_files"}
    settings = api_settings(home, **{k: v for k, v in overrides.items() if k not in dep_fields})
    deps = ApiDeps(
        settings=settings,
        records=backend.records,
        search=backend.search,
        landing=LocalLandingZone(home / "landing"),
        jobs=DagsterJobsClient("127.0.0.1", free_port(), timeout_seconds=2),
        cursors=CODEC,
        signing_key=SIGNING_KEY,
    )
    return replace(deps, **{k: v for k, v in overrides.items() if k in dep_fields})


@pytest.fixture
def make_client(tmp_path: Path, production: Backend) -> ClientFactory:
    """A client on the production stores with settings / deps of the test's choosing."""

    def build(backend: Backend | None = None, **overrides: Any) -> testing.TestClient:
        deps = deps_for(backend or production, tmp_path, **overrides)
        return testing.TestClient(create_app(deps), headers={"X-API-Key": API_KEY})

    return build


@pytest.fixture
def client(backend: Backend, tmp_path: Path) -> testing.TestClient:
    return testing.TestClient(
        create_app(deps_for(backend, tmp_path)), headers={"X-API-Key": API_KEY}
    )


@pytest.fixture
def prod_client(make_client: ClientFactory) -> testing.TestClient:
    return make_client()


# -- a real Dagster ---------------------------------------------------------------------------


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


@pytest.fixture(scope="session")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dagster]:
    with start_dagster(tmp_path_factory.mktemp("connectra-home")) as started:
        yield started


@contextmanager
def start_dagster(home: Path, **variables: str) -> Iterator[Dagster]:
    """A dagster-webserver on workspace.yaml, CONNECTRA_HOME = home (embedded profile
    unless `variables` name the production services)."""
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n"
        "  class: DefaultRunCoordinator\ntelemetry:\n  enabled: false\n"
    )
    port = free_port()
    log = (home / "webserver.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env={**_dagster_env(home), **variables}, stdout=log,
        stderr=subprocess.STDOUT,
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

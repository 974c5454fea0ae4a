"""Fixtures of the reliability suite: the real services of `make services`, each reachable
through a fault-injecting TCP proxy (tests/reliability/faults.py) that a test can stop,
restart on the same port, or freeze.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from api.app import ApiDeps
from api.dagster_jobs import DagsterJobsClient
from stores.landing import LocalLandingZone
from stores.postgres import PostgresRecordStore, migrate
from stores.search import SearchEngineStore
from stores.search.bulk import BulkOptions
from stores.settings import SearchSettings
from tests.api.conftest import SIGNING_KEY, Backend, api_settings, free_port
from tests.api.conftest import load as load_dataset
from tests.conftest import Services, fresh_database, need
from tests.reliability.faults import TcpProxy
from vql.cursor import CursorCodec

CODEC = CursorCodec(b"connectra-reliability-cursor-secret-01")
# Fewer, shorter bulk retries than production (6 attempts, 0.5 s doubling): a test that
# cuts the engine would otherwise wait ~15 s for the retries to give up.
QUICK_BULK = BulkOptions(max_attempts=3, backoff_seconds=0.1)


def via(url: str, port: int) -> str:
    """The database URL with its port replaced (pointing at a proxy)."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@pytest.fixture
def database(services: Services) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of the test's own; yields its direct URL."""
    with fresh_database(services) as url:
        migrate(url)
        yield url


@pytest.fixture
def search_proxy(services: Services, opensearch: Any) -> Iterator[TcpProxy]:
    proxy = TcpProxy(services.env["ELASTICSEARCH_HOST"], int(services.env["ELASTICSEARCH_PORT"]))
    with proxy:
        yield proxy


@pytest.fixture
def pg_proxy(services: Services) -> Iterator[TcpProxy]:
    need("PostgreSQL", lambda: psycopg.connect(services.pg_admin_url, connect_timeout=5).close())
    proxy = TcpProxy(services.env["PG_DB_HOST"], int(services.env["PG_DB_PORT"]))
    with proxy:
        yield proxy


def search_store(
    port: int, prefix: str, *, timeout_seconds: float = 10.0, **settings: Any
) -> SearchEngineStore:
    return SearchEngineStore(
        SearchSettings(host="127.0.0.1", port=port, engine="opensearch", **settings),
        prefix,
        cursors=CODEC,
        replicas=0,
        timeout_seconds=timeout_seconds,
        bulk_options=QUICK_BULK,
    )


@dataclass
class Proxied:
    """Production stores whose every connection goes through a proxy."""

    records: PostgresRecordStore
    search: SearchEngineStore
    pg: TcpProxy
    engine: TcpProxy
    database: str  # the direct URL, for checks that must not go through a proxy


@pytest.fixture
def proxied(database: str, pg_proxy: TcpProxy, search_proxy: TcpProxy) -> Iterator[Proxied]:
    prefix = f"rel{uuid.uuid4().hex[:8]}_"
    records = PostgresRecordStore(via(database, pg_proxy.port), connect_timeout_s=3)
    search = search_store(search_proxy.port, prefix)
    search.ensure_indices()
    yield Proxied(records, search, pg_proxy, search_proxy, database)
    pg_proxy.restore()
    search_proxy.restore()
    search.drop_indices()
    search.close()
    records.close()


def deps(home: Path, records: Any, search: Any, **settings: Any) -> ApiDeps:
    """ApiDeps on given stores, with the API tests' keys; no Dagster behind the jobs client
    (its port is closed), so /health's dagster check is always down here."""
    return ApiDeps(
        settings=api_settings(home, **settings),
        records=records,
        search=search,
        landing=LocalLandingZone(home / "landing"),
        jobs=DagsterJobsClient("127.0.0.1", free_port(), timeout_seconds=2),
        cursors=CODEC,
        signing_key=SIGNING_KEY,
    )


# -- both profiles on the hostile dataset (access and fuzz tests) -----------------------------


@pytest.fixture(scope="session")
def hostile_production(services: Services, opensearch: Any) -> Iterator[Backend]:
    from tests.reliability.hostile_data import HOSTILE

    with fresh_database(services) as url:
        migrate(url)
        records = PostgresRecordStore(url)
        search = SearchEngineStore(
            SearchSettings(host=services.env["ELASTICSEARCH_HOST"],
                           port=int(services.env["ELASTICSEARCH_PORT"]), engine="opensearch"),
            f"relh{uuid.uuid4().hex[:8]}_", cursors=CODEC, replicas=0,
        )
        search.ensure_indices()
        load_dataset(records, search, HOSTILE)
        yield Backend("production", records, search)
        search.drop_indices()
        search.close()
        records.close()


@pytest.fixture(scope="session")
def hostile_embedded(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    from stores.duckdb import DuckDBStore
    from tests.reliability.hostile_data import HOSTILE

    store = DuckDBStore(tmp_path_factory.mktemp("hostile") / "connectra.duckdb", cursors=CODEC)
    store.ensure_indices()
    load_dataset(store, store, HOSTILE)
    return Backend("embedded", store, store)


@pytest.fixture(params=["production", "embedded"])
def hostile(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"hostile_{request.param}")  # type: ignore[no-any-return]

"""Faults during queries, on a real waitress server: a backend that dies or hangs gives 503
(504 past its timeout) in the one error shape, without internal detail, within the timeout;
/health says degraded; and the same server answers 200 again once the backend is back.

PostgreSQL and OpenSearch sit behind fault-injecting TCP proxies (faults.py); the embedded
store is faulted by another process holding its DuckDB file, as a long load would.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from api.app import create_app
from stores.duckdb import DuckDBStore
from stores.duckdb.access import Timing
from stores.postgres import PostgresRecordStore, migrate
from tests.api.conftest import API_KEY, load
from tests.api.dataset import DESIGN_EXAMPLE
from tests.conftest import Services, fresh_database, serving
from tests.reliability.conftest import CODEC, deps, search_store, via
from tests.reliability.faults import TcpProxy, wait_until

pytestmark = pytest.mark.services
HEADERS = {"X-API-Key": API_KEY}
SEARCH_TIMEOUT_S = 2.0  # the search store's client timeout in this app (production: 30 s)
STATEMENT_TIMEOUT_S = 3.0  # PostgreSQL's statement_timeout here (production: 30 s)
CONNECT_TIMEOUT_S = 3
MARGIN_S = 2.5  # request overhead on a busy 2-core machine
FILTER = ("/contacts/filter", DESIGN_EXAMPLE)
COUNT = ("/contacts/count", {"where": DESIGN_EXAMPLE["where"]})
VALUES = ("/common/filters/contacts/data", {"filter_key": "company_industries",
                                            "search_text": "soft", "limit": 5})
COMPANIES = ("/companies/filter", {"limit": 5})
FACETS = ("/contacts/facets", {"where": DESIGN_EXAMPLE["where"], "facets": [
    {"field": "seniority"}, {"field": "created_at", "interval": "month"}]})
EXPLAIN = ("/contacts/explain", {"where": {"keyword_match": {"must": {"city": "berln"}}}})


@dataclass
class Stack:
    url: str
    pg: TcpProxy
    engine: TcpProxy
    hidden: tuple[str, ...]  # what an error body must never show

    def post(self, call: tuple[str, Any], timeout: float = 30) -> tuple[requests.Response, float]:
        started = time.monotonic()
        response = requests.post(self.url + call[0], json=call[1], headers=HEADERS,
                                 timeout=timeout)
        return response, time.monotonic() - started

    def health(self) -> dict[str, Any]:
        response = requests.get(self.url + "/health", timeout=10)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def stack(
    services: Services, opensearch: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    env = services.env
    with (
        fresh_database(services) as database,
        TcpProxy(env["PG_DB_HOST"], int(env["PG_DB_PORT"])) as pg,
        TcpProxy(env["ELASTICSEARCH_HOST"], int(env["ELASTICSEARCH_PORT"])) as engine,
    ):
        migrate(database)
        records = PostgresRecordStore(
            via(database, pg.port), connect_timeout_s=CONNECT_TIMEOUT_S,
            statement_timeout_s=STATEMENT_TIMEOUT_S,
        )
        prefix = f"relq{uuid.uuid4().hex[:8]}_"
        search = search_store(engine.port, prefix, timeout_seconds=SEARCH_TIMEOUT_S)
        search.ensure_indices()
        load(records, search)
        app = create_app(deps(tmp_path_factory.mktemp("api"), records, search))
        hidden = (
            "127.0.0.1", str(pg.port), str(engine.port), env["PG_DB_PORT"],
            env["ELASTICSEARCH_PORT"], database.rsplit("/", 1)[1], prefix, env["PG_DB_PASSWORD"],
            "Traceback", "psycopg", "sqlalchemy", "urllib3", "refused", "Error(",
        )
        with serving(app) as url:
            yield Stack(url, pg, engine, hidden)
        pg.restore()
        engine.restore()
        search.drop_indices()
        search.close()
        records.close()


@pytest.fixture
def healthy(stack: Stack) -> Iterator[Stack]:
    """The stack with both backends up before and after the test."""
    stack.pg.restore()
    stack.engine.restore()
    assert stack.post(FILTER)[0].status_code == 200
    yield stack
    stack.pg.restore()
    stack.engine.restore()


def assert_backend_error(stack: Stack, response: requests.Response, status: int,
                         backend: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    code = "backend_unavailable" if status == 503 else "backend_timeout"
    assert body["error"]["code"] == code
    assert backend in body["error"]["message"]
    for secret in stack.hidden:
        assert secret not in response.text, f"{secret!r} leaks into {response.text}"
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0


def assert_recovers(stack: Stack, calls: list[tuple[str, Any]], check: str) -> None:
    """The first request after the backend's return already succeeds: no restart, no
    warm-up failures."""
    for call in calls:
        response, _ = stack.post(call)
        assert response.status_code == 200, response.text
    assert stack.post(FILTER)[0].json()["total"] > 0
    assert stack.health()["checks"][check]["status"] == "ok"


def test_postgres_down_is_503_then_recovers_by_itself(healthy: Stack) -> None:
    stack = healthy
    stack.pg.stop()
    for call in (FILTER, COMPANIES):
        response, took = stack.post(call)
        assert_backend_error(stack, response, 503, "postgres")
        assert took < CONNECT_TIMEOUT_S + MARGIN_S
    # What needs no records still answers: counts, value lists, facets and explanations
    # come from the engine.
    for call in (COUNT, VALUES, FACETS, EXPLAIN):
        assert stack.post(call)[0].status_code == 200
    health = stack.health()
    assert health["status"] == "degraded"
    assert health["checks"]["postgres"]["status"] == "down"
    assert health["checks"]["search"]["status"] == "ok"

    stack.pg.start()
    assert_recovers(stack, [FILTER, COMPANIES], "postgres")


def test_search_engine_down_is_503_then_recovers_by_itself(healthy: Stack) -> None:
    stack = healthy
    stack.engine.stop()
    for call in (FILTER, COUNT, VALUES, COMPANIES, FACETS, EXPLAIN):
        response, took = stack.post(call)
        assert_backend_error(stack, response, 503, "opensearch")
        assert took < SEARCH_TIMEOUT_S + MARGIN_S
    health = stack.health()
    assert health["status"] == "degraded"
    assert health["checks"]["search"]["status"] == "down"
    assert health["checks"]["postgres"]["status"] == "ok"

    stack.engine.start()
    assert_recovers(stack, [FILTER, COUNT, VALUES, COMPANIES, FACETS, EXPLAIN], "search")


def test_search_engine_hanging_is_504_past_its_timeout_then_recovers(healthy: Stack) -> None:
    stack = healthy
    stack.engine.freeze()
    response, took = stack.post(FILTER)
    assert_backend_error(stack, response, 504, "opensearch")
    assert SEARCH_TIMEOUT_S - 0.5 < took < SEARCH_TIMEOUT_S + MARGIN_S
    started = time.monotonic()
    health = stack.health()
    assert time.monotonic() - started < 3.0 + MARGIN_S  # health's own deadline
    assert health["status"] == "degraded" and health["checks"]["search"]["status"] == "down"

    stack.engine.thaw()
    assert_recovers(stack, [FILTER, COUNT], "search")


def test_postgres_hanging_is_a_5xx_within_its_timeout(healthy: Stack) -> None:
    stack = healthy
    stack.pg.freeze()
    try:
        limit = STATEMENT_TIMEOUT_S + MARGIN_S  # a client-side deadline past statement_timeout
        response, took = stack.post(FILTER, timeout=limit)
        assert response.status_code in (503, 504)
        assert took < limit
    finally:
        stack.pg.thaw()  # lets the stuck request finish


# -- the embedded store, its file held by another process -------------------------------------

HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: no other process may even read the file
print("locked", flush=True)
sys.stdin.read()
con.close()
"""


@pytest.fixture(scope="module")
def embedded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("embedded")
    path = home / "connectra.duckdb"
    store = DuckDBStore(path, cursors=CODEC, timing=Timing(read_deadline_s=1.0))
    store.ensure_indices()
    load(store, store)
    with serving(create_app(deps(home, store, store))) as url:
        yield url, path


def test_duckdb_file_held_past_the_read_deadline_is_503_then_recovers(
    embedded_url: tuple[str, Path],
) -> None:
    url, path = embedded_url
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for call in (FACETS, EXPLAIN):
            answer = requests.post(url + call[0], json=call[1], headers=HEADERS, timeout=30)
            assert answer.status_code == 503, answer.text
        started = time.monotonic()
        response = requests.post(url + FILTER[0], json=FILTER[1], headers=HEADERS, timeout=30)
        took = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "backend_unavailable"
        assert "duckdb" in response.json()["error"]["message"] and str(path) not in response.text
        assert took < 1.0 + MARGIN_S
        health = requests.get(url + "/health", timeout=10).json()
        assert health["status"] == "degraded"
        assert health["checks"]["postgres"]["status"] == "down"  # the record store's check
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    assert wait_until(lambda: not _held(path), timeout=5)
    response = requests.post(url + FILTER[0], json=FILTER[1], headers=HEADERS, timeout=30)
    assert response.status_code == 200 and response.json()["total"] > 0
    health = requests.get(url + "/health", timeout=10).json()
    assert health["checks"]["postgres"]["status"] == "ok"


def _held(path: Path) -> bool:
    import duckdb

    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException:
        return True
    return False

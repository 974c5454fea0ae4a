"""Every failure in the one JSON shape: routing errors, backend outages, crashes."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from stores.postgres import PostgresRecordStore
from stores.search import SearchEngineStore
from stores.settings import SearchSettings
from tests.api.conftest import Backend, ClientFactory, free_port
from tests.api.dataset import DESIGN_EXAMPLE
from tests.conftest import Services, fresh_database

pytestmark = pytest.mark.services


def assert_error(result: testing.Result, status: int, code: str) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.headers["Content-Type"].startswith("application/json")
    assert set(result.json) == {"error"}
    error: dict[str, Any] = result.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"]
    assert "Traceback" not in result.text
    assert "X-RateLimit-Limit" in result.headers and "X-Request-Id" in result.headers
    return error


def test_unknown_routes_and_wrong_methods(prod_client: testing.TestClient) -> None:
    assert_error(prod_client.simulate_get("/contacts"), 404, "not_found")
    assert_error(prod_client.simulate_get("/common/jobs/x/y"), 404, "not_found")
    wrong = prod_client.simulate_get("/contacts/filter")
    assert_error(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["Allow"]
    assert_error(prod_client.simulate_delete("/health"), 405, "method_not_allowed")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


def test_records_store_down_is_503(make_client: ClientFactory, production: Backend) -> None:
    down = PostgresRecordStore(
        f"postgresql://connectra:secret-pw@127.0.0.1:{free_port()}/nowhere", connect_timeout_s=2
    )
    client = make_client(records=down)
    result = client.simulate_post("/contacts/filter", json=DESIGN_EXAMPLE)
    error = assert_error(result, 503, "backend_unavailable")
    assert "postgres" in error["message"] and "secret-pw" not in result.text
    assert result.headers["Retry-After"]
    health = client.simulate_get("/health").json
    assert health["status"] == "degraded"
    assert health["checks"]["postgres"]["status"] == "down"
    assert health["checks"]["postgres"]["reason"] == "unreachable"
    down.close()


def test_search_store_down_is_503(make_client: ClientFactory) -> None:
    settings = SearchSettings("127.0.0.1", free_port(), engine="opensearch")
    client = make_client(search=SearchEngineStore(settings, "x_", timeout_seconds=2))
    for result in (
        client.simulate_post("/contacts/filter", json={}),
        client.simulate_post("/companies/count", json={}),
        client.simulate_post("/common/filters/contacts/data", json={"filter_key": "country"}),
    ):
        assert_error(result, 503, "backend_unavailable")


def test_search_store_timeout_is_504(make_client: ClientFactory, silent_port: int) -> None:
    settings = SearchSettings("127.0.0.1", silent_port, engine="opensearch")
    client = make_client(search=SearchEngineStore(settings, "x_", timeout_seconds=1))
    assert_error(client.simulate_post("/contacts/count", json={}), 504, "backend_timeout")


class CrashingRecords:
    """A record store with a bug: the API must not show what it says."""

    def fetch(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("password=hunter2 at /srv/secret/path.py line 3")

    def ping(self) -> None:
        raise RuntimeError("boom")


def test_unexpected_errors_are_a_generic_500_logged_with_the_request_id(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(records=CrashingRecords())
    with caplog.at_level(logging.ERROR, logger="connectra.api"):
        result = client.simulate_post(
            "/contacts/filter", json={}, headers={"X-Request-Id": "req-500"}
        )
    error = assert_error(result, 500, "internal_error")
    assert "hunter2" not in result.text and "secret" not in result.text
    assert "X-Request-Id" in error["message"]
    assert result.headers["X-Request-Id"] == "req-500"
    logged = [r for r in caplog.records if r.name == "connectra.api" and r.exc_info]
    assert logged and "req-500" in logged[0].getMessage()
    health = client.simulate_get("/health").json
    assert health["checks"]["postgres"]["status"] == "down"
    assert health["checks"]["postgres"]["reason"] == "error"


# -- backend states: a 503 that says what is wrong, never a 500 ------------------------------


def test_a_missing_search_index_is_503_index_missing_and_health_says_degraded(
    make_client: ClientFactory, search_settings: SearchSettings, unique_name: str
) -> None:
    """The node lost its data (or the indices were never created): every search route says
    so with a 503 and Retry-After, and /health reports the search check degraded."""
    lost = SearchEngineStore(search_settings, f"{unique_name}_lost_", timeout_seconds=5)
    client = make_client(search=lost)
    for result in (
        client.simulate_post("/contacts/filter", json=DESIGN_EXAMPLE),
        client.simulate_post("/companies/count", json={}),
        client.simulate_post("/common/filters/contacts/data", json={"filter_key": "country"}),
    ):
        error = assert_error(result, 503, "index_missing")
        assert "connectra reindex" in error["message"]
        assert result.headers["Retry-After"] == "30"
    health = client.simulate_get("/health").json
    assert health["status"] == "degraded"
    assert health["checks"]["search"] == {
        "backend": health["checks"]["search"]["backend"], "status": "degraded",
        "reason": "index_missing",
    }  # fmt: skip
    lost.close()


def test_postgres_refusing_the_credentials_is_503_misconfigured(
    make_client: ClientFactory, services: Services
) -> None:
    e = services.env
    refused = PostgresRecordStore(
        f"postgresql://{e['PG_DB_USERNAME']}:wrong-pw-123@{e['PG_DB_HOST']}:{e['PG_DB_PORT']}"
        "/postgres",
        connect_timeout_s=5,
    )
    client = make_client(records=refused)
    result = client.simulate_post("/contacts/filter", json=DESIGN_EXAMPLE)
    error = assert_error(result, 503, "backend_misconfigured")
    assert "postgres" in error["message"] and "wrong-pw-123" not in result.text
    assert "Retry-After" not in result.headers  # waiting does not fix a configuration
    health = client.simulate_get("/health").json
    assert health["checks"]["postgres"] == {
        "backend": health["checks"]["postgres"]["backend"], "status": "down",
        "reason": "misconfigured",
    }  # fmt: skip
    refused.close()


def test_a_database_that_was_never_migrated_is_503_misconfigured(
    make_client: ClientFactory, services: Services
) -> None:
    with fresh_database(services) as url:
        bare = PostgresRecordStore(url)
        try:
            client = make_client(records=bare)
            result = client.simulate_post("/contacts/filter", json=DESIGN_EXAMPLE)
            assert_error(result, 503, "backend_misconfigured")
        finally:
            bare.close()


def test_an_embedded_file_without_the_schema_is_503_misconfigured(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    import duckdb

    from stores.duckdb import DuckDBStore

    path = tmp_path / "bare.duckdb"
    duckdb.connect(str(path)).close()  # a DuckDB file, but no Connectra schema in it
    bare = DuckDBStore(path)
    try:
        client = make_client(Backend("embedded", bare, bare))
        for result in (
            client.simulate_post("/contacts/filter", json={}),
            client.simulate_post("/companies/count", json={}),
        ):
            assert_error(result, 503, "backend_misconfigured")
        health = client.simulate_get("/health").json
        assert health["checks"]["postgres"]["reason"] == "misconfigured"
    finally:
        bare.close()


def test_a_landing_bucket_that_does_not_exist_is_misconfigured_in_health(
    make_client: ClientFactory, services: Services, s3: Any, unique_name: str
) -> None:
    from stores.landing import S3LandingZone
    from stores.settings import S3Settings, Secret

    e = services.env
    settings = S3Settings(
        bucket=f"{unique_name}-missing", prefix="landing/", endpoint=e["S3_ENDPOINT"],
        region=e["S3_REGION"], access_key=Secret(e["S3_ACCESS_KEY"]),
        secret_key=Secret(e["S3_SECRET_KEY"]),
    )  # fmt: skip
    client = make_client(landing=S3LandingZone(settings))
    health = client.simulate_get("/health").json
    assert health["checks"]["landing"]["status"] == "down"
    assert health["checks"]["landing"]["reason"] == "misconfigured"

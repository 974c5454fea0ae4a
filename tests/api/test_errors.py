"""Every failure in the one JSON shape: routing errors, backend outages, crashes."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from falcon import testing

from stores.postgres import PostgresRecordStore
from stores.search import SearchEngineStore
from stores.settings import SearchSettings
from tests.api.conftest import Backend, ClientFactory, free_port
from tests.api.dataset import DESIGN_EXAMPLE

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

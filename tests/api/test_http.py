"""The HTTP layer: keys, rate limits, body limits, gzip, CORS, request ids and access logs."""

from __future__ import annotations

import gzip
import json
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from falcon import testing

from api.middleware import accepts_gzip, key_fingerprint
from tests.api.conftest import API_KEY, OTHER_KEY, ClientFactory

pytestmark = pytest.mark.services
CHEAP = "/common/filters/contacts"  # answered without a backend


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


# -- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "wrong"},
        {"X-API-Key": API_KEY[:-1]},  # almost right: one character short
        {"X-API-Key": API_KEY[:-1] + "g"},  # almost right: last character differs
        {"X-API-Key": API_KEY + "0"},  # one character too many
        {"X-API-Key": API_KEY.upper()},
        {"Authorization": f"Bearer {API_KEY}"},
    ],
)
def test_requests_without_a_valid_key_get_401(
    make_client: ClientFactory, headers: dict[str, str]
) -> None:
    client = testing.TestClient(make_client().app)  # no default key header
    for result in (
        client.simulate_get(CHEAP, headers=headers),
        client.simulate_post("/contacts/filter", json={}, headers=headers),
        client.simulate_get("/openapi.json", headers=headers),
        client.simulate_get("/no/such/route", headers=headers),
    ):
        assert result.status_code == 401
        assert result.json["error"]["code"] == "unauthorized"
        assert "X-RateLimit-Limit" in result.headers


def test_each_configured_key_is_accepted_and_health_needs_none(
    make_client: ClientFactory,
) -> None:
    client = testing.TestClient(make_client().app)
    for key in (API_KEY, OTHER_KEY):
        assert client.simulate_get(CHEAP, headers={"X-API-Key": key}).status_code == 200
    health = client.simulate_get("/health")
    assert health.status_code == 200
    assert health.json["status"] == "degraded"  # no Dagster in this test
    assert health.json["checks"]["postgres"]["status"] == "ok"
    assert health.json["checks"]["search"]["status"] == "ok"
    assert health.json["checks"]["landing"]["status"] == "ok"
    assert health.json["checks"]["dagster"] == {
        "backend": "dagster", "status": "down", "reason": "unreachable"
    }


def test_no_configured_key_means_every_request_is_refused(make_client: ClientFactory) -> None:
    client = make_client(api_keys=())
    assert client.simulate_get(CHEAP, headers={"X-API-Key": ""}).status_code == 401
    assert client.simulate_get(CHEAP).status_code == 401


# -- rate limits --------------------------------------------------------------------------------


def test_the_bucket_empties_then_refills(make_client: ClientFactory) -> None:
    clock = FakeClock()
    client = make_client(max_requests_per_minute=6, clock=clock)
    remaining = []
    for _ in range(6):
        result = client.simulate_get(CHEAP)
        assert result.status_code == 200
        assert result.headers["X-RateLimit-Limit"] == "6"
        remaining.append(int(result.headers["X-RateLimit-Remaining"]))
    assert remaining == [5, 4, 3, 2, 1, 0]
    refused = client.simulate_get(CHEAP)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "10"  # 6 a minute: one token every 10 s
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    clock.advance(9.5)
    assert client.simulate_get(CHEAP).status_code == 429
    clock.advance(0.5)
    assert client.simulate_get(CHEAP).status_code == 200


def test_concurrent_requests_on_one_key_get_exactly_the_allowance(
    make_client: ClientFactory,
) -> None:
    client = make_client(max_requests_per_minute=40, clock=FakeClock())

    def call(_: int) -> int:
        return client.simulate_get(CHEAP).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = Counter(pool.map(call, range(120)))
    assert statuses == {200: 40, 429: 80}


def test_each_key_has_its_own_bucket(make_client: ClientFactory) -> None:
    client = make_client(max_requests_per_minute=3, clock=FakeClock())
    for _ in range(3):
        assert client.simulate_get(CHEAP).status_code == 200
    assert client.simulate_get(CHEAP).status_code == 429
    other = client.simulate_get(CHEAP, headers={"X-API-Key": OTHER_KEY})
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "2"
    # Callers without a valid key share their address's bucket, apart from the keys'.
    anonymous = client.simulate_get("/health", headers={"X-API-Key": ""})
    assert anonymous.status_code == 200
    assert anonymous.headers["X-RateLimit-Remaining"] == "2"


# -- bodies -------------------------------------------------------------------------------------


def test_bodies_over_one_mib_get_413(prod_client: testing.TestClient) -> None:
    big = b'{"where": null, "pad": "' + b"x" * (1 << 20) + b'"}'
    result = prod_client.simulate_post("/contacts/filter", body=big)
    assert result.status_code == 413
    assert result.json["error"]["code"] == "payload_too_large"
    assert "X-RateLimit-Remaining" in result.headers
    # Just under the limit is read (and then refused as VQL, not as too large).
    fits = b'{"pad": "' + b"x" * ((1 << 20) - 20) + b'"}'
    assert len(fits) <= 1 << 20
    assert prod_client.simulate_post("/contacts/filter", body=fits).status_code == 400


# -- gzip ---------------------------------------------------------------------------------------


def test_gzip_when_accepted_and_worth_it(prod_client: testing.TestClient) -> None:
    plain = prod_client.simulate_get("/openapi.json")
    assert "Content-Encoding" not in plain.headers
    zipped = prod_client.simulate_get("/openapi.json", headers={"Accept-Encoding": "br, gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.content) < len(plain.content)
    assert json.loads(gzip.decompress(zipped.content)) == plain.json
    refused = prod_client.simulate_get("/openapi.json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    small = prod_client.simulate_post(
        "/companies/count", json={}, headers={"Accept-Encoding": "gzip"}
    )
    assert "Content-Encoding" not in small.headers and "count" in small.json
    error = prod_client.simulate_post(
        "/contacts/filter", json={"where": {"x" * 2000: 1}}, headers={"Accept-Encoding": "gzip"}
    )
    assert error.status_code == 400 and error.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(error.content))["error"]["code"] == "invalid_vql"


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, False), ("", False), ("gzip", True), ("GZIP;q=0.5", True), ("gzip;q=0", False),
     ("*", True), ("*;q=0", False), ("deflate, br", False), ("*, gzip;q=0", False),
     ("gzip;q=abc", False), ("identity, x-gzip", True)],
)
def test_accept_encoding_parsing(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


# -- CORS ---------------------------------------------------------------------------------------


def test_cors_for_configured_origins_with_preflight(make_client: ClientFactory) -> None:
    client = make_client(cors_origins=("https://app.example",))
    allowed = client.simulate_get(CHEAP, headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-RateLimit-Remaining" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.simulate_get(CHEAP, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = testing.TestClient(client.app).simulate_options(
        "/contacts/filter",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "x-api-key, content-type"
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_no_cors_headers_unless_configured(prod_client: testing.TestClient) -> None:
    result = prod_client.simulate_get(CHEAP, headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in result.headers


# -- request ids and access logs ----------------------------------------------------------------


def test_request_ids_are_echoed_or_generated(prod_client: testing.TestClient) -> None:
    echoed = prod_client.simulate_get(CHEAP, headers={"X-Request-Id": "trace-42.a:b"})
    assert echoed.headers["X-Request-Id"] == "trace-42.a:b"
    for odd in ("has spaces", "x" * 200, "<script>"):
        generated = prod_client.simulate_get(CHEAP, headers={"X-Request-Id": odd})
        assert generated.headers["X-Request-Id"] != odd
        assert len(generated.headers["X-Request-Id"]) == 32


def test_access_log_lines_are_json_without_secrets(
    prod_client: testing.TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="connectra.api.access"):
        prod_client.simulate_post("/contacts/count", json={}, headers={"X-Request-Id": "r-1"})
        prod_client.simulate_get(CHEAP, headers={"X-API-Key": "not-the-key"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "connectra.api.access"]
    assert len(lines) == 2
    first, second = lines
    assert first["method"] == "POST" and first["path"] == "/contacts/count"
    assert first["status"] == 200 and first["request_id"] == "r-1"
    assert first["key"] == key_fingerprint(API_KEY) and isinstance(first["ms"], float)
    assert second["status"] == 401 and second["key"] is None
    assert API_KEY not in caplog.text and "not-the-key" not in caplog.text

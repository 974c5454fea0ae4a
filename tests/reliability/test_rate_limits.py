"""429s appear exactly when a caller exceeds its bucket, on a real waitress server and the
real clock: a burst on one key gets the bucket's allowance (plus what refilled meanwhile)
and 429s for the rest; another key, and callers without a valid key, have buckets of their
own. (The sustained-load test sets the limit high and sees no 429 at all.)
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from api.app import create_app
from stores.duckdb import DuckDBStore
from tests.api.conftest import API_KEY, OTHER_KEY
from tests.conftest import serving
from tests.reliability.conftest import CODEC, deps

PER_MINUTE = 20
CHEAP = "/common/filters/contacts"  # no store behind it: the limiter is all that is measured


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    store = DuckDBStore(tmp_path / "connectra.duckdb", cursors=CODEC)
    app = create_app(deps(tmp_path, store, store, max_requests_per_minute=PER_MINUTE))
    with serving(app) as base:
        yield base


def burst(url: str, key: str, n: int, threads: int = 8) -> tuple[list[requests.Response], float]:
    started = time.monotonic()

    def one(_: int) -> requests.Response:
        return requests.get(url + CHEAP, headers={"X-API-Key": key}, timeout=30)

    with ThreadPoolExecutor(threads) as pool:
        responses = list(pool.map(one, range(n)))
    return responses, time.monotonic() - started


def allowance(elapsed: float) -> int:
    """The bucket's size plus the tokens that came back while the burst ran."""
    return PER_MINUTE + math.ceil(elapsed * PER_MINUTE / 60)


def test_a_burst_gets_exactly_its_bucket_then_429(url: str) -> None:
    responses, elapsed = burst(url, API_KEY, 2 * PER_MINUTE)
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) == {200, 429}, statuses
    assert PER_MINUTE <= statuses[200] <= allowance(elapsed), (statuses, elapsed)
    for response in responses:
        assert response.headers["X-RateLimit-Limit"] == str(PER_MINUTE)
        if response.status_code == 429:
            assert response.headers["X-RateLimit-Remaining"] == "0"
            assert 1 <= int(response.headers["Retry-After"]) <= 60 // PER_MINUTE + 1
            assert response.json()["error"]["code"] == "rate_limited"

    # Another key is untouched by the first one's exhaustion.
    other, _ = burst(url, OTHER_KEY, PER_MINUTE // 2, threads=4)
    assert {r.status_code for r in other} == {200}

    # After Retry-After, the exhausted key gets a token back (and only about one).
    wait = max(int(r.headers.get("Retry-After", "0")) for r in responses)
    time.sleep(wait + 0.2)
    again, elapsed = burst(url, API_KEY, 4, threads=1)
    assert 1 <= sum(r.status_code == 200 for r in again) <= 1 + math.ceil(
        (wait + 0.2 + elapsed) * PER_MINUTE / 60
    )


def test_guessing_keys_is_throttled_per_client_address_not_per_key(url: str) -> None:
    responses, elapsed = burst(url, "wrong-key", 2 * PER_MINUTE)
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) == {401, 429}, statuses
    assert PER_MINUTE <= statuses[401] <= allowance(elapsed)
    # The address's bucket is spent, yet a valid key has its own.
    assert requests.get(url + CHEAP, headers={"X-API-Key": API_KEY}, timeout=10).status_code == 200

"""The API under sustained concurrent load, as deployed: `connectra api` (waitress, 8
threads) in a process of its own, on each profile, with 32 client threads sending the mix
of typical queries for RELIABILITY_LOAD_SECONDS (default 60) after a warm-up.

Promises checked: no 5xx (no non-200 at all: every query in the mix is valid and the rate
limit is set high, so a 429 would be a bug too); the server's thread count is back to its
idle value afterwards; its resident memory reaches a plateau: measured idle after the
warm-up, half-way and at the end, the second half adds at most PLATEAU_GROWTH (a leak grows
as much in the second half as in the first; the embedded profile's DuckDB caches fill over
the first minute or two, then stay). The figures (requests, latency percentiles, RSS,
threads) are printed for RELIABILITY.md.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from assets.loading import load_file
from orchestration.sample_data import write_sample_files
from stores.factory import open_stores
from stores.landing import LocalLandingZone
from stores.settings import settings_from_mapping
from tests.api.conftest import free_port
from tests.conftest import Services, fresh_database
from tests.reliability.faults import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.services]
CLIENTS = 32
LOAD_SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "60"))
WARMUP_SECONDS = 20.0
SAMPLE_ROWS = 20_000
KEY = "load/contacts.csv"
API_KEY = "reliability-load-key-0123456789"
MAX_RSS_GROWTH = 0.30  # of the warmed-up resident size, caches and allocator arenas filling
PLATEAU_GROWTH = 0.06  # in the second half of the run, when that filling is done
MIN_RSS_SLACK = 16 << 20

WHERE_ENGINEERS = {
    "text_matches": {"must": [{"filter_key": "title", "text_value": "engineer",
                               "search_type": "shuffle"}]},
    "keyword_match": {"must": {"country": ["united states", "germany"]}},
}
MIX: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/contacts/filter", {"limit": 25}),
    ("POST", "/contacts/filter", {"where": WHERE_ENGINEERS,
                                  "company_config": {"populate": True}}),
    ("POST", "/contacts/filter", {
        "where": {"keyword_match": {"must": {"seniority": ["senior", "manager"]}},
                  "range_query": {"must": {"company_employees_count": {"gte": 50,
                                                                       "lte": 5000}}}},
        "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
        "select_columns": ["id", "full_name", "email", "title"], "limit": 50}),
    ("POST", "/contacts/filter", {"where": {"text_matches": {"must": [
        {"filter_key": "email", "text_value": "solutions", "search_type": "substring"}]}},
        "page": 3, "limit": 20}),
    ("POST", "/contacts/filter", {"where": {"text_matches": {"must": [
        {"filter_key": "title", "text_value": "Sales Enginer", "search_type": "shuffle",
         "fuzzy": True}]}}}),
    ("POST", "/contacts/count", {"where": WHERE_ENGINEERS}),
    ("POST", "/contacts/count", {"where": {"keyword_match": {"must_not": {"country":
                                                                          "united states"}}}}),
    ("POST", "/companies/filter", {"where": {"range_query": {"must": {
        "employees_count": {"gte": 100}}}}, "order_by": [
        {"order_by": "annual_revenue", "order_direction": "desc"}], "limit": 10}),
    ("POST", "/companies/count", {"where": {"keyword_match": {"must": {
        "industries": ["software development", "real estate"]}}}}),
    ("POST", "/common/filters/contacts/data", {"filter_key": "company_industries",
                                                "search_text": "so", "limit": 10}),
    ("POST", "/common/filters/companies/data", {"filter_key": "technologies",
                                                 "search_text": "", "limit": 20,
                                                 "where": {"range_query": {"must": {
                                                     "founded_year": {"gte": 1990}}}}}),
    ("GET", "/common/filters/contacts", None),
    ("GET", "/health", None),
    ("CURSOR", "/contacts/filter", {"order_by": [{"order_by": "created_at",
                                                  "order_direction": "asc"}], "limit": 30}),
]


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, seconds: float, what: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)
            if status != 200 and len(self.failures) < 20:
                self.failures.append(f"{status} {what}")

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


def client(url: str, stop: threading.Event, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    session.headers.update({"X-API-Key": API_KEY, "Accept-Encoding": "gzip"})
    while not stop.is_set():
        method, path, body = rng.choice(MIX)
        started = time.monotonic()
        try:
            if method == "GET":
                response = session.get(url + path, timeout=60)
            else:
                response = session.post(url + path, json=body, timeout=60)
                if method == "CURSOR" and response.status_code == 200:
                    cursor = response.json()["next_cursor"]
                    tally.add(200, time.monotonic() - started, path)
                    started = time.monotonic()
                    response = session.post(url + path, json={**(body or {}),
                                                              "cursor": cursor}, timeout=60)
            tally.add(response.status_code, time.monotonic() - started, f"{method} {path}")
        except requests.RequestException as exc:
            tally.add(-1, time.monotonic() - started, f"{method} {path}: {exc}")


def drive(url: str, seconds: float, seed: int) -> Tally:
    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=client, args=(url, stop, tally, seed + i), daemon=True)
               for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(90)
    return tally


def process_status(pid: int) -> tuple[int, int]:
    """(resident bytes, OS threads) of a process, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        values[name] = value.strip()
    return int(values["VmRSS"].split()[0]) * 1024, int(values["Threads"])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    [path] = write_sample_files(SAMPLE_ROWS, tmp_path_factory.mktemp("sample"), seed=99)
    return path


def serve(env: dict[str, str], home: Path) -> Iterator[Server]:
    port = free_port()
    log = home / "api.log"
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("PG_DB_", "ELASTICSEARCH_", "S3_", "API_"))}
    full_env.update(env, CONNECTRA_HOME=str(home), API_KEY=API_KEY,
                    MAX_REQUESTS_PER_MINUTE="10000000", DAGSTER_PORT=str(free_port()))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "connectra"), "api", "--port", str(port)],
            cwd=home, env=full_env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return requests.get(url + "/health", timeout=2).status_code == 200
            except requests.RequestException:
                return process.poll() is not None
        assert wait_until(up, timeout=60) and process.poll() is None, log.read_text()[-3000:]
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def load_sample(env: dict[str, str], home: Path, sample: Path) -> None:
    settings = settings_from_mapping({**env, "CONNECTRA_HOME": str(home), "API_KEY": API_KEY})
    stores = open_stores(settings)
    try:
        stores.search.ensure_indices()
        landing = LocalLandingZone(home / "landing")
        with sample.open("rb") as stream:
            landing.put(KEY, stream)
        load_file(landing, KEY, stores, "load-test", batch_rows=500)
    finally:
        stores.close()


@pytest.fixture(params=["production", "embedded"])
def server(
    request: pytest.FixtureRequest, services: Services, opensearch: Any, sample: Path,
    tmp_path: Path,
) -> Iterator[Server]:
    if request.param == "embedded":
        env = {"SEARCH_ENGINE": "duckdb"}
        load_sample(env, tmp_path, sample)
        yield from serve(env, tmp_path)
        return
    prefix = f"load{uuid.uuid4().hex[:8]}_"
    with fresh_database(services) as database:
        from stores.postgres import migrate

        migrate(database)
        env = {"DATABASE_URL": database, "SEARCH_URL": services.search_url,
               "SEARCH_ENGINE": "opensearch", "SEARCH_INDEX_PREFIX": prefix}
        load_sample(env, tmp_path, sample)
        try:
            yield from serve(env, tmp_path)
        finally:
            settings = settings_from_mapping({**env, "CONNECTRA_HOME": str(tmp_path),
                                              "API_KEY": API_KEY})
            stores = open_stores(settings)
            stores.search.drop_indices()  # type: ignore[attr-defined]
            stores.close()


def idle_status(pid: int) -> tuple[int, int]:
    time.sleep(2)  # idle: lingering connections closed, timers done
    return process_status(pid)


def test_sustained_concurrent_load(server: Server) -> None:
    pid = server.process.pid
    warm = drive(server.url, WARMUP_SECONDS, seed=1)
    assert warm.statuses.keys() == {200}, warm.failures
    rss_start, threads_start = idle_status(pid)

    samples: list[tuple[int, int]] = []
    sampling = threading.Event()

    def sample_status() -> None:
        while not sampling.wait(2):
            samples.append(process_status(pid))

    sampler = threading.Thread(target=sample_status, daemon=True)
    sampler.start()
    first = drive(server.url, LOAD_SECONDS / 2, seed=2)
    rss_half, _ = idle_status(pid)
    second = drive(server.url, LOAD_SECONDS / 2, seed=3)
    sampling.set()
    sampler.join()
    rss_end, threads_end = idle_status(pid)

    tally = Tally(first.statuses + second.statuses, first.latencies + second.latencies,
                  first.failures + second.failures)
    requests_done = sum(tally.statuses.values())
    mib = 2**20
    print(
        f"\n[load] {requests_done} requests in {LOAD_SECONDS:.0f} s with {CLIENTS} clients "
        f"({requests_done / LOAD_SECONDS:.0f}/s), statuses {dict(tally.statuses)}, latency "
        f"p50 {tally.percentile(0.5) * 1000:.0f} ms, p95 {tally.percentile(0.95) * 1000:.0f} ms, "
        f"p99 {tally.percentile(0.99) * 1000:.0f} ms, max {max(tally.latencies) * 1000:.0f} ms; "
        f"idle server RSS {rss_start / mib:.1f} -> {rss_half / mib:.1f} -> {rss_end / mib:.1f} "
        f"MiB (peak {max(s[0] for s in samples) / mib:.1f}), threads {threads_start} -> "
        f"{threads_end} (peak {max(s[1] for s in samples)})"
    )
    assert tally.statuses.keys() == {200}, tally.failures
    assert requests_done > LOAD_SECONDS  # it did serve, not just survive
    assert threads_end <= threads_start, (threads_start, threads_end)
    # Caches and allocator arenas may still fill during the first half; a leak keeps growing
    # in the second half as much as in the first.
    assert rss_end - rss_half <= max(MIN_RSS_SLACK, PLATEAU_GROWTH * rss_half), (
        rss_start, rss_half, rss_end)
    assert rss_end - rss_start <= MAX_RSS_GROWTH * rss_start, (rss_start, rss_end)
    assert server.process.poll() is None
    log = server.log.read_text(errors="replace")
    assert '"status":5' not in log and "Traceback" not in log
    assert API_KEY not in log

"""Query latency and throughput: through the real API, and straight to the engines.

For each query of bench/queries.py and each concurrency level, two closed-loop runs:

- api: POST to the app on waitress (its own process, bench/api_server.py) over loopback,
  one keep-alive connection per client thread, gzip accepted (the answer is decompressed,
  not parsed: a client's JSON parsing is not the API's cost);
- direct: in this process, no HTTP, no parsing: the query parsed once beforehand, then per
  request what the API's stores do. Production: vql.compile_search, the opensearch-py
  client's search (or count) on the bench alias, then the rows from PostgreSQL through
  PostgresRecordStore.fetch (+ companies_of_contacts concurrently when populated: the API's
  FilterResource.rows, reused as is). Embedded: DuckDBStore.search (or count) + the same
  rows call.

Before timing, one request of each path is compared (same ids, same total), so both do the
same work.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from api.records import FilterResource
from bench.env import API_KEY, INDEX_PREFIX, ROOT, BenchEnv
from bench.load import ApiClient, Latencies, Worker, drive, run, summarize
from bench.queries import DEEP_PAGES, BenchQuery
from stores.base import RecordStore, SearchStore
from stores.factory import cursor_secret, open_stores
from vql import CursorCodec, compile_search, compile_search_where, parse_query, parse_where

PY_SPY = Path(sys.executable).with_name("py-spy")
ROUNDS = 2
PROFILED = ("design_example", "count")  # the headline query, and the cheapest one


class ApiProcess:
    """The API child process; `port` once it listens."""

    def __init__(self, env: BenchEnv, profile: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.api_server", str(env.work), profile],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the API process ended before listening")
        self.port = int(json.loads(line)["port"])

    def profile(self, out: Path, seconds: float) -> subprocess.Popen[bytes]:
        """Starts py-spy on the server for `seconds`; the caller drives load meanwhile.

        `--gil`: only the thread holding the GIL is sampled, so the profile is the Python
        work of the process (what the API layer adds sits there), not its waits on I/O."""
        out.parent.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            [str(PY_SPY), "record", "--pid", str(self.process.pid), "--format", "raw",
             "--output", str(out), "--duration", str(int(seconds)), "--rate", "100",
             "--nonblocking", "--threads", "--gil"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class DirectPath:
    """The engines without the API: what one request costs the stores themselves."""

    def __init__(self, env: BenchEnv, profile: str) -> None:
        settings = env.settings(profile)
        self.profile = profile
        self.pool = ThreadPoolExecutor(8, thread_name_prefix="direct")
        self.client: Any = None
        if profile == "production":
            stores = open_stores(settings, index_prefix=INDEX_PREFIX)
            self.records: RecordStore = stores.records
            self.search: SearchStore = stores.search
            self.cursors = stores.cursors
            self.client = env.opensearch(timeout=60)
        else:
            from stores.duckdb import DuckDBStore

            self.cursors = CursorCodec(cursor_secret(settings))
            store = DuckDBStore(env.duckdb_path, cursors=self.cursors,
                                filter_cache_mb=settings.filter_cache_mb)
            self.records, self.search = store, store
        self.rows = FilterResource("contacts", self.search, self.records, self.cursors,
                                   self.pool)

    def filter(self, body: dict[str, Any]) -> Callable[[], tuple[list[str], int]]:
        query = parse_query(service="contacts", body=body, cursors=self.cursors)
        if self.profile != "production":
            def embedded() -> tuple[list[str], int]:
                page = self.search.search(query)
                rows = self.rows.rows(query, page.ids)
                return [r.get("id", "") for r in rows], page.total
            return embedded
        alias = f"{INDEX_PREFIX}contacts"

        def production() -> tuple[list[str], int]:
            compiled = compile_search(query)
            if query.cursor is not None:
                compiled["size"] = query.limit + 1  # as SearchEngineStore.search does
            answer = self.client.search(index=alias, body=compiled)
            hits = answer["hits"]["hits"][: query.limit]
            rows = self.rows.rows(query, [hit["_id"] for hit in hits])
            return [r.get("id", "") for r in rows], int(answer["hits"]["total"]["value"])
        return production

    def count(self, body: dict[str, Any]) -> Callable[[], int]:
        where = parse_where(service="contacts", where_json=body.get("where"))
        if self.profile != "production":
            return lambda: self.search.count("contacts", where)
        alias = f"{INDEX_PREFIX}contacts"
        return lambda: int(self.client.count(
            index=alias, body={"query": compile_search_where(where)})["count"])

    def close(self) -> None:
        self.pool.shutdown()
        self.records.close()
        if self.search is not self.records:
            self.search.close()
        if self.client is not None:
            self.client.close()


def _same(call: Worker) -> Worker:
    """The direct path needs no per-thread set-up: every thread calls the same function."""
    return call


def deep_body(client: ApiClient, query: BenchQuery) -> dict[str, Any]:
    """The body of page DEEP_PAGES + 1: walks next_cursor through the API."""
    body = dict(query.body)
    for _ in range(DEEP_PAGES):
        answer = client.post_json("/contacts/filter", body)
        if not answer.get("next_cursor"):
            raise RuntimeError(f"{query.name}: no next_cursor before page {DEEP_PAGES}")
        body = {**query.body, "cursor": answer["next_cursor"]}
    return body


def run_queries(env: BenchEnv, profile: str, queries: tuple[BenchQuery, ...], seconds: float,
                levels: tuple[int, ...] = (1, 4),
                profile_dir: Path | None = None) -> dict[str, Any]:
    """Every query at every concurrency level, API and direct side by side."""
    api = ApiProcess(env, profile)
    direct = DirectPath(env, profile)
    results: dict[str, Any] = {}
    try:
        client = ApiClient(api.port, API_KEY)
        for query in queries:
            path = f"/contacts/{query.endpoint}"
            body = deep_body(client, query) if query.deep else query.body
            raw = json.dumps(body).encode()
            direct_call: Callable[[], object]
            if query.endpoint == "count":
                direct_call = direct.count(body)
                same = client.post_json(path, body)["count"] == direct_call()
                found = int(direct.count(body)())
            else:
                direct_call = direct.filter(body)
                answer = client.post_json(path, body)
                ids, total = direct.filter(body)()
                same = [r.get("id") for r in answer["data"]] == ids and answer["total"] == total
                found = total

            def api_worker(p: str = path, b: bytes = raw) -> Worker:
                connection = ApiClient(api.port, API_KEY)
                return lambda: connection.post(p, b)

            entry: dict[str, Any] = {"endpoint": path, "about": query.about,
                                     "matches": found, "same_answer": same}
            for level in levels:  # alternating rounds, so drift of the machine hits both
                api_runs: list[Latencies] = []
                direct_runs: list[Latencies] = []
                for _ in range(ROUNDS):
                    api_runs.append(run(api_worker, level, seconds / ROUNDS, min_requests=4))
                    direct_runs.append(run(partial(_same, direct_call), level,
                                           seconds / ROUNDS, min_requests=4))
                    if len(api_runs[-1].ms) < 4 and len(direct_runs[-1].ms) < 4:
                        break  # requests of seconds: another round adds time, not insight
                entry[f"api_c{level}"] = summarize(sum(api_runs[1:], api_runs[0]), level)
                entry[f"direct_c{level}"] = summarize(sum(direct_runs[1:], direct_runs[0]),
                                                      level)
            results[query.name] = entry
        if profile_dir is not None:
            results["_profiles"] = {
                f"api {q.name}": _profile_api(api, q, profile_dir, profile)
                for q in queries if q.name in PROFILED}
        client.close()
    finally:
        api.close()
        direct.close()
    return results


def _profile_api(api: ApiProcess, query: BenchQuery, out: Path, profile: str) -> str:
    """py-spy on the API process while 4 clients send `query` for 10 s."""
    target = out / f"api-{profile}-{query.name}.txt"
    recorder = api.profile(target, 10)
    time.sleep(0.5)
    raw = json.dumps(query.body).encode()

    def worker() -> Worker:
        connection = ApiClient(api.port, API_KEY)
        return lambda: connection.post(f"/contacts/{query.endpoint}", raw)

    drive(worker, 4, 9.0, warmup_s=0.0)
    recorder.wait(30)
    return str(target)

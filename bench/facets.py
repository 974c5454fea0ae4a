"""Facets and explain: API p50 beside the direct engine call, and explain beside plain count.

    python -m bench.facets                  # 20,000 CSV rows (~2 min on 2 cores)
    python -m bench.facets --rows 1000000 --seconds 5

One sample file is loaded by the real loader (load_file) twice: into PostgreSQL + OpenSearch
under names of the bench's own (database `connectra_bench_facets`, index prefix
`bench_facets_`) and into a DuckDB file of its own (embedded profile). Then, per profile,
each request below runs one client at a time (closed loop, `--seconds` each):

- **api**: POST to the real app on waitress, in a child process
  (`python -m bench.facets serve WORK PROFILE`), over a keep-alive loopback connection;
- **direct**: the store call the resource makes, in this process (request parsed once).

Requests: `facets` (4 fields: seniority with a `must` on it, so disjunctive; the company
industries list; company size ranges; created_at by month, under a where on country),
`explain` (DESIGN.md's example where: 4 conditions, 9 counts), `explain_empty` (a where with
no result: counts plus the suggestion round trip) and `count` (the example where; what
explain is compared with). Prints a table and writes bench/results/facets.json.
Everything it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.env import API_KEY, ROOT, BenchEnv
from bench.load import ApiClient, drive
from bench.loaded import BenchDataset

PROFILES = ("production", "embedded")
WHERE: dict[str, Any] = {
    "text_matches": {"must": [{"filter_key": "title", "text_value": "Software Engineer",
                               "search_type": "shuffle", "fuzzy": True}]},
    "keyword_match": {"must": {"seniority": ["senior", "lead"], "country": "united states"}},
    "range_query": {"must": {"company_employees_count": {"gte": 100, "lte": 1000}}},
}
REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "facets": ("facets", {
        "where": {"keyword_match": {"must": {"seniority": "senior",
                                             "country": "united states"}}},
        "facets": [
            {"field": "seniority", "size": 10},
            {"field": "company_industries", "size": 10},
            {"field": "company_employees_count",
             "ranges": [{"lt": 50}, {"gte": 50, "lt": 200}, {"gte": 200, "lt": 1000},
                        {"gte": 1000}]},
            {"field": "created_at", "interval": "month"},
        ],
    }),
    "explain": ("explain", {"where": WHERE}),
    "explain_empty": ("explain", {"where": {
        **WHERE, "keyword_match": {"must": {"seniority": ["senior", "lead"],
                                            "country": "united states",
                                            "company_industries": "sofware development"}}}}),
    "count": ("count", {"where": WHERE}),
}


def dataset(env: BenchEnv) -> BenchDataset:
    return BenchDataset(env, "facets")


def serve(work: Path, profile: str) -> None:
    """In the child: the app on waitress, as bench/api_server.py serves it."""
    from waitress.server import create_server

    from api.app import ApiDeps, create_app
    from api.dagster_jobs import DagsterJobsClient
    from api.server import SERVER_THREADS
    from stores.factory import open_stores
    from stores.landing import LocalLandingZone
    from stores.settings import settings_from_mapping

    env = BenchEnv.load(work)
    settings = settings_from_mapping(dataset(env).variables(profile))
    stores = open_stores(settings)
    deps = ApiDeps(settings=settings, records=stores.records, search=stores.search,
                   landing=LocalLandingZone(env.landing),
                   jobs=DagsterJobsClient("127.0.0.1", 9), cursors=stores.cursors)
    server = create_server(create_app(deps), host="127.0.0.1", port=0, threads=SERVER_THREADS)
    print(json.dumps({"port": server.effective_port}), flush=True)
    server.run()


def _direct(search: Any, kind: str, body: dict[str, Any]) -> Any:
    from vql.explain import parse_explain_request
    from vql.facets import parse_facets_request
    from vql.parser import parse_where

    if kind == "facets":
        request = parse_facets_request("contacts", body)
        return lambda: search.facets(request)
    if kind == "explain":
        explained = parse_explain_request("contacts", body)
        return lambda: search.explain(explained)
    where = parse_where("contacts", body["where"])
    return lambda: search.count("contacts", where)


def measure(env: BenchEnv, profile: str, seconds: float) -> dict[str, Any]:
    from stores.factory import open_stores
    from stores.settings import settings_from_mapping

    child = subprocess.Popen(
        [sys.executable, "-m", "bench.facets", "serve", str(env.work), profile],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stores = open_stores(settings_from_mapping(dataset(env).variables(profile)))
    out: dict[str, Any] = {}
    try:
        assert child.stdout is not None
        port = int(json.loads(child.stdout.readline())["port"])
        for name, (kind, body) in REQUESTS.items():
            data = json.dumps(body).encode()
            client = ApiClient(port, API_KEY)
            via_api = json.loads(client.post(f"/contacts/{kind}", data))
            client.close()
            direct = _direct(stores.search, kind, body)
            if kind != "count":
                assert via_api == direct(), f"{profile} {name}: the API and the store disagree"

            def api_worker(path: str = f"/contacts/{kind}", payload: bytes = data) -> Any:
                c = ApiClient(port, API_KEY)
                return lambda: c.post(path, payload)

            def direct_worker(call: Any = direct) -> Any:
                return call

            out[name] = {"api": drive(api_worker, 1, seconds),
                         "direct": drive(direct_worker, 1, seconds),
                         "total": via_api.get("total", via_api.get("count"))}
    finally:
        stores.close()
        child.terminate()
        child.wait(10)
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve(Path(argv[1]), argv[2])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.facets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="per request and path")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    env = BenchEnv.load(args.work)
    try:
        print(f"loading {args.rows:,} rows into both profiles ...", flush=True)
        loaded = {p: r["contacts"] for p, r in dataset(env).load(args.rows, PROFILES).items()}
        results = {p: measure(env, p, args.seconds) for p in PROFILES}
    finally:
        dataset(env).drop()
    report = {"rows": args.rows, "contacts": loaded, "results": results}
    env.results.mkdir(parents=True, exist_ok=True)
    (env.results / "facets.json").write_text(json.dumps(report, indent=2))
    print("| profile | request | total | API p50 ms | direct p50 ms | API p95 ms |")
    print("|---|---|---|---|---|---|")
    for profile, per in results.items():
        for name, r in per.items():
            print(f"| {profile} | {name} | {r['total']:,} | {r['api']['p50_ms']} | "
                  f"{r['direct']['p50_ms']} | {r['api']['p95_ms']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

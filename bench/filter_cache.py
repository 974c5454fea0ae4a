"""The embedded profile's queries with and without the filter cache, in one run (issue 18):
`python -m bench.filter_cache [--seconds 6] [--file PATH] [--queries a,b]`.

On the embedded file of the bench's work folder (`.connectra/bench/embedded`, what
`python -m bench --keep` leaves; `--file` copies another DuckDB file there first), every
query of bench/queries.py is run as the bench's query phase runs it (the API on waitress and
the direct store path, 1 and 4 clients, bench/query_bench.py), first with the cache off
(`FILTER_CACHE_MB=0`), then on (the default). A p50 of the cached run is a repeated query:
each condition and order answered from memory. What a query costs before that, on a
fresh store of the direct path: its first use (plain SQL, the condition counted), its
second (the conditions' bitmaps and the order's ranking read) and its third (from memory).
Prints a markdown table and writes bench/results/filter-cache.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench.env import BenchEnv
from bench.queries import QUERIES, by_name
from bench.query_bench import DirectPath, run_queries

RESULTS = Path(__file__).parent / "results" / "filter-cache.json"


def first_uses(env: BenchEnv, names: list[str], uses: int = 3) -> dict[str, list[float]]:
    """Milliseconds of the first `uses` calls of each query on a store of its own."""
    out: dict[str, list[float]] = {}
    for query in QUERIES:
        if query.name not in names or query.deep:
            continue
        direct = DirectPath(env, "embedded")
        try:
            call = direct.count(query.body) if query.endpoint == "count" else \
                direct.filter(query.body)
            times = []
            for _ in range(uses):
                started = time.perf_counter()
                call()
                times.append(round((time.perf_counter() - started) * 1000, 1))
            out[query.name] = times
        finally:
            direct.close()
    return out


def table(off: dict[str, Any], on: dict[str, Any], uses: dict[str, list[float]]) -> str:
    lines = ["| query (matches) | API c1 off / on | API c4 off / on | direct c1 off / on "
             "| direct c4 off / on | direct 1st, 2nd, 3rd use |",
             "|---|---:|---:|---:|---:|---|"]
    for name, entry in on.items():
        was = off.get(name, {})

        def cell(key: str, was: dict[str, Any] = was, entry: dict[str, Any] = entry) -> str:
            before, after = was.get(key, {}).get("p50_ms"), entry.get(key, {}).get("p50_ms")
            return f"{before} / **{after}**"

        firsts = ", ".join(str(t) for t in uses.get(name, [])) or "-"
        lines.append(f"| {name} ({entry['matches']:,}) | {cell('api_c1')} | {cell('api_c4')} "
                     f"| {cell('direct_c1')} | {cell('direct_c4')} | {firsts} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.filter_cache", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=6.0, help="per query and level")
    p.add_argument("--file", type=Path, default=None, help="a DuckDB file to query (copied)")
    p.add_argument("--queries", default=None, help="comma-separated query names (all)")
    p.add_argument("--work", type=Path, default=None, help="work folder (.connectra/bench)")
    opts = p.parse_args()
    env = BenchEnv.load(opts.work)
    if opts.file is not None:
        env.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(opts.file, env.duckdb_path)
    if not env.duckdb_path.is_file():
        raise SystemExit(f"{env.duckdb_path} is missing: run `python -m bench --keep` or "
                         "pass --file")
    queries = by_name(opts.queries)
    names = [q.name for q in queries]
    os.environ["FILTER_CACHE_MB"] = "0"
    try:
        off = run_queries(env, "embedded", queries, opts.seconds)
    finally:
        del os.environ["FILTER_CACHE_MB"]
    on = run_queries(env, "embedded", queries, opts.seconds)
    uses = first_uses(env, names)
    report = {"file": str(env.duckdb_path), "seconds": opts.seconds, "off": off, "on": on,
              "first_uses_ms": uses, "table": table(off, on, uses)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1, default=str))
    print(report["table"])


if __name__ == "__main__":
    main()

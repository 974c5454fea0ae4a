"""The loader's own CPU per row (issue 17.2/17.3), beside the two raw limits, in one run:
`python -m bench.loader_cpu [--rows 200000] [--profile] [--batch-size 500] [--no-limits]
[--engine-own-core]`.

One generated file is normalized once to Parquet (bench/data.py) and, into fresh tables
and indices each time, PostgreSQL's raw COPY and the engine's raw `_bulk` (index actions)
of those batches are timed (bench/limits_pg.py, bench/limits_search.py; skipped with
`--no-limits`); then one end-to-end load in a child process (bench/ingest_child.py), which
reports the CPU seconds of its own process over load_file (every thread: reading,
normalizing, rendering COPY, encoding bulk lines, the clients) and its peak resident set.
CPU seconds, not wall time, are the figure to compare on a shared machine; wall time and
rows/s are reported beside them. `--profile` runs the load once more under py-spy and
summarizes it (bench/profiles.py). `--engine-own-core` runs everything with the search
engine's JVM on the first core and PostgreSQL, the bench and the load on the others
(bench.procstat.cores_apart): the limit and the load as on a machine where the engine has
cores of its own. Set CONNECTRA_BENCH_TAG to keep the run's database and
indices apart from another bench on the same services. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench.children import run_child
from bench.data import BATCH_SIZE_FOR_INSERTION, normalize_file, sample_file
from bench.env import INDEX_PREFIX, BenchEnv
from bench.limits_pg import raw_copy, truncate_records
from bench.limits_search import raw_bulk
from bench.procstat import cores_apart
from bench.profiles import summarize

KEEP = ("seconds", "rows_per_s", "loader_cpu_s", "loader_cpu_s_per_1m_rows", "peak_rss_mb",
        "peak_rss_mb_load", "records_busy_s", "search_busy_s", "normalize_s", "rows_read",
        "rows_loaded", "rows_merged", "rows_rejected", "stores_agree", "cpu_cores")


def _fresh(env: BenchEnv) -> None:
    truncate_records(env)
    env.drop_indices(INDEX_PREFIX)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loader_cpu")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true", help="the load once more, in py-spy")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE_FOR_INSERTION,
                        help="BATCH_SIZE_FOR_INSERTION of the load (a read batch is 40 of it)")
    parser.add_argument("--no-limits", action="store_true")
    parser.add_argument("--engine-own-core", action="store_true",
                        help="the engine on core 0, PostgreSQL and the load on the others")
    args = parser.parse_args()
    if args.engine_own_core:
        with cores_apart({0}):
            measure(args)
    else:
        measure(args)


def measure(args: argparse.Namespace) -> None:
    started = time.monotonic()
    env = BenchEnv.load()
    env.recreate_database()
    env.drop_indices()
    out: dict[str, Any] = {"rows": args.rows, "engine_own_core": args.engine_own_core}
    try:
        sample, _ = sample_file(env.landing, args.rows)
        out["expected"] = sample.expected
        child_args = [str(env.work), sample.key, str(args.batch_size)]
        if not args.no_limits:
            normalized = normalize_file(sample, env.work / "norm" / str(args.rows))
            _fresh(env)
            out["raw_copy"] = raw_copy(env, normalized)
            out["raw_bulk"] = raw_bulk(env, normalized, "index")
        if args.profile:
            _fresh(env)
            raw = env.work / "profiles" / f"loader-{args.rows}.txt"
            run_child("bench.ingest_child", child_args, profile=raw)
            out["profile"] = summarize(raw, top=20)
        _fresh(env)
        e2e = run_child("bench.ingest_child", child_args)
        result = {k: e2e[k] for k in KEEP if k in e2e}
        for limit in ("raw_copy", "raw_bulk"):
            if limit in out:
                result[f"ratio_to_{limit}"] = round(e2e["rows_per_s"] / out[limit]["rows_per_s"], 3)
        out["load"] = result
    finally:
        env.drop_indices()
        env.drop_database()
    out["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

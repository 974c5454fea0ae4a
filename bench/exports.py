"""Exports (issue 16) beside the raw limits of the same engines, on the production profile.

    python -m bench.exports                  # 200,000 CSV rows
    python -m bench.exports --rows 20000     # a small check that it works

One sample file is loaded by the real loader (load_file) into a database and index prefix
of the bench's own (`connectra_bench_exports`, `bench_exports_`); then:

- **export** (each format in a fresh child process, for a clean peak resident set):
  stores.exports.run.run_export of every contact (no where, default order, all columns) as
  the export job runs it: PostgreSQL REPEATABLE READ snapshot + OpenSearch point in time,
  search_after pages of PAGE_ROWS ids, the rows of each page from PostgreSQL, written to
  CONNECTRA_HOME/exports and published. Rows per wall second, peak RSS.
- **limit: PIT walk of ids alone**: SearchEngineStore.walk_ids over the same query and page
  size, nothing fetched or written.
- **limit: COPY TO**: `COPY (SELECT <the same columns> FROM contacts) TO STDOUT (FORMAT csv)`
  read to the end by psycopg (bytes counted, not kept).

Prints a table and writes bench/results/exports.json. Everything it creates is dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.children import run_child
from bench.env import BenchEnv
from bench.loaded import BenchDataset
from bench.procstat import status_kb

FORMATS = ("csv", "jsonl", "parquet")


def dataset(env: BenchEnv) -> BenchDataset:
    return BenchDataset(env, "exports")


def child_export(work: Path, fmt: str) -> dict[str, Any]:
    """In the child: one export as the job runs it, timed, with the peak resident set."""
    from stores.exports.files import export_files
    from stores.exports.request import parse_export_request
    from stores.exports.run import run_export
    from stores.factory import open_stores
    from stores.settings import settings_from_mapping

    env = BenchEnv.load(work)
    settings = settings_from_mapping(dataset(env).variables())
    stores = open_stores(settings)
    files = export_files(settings)
    request = parse_export_request("contacts", {"format": fmt})
    export_id = str(uuid.uuid4())
    try:
        started = time.perf_counter()
        report = run_export(stores, files, request, export_id)
        seconds = time.perf_counter() - started
    finally:
        stores.close()
    (settings.home / "exports" / report.name).unlink(missing_ok=True)
    return {"format": fmt, "rows": report.rows_written, "bytes": report.bytes,
            "seconds": round(seconds, 3), "rows_per_s": round(report.rows_written / seconds, 1),
            "peak_rss_mb": round(status_kb("VmHWM") / 1024, 1)}


def pit_walk(env: BenchEnv) -> dict[str, Any]:
    from stores.exports.request import parse_export_request
    from stores.factory import open_stores
    from stores.settings import settings_from_mapping

    stores = open_stores(settings_from_mapping(dataset(env).variables()))
    query = parse_export_request("contacts", {"format": "csv"}).query()
    try:
        started = time.perf_counter()
        search: Any = stores.search
        ids = sum(len(page) for page in search.walk_ids(query))
        seconds = time.perf_counter() - started
    finally:
        stores.close()
    return {"rows": ids, "seconds": round(seconds, 3), "rows_per_s": round(ids / seconds, 1)}


def copy_to(env: BenchEnv) -> dict[str, Any]:
    from psycopg import sql

    from vql.registry import registry

    columns = [c for c in registry("contacts").select_columns if c != "company"]
    statement = sql.SQL("COPY (SELECT {} FROM contacts) TO STDOUT (FORMAT csv)").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    size = 0
    url = env.pg_url(dataset(env).database)
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        with cursor.copy(statement) as copy:
            for block in copy:
                size += len(block)
        seconds = time.perf_counter() - started
        rows = cursor.execute("SELECT count(*) FROM contacts").fetchone()
    count = int(rows[0]) if rows else 0
    return {"rows": count, "bytes": size, "seconds": round(seconds, 3),
            "rows_per_s": round(count / seconds, 1)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["child"]:
        print(json.dumps(child_export(Path(argv[1]), argv[2])))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    env = BenchEnv.load(args.work)
    try:
        print(f"loading {args.rows:,} rows with load_file ...", flush=True)
        loaded = dataset(env).load(args.rows)["production"]
        exports = {}
        for fmt in FORMATS:
            print(f"export {fmt} ...", flush=True)
            exports[fmt] = run_child("bench.exports", ["child", str(env.work), fmt])
        print("limits: PIT walk of ids, COPY TO ...", flush=True)
        walk = pit_walk(env)
        copy = copy_to(env)
    finally:
        dataset(env).drop()
    result = {"loaded": loaded, "exports": exports, "pit_walk": walk, "copy_to": copy}
    env.results.mkdir(parents=True, exist_ok=True)
    (env.results / "exports.json").write_text(json.dumps(result, indent=2))
    print("| what | rows | rows/s | MB | peak RSS |\n|---|---|---|---|---|")
    for fmt, e in exports.items():
        print(f"| export {fmt} | {e['rows']:,} | {e['rows_per_s']:,.0f} | "
              f"{e['bytes'] / 1e6:.1f} | {e['peak_rss_mb']} MB |")
    print(f"| PIT + search_after ids | {walk['rows']:,} | {walk['rows_per_s']:,.0f} | - | - |")
    print(f"| COPY TO (csv) | {copy['rows']:,} | {copy['rows_per_s']:,.0f} | "
          f"{copy['bytes'] / 1e6:.1f} | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

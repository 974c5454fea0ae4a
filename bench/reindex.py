"""`connectra reindex` beside OpenSearch's raw `_bulk` limit of the same documents.

    python -m bench.reindex                 # 200,000 CSV rows (~3 min on 2 cores)
    python -m bench.reindex --rows 50000

One sample file is loaded by the real loader (load_file) into a database and index prefix of
the bench's own (`connectra_bench_reindex`, `bench_reindex_`); then, each in a fresh child
process (`python -m bench.reindex child ...`, for a clean peak resident set):

- **reindex**: orchestration.reindex.reindex with the job's batch size (40 x
  BATCH_SIZE_FOR_INSERTION = 20,000 rows): PostgreSQL server-side cursor -> Arrow -> the
  document shapes -> bulk `index` actions into new versioned indices (no refresh, no
  replicas while built) -> settings restored, refresh, count check, alias swap, old index
  deleted. Wall time of the whole call.
- **limit: raw `_bulk`**: the very documents the reindex wrote (read back from PostgreSQL
  the same way), serialized to NDJSON `index` actions in ~8 MB chunks *before* the clock,
  sent by 4 connections into fresh indices with the same mapping (prefix
  `bench_reindex_raw_`, created as the store creates them), then refreshed
  (bench.limits_search.send, the main bench's limit).

Throughput is documents (companies + contacts) per wall second. Prints a table and writes
bench/results/reindex.json. Everything it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.children import run_child
from bench.data import BATCH_SIZE_FOR_INSERTION
from bench.env import BenchEnv
from bench.limits_search import CHUNK_BYTES, THREADS, index_lines, send
from bench.loaded import BenchDataset
from bench.procstat import CpuMeter, status_kb

RAW_PREFIX = "bench_reindex_raw_"


def dataset(env: BenchEnv) -> BenchDataset:
    return BenchDataset(env, "reindex")


def child_reindex(work: Path) -> dict[str, Any]:
    """In the child: the reindex the job runs, timed, with the resident set per batch."""
    from assets.loading import READ_BATCH_FACTOR
    from orchestration.reindex import reindex
    from stores.factory import open_stores
    from stores.settings import settings_from_mapping

    env = BenchEnv.load(work)
    stores = open_stores(settings_from_mapping(dataset(env).variables()))
    rss: list[int] = []
    try:
        started = time.perf_counter()
        report = reindex(stores, batch_rows=BATCH_SIZE_FOR_INSERTION * READ_BATCH_FACTOR,
                         progress=lambda p: rss.append(status_kb("VmRSS") // 1024))
        seconds = time.perf_counter() - started
    finally:
        stores.close()
    return {"seconds": round(seconds, 3), "documents": report.documents,
            "per_service": {s.service: {"documents": s.documents_written,
                                        "seconds": round(s.seconds, 2),
                                        "rows_per_s": round(s.rows_per_second, 1)}
                            for s in report.services},
            "swaps": report.swaps, "rss_mb_per_batch": rss,
            "peak_rss_mb": round(status_kb("VmHWM") / 1024, 1)}


def raw_bulk(env: BenchEnv) -> dict[str, Any]:
    """The reindexed documents as pre-serialized `index` actions, sent as the limit."""
    from orchestration.reindex import SERVICES, documents
    from stores.postgres import PostgresRecordStore
    from stores.search import make_search_store
    from stores.settings import settings_from_mapping

    settings = settings_from_mapping(dataset(env).variables())
    assert settings.search is not None and settings.postgres is not None
    folder = env.work / "bulk" / "reindex-raw"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    records = PostgresRecordStore(settings.postgres.url())
    chunk: list[bytes] = []
    size = chunks = actions = 0
    try:
        for service in SERVICES:
            for rows in records.search_rows(service, 20_000):
                for line in index_lines(f"{RAW_PREFIX}{service}", documents(rows, service)):
                    chunk.append(line)
                    size += len(line)
                    actions += 1
                    if size >= CHUNK_BYTES:
                        (folder / f"{chunks:05d}.ndjson").write_bytes(b"".join(chunk))
                        chunks, chunk, size = chunks + 1, [], 0
        if chunk:
            (folder / f"{chunks:05d}.ndjson").write_bytes(b"".join(chunk))
    finally:
        records.close()
    store = make_search_store(settings.search, RAW_PREFIX)
    try:
        store.ensure_indices()
        result = send(env, folder, THREADS, prefix=RAW_PREFIX)
        held = sum(store.count(s, None) for s in ("contacts", "companies"))
    finally:
        store.drop_indices()
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {**result, "documents": held, "actions": actions,
            "rows_per_s": round(actions / result["seconds"], 1)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["child"]:
        print(json.dumps(child_reindex(Path(argv[1]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.reindex", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    env = BenchEnv.load(args.work)
    try:
        print(f"loading {args.rows:,} rows with load_file ...", flush=True)
        loaded = dataset(env).load(args.rows)["production"]
        loaded["documents"] = loaded["contacts"] + loaded["companies"]
        print(f"reindex ({loaded['documents']:,} documents) ...", flush=True)
        with CpuMeter() as meter:
            rebuilt = run_child("bench.reindex", ["child", str(env.work)])
        rebuilt["cpu"] = meter.cores
        rebuilt["rows_per_s"] = round(rebuilt["documents"] / rebuilt["seconds"], 1)
        print("raw _bulk of the same documents ...", flush=True)
        limit = raw_bulk(env)
    finally:
        dataset(env).drop(RAW_PREFIX)
    result = {"loaded": loaded, "reindex": rebuilt, "raw_bulk": limit,
              "ratio": round(rebuilt["rows_per_s"] / limit["rows_per_s"], 2)}
    env.results.mkdir(parents=True, exist_ok=True)
    (env.results / "reindex.json").write_text(json.dumps(result, indent=2))
    print(f"| documents | reindex docs/s | raw _bulk docs/s | ratio | reindex peak RSS |\n"
          f"|---|---|---|---|---|\n"
          f"| {rebuilt['documents']:,} | {rebuilt['rows_per_s']:,.0f} | "
          f"{limit['rows_per_s']:,.0f} | {result['ratio']:.2f}x | {rebuilt['peak_rss_mb']} MB |")
    print(json.dumps(result["reindex"]["per_service"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

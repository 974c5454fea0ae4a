"""The raw `_bulk` limit in other request shapes: `python -m bench.bulk_shapes ROWS MB THREADS
[MB THREADS ...]`, e.g. `1000000 8 4 6 3 2 3 8 4` (the limit's shape, the loader's, smaller).

The generated file of ROWS rows is normalized (reused when an earlier bench left it under the
work folder), then for each shape the same documents are serialized to `index` actions in
chunks of about MB megabytes and sent by THREADS connections into fresh `bench_raw_`
indices, as `bench.limits_search.raw_bulk` does. Prints one JSON line per shape: seconds,
cores per process group, and the node's CPU-seconds. Says whether the limit depends on how
the documents are cut into requests (BENCHMARKS.md, *Targets of issue 17*, *Fifth session*).
"""

from __future__ import annotations

import json
import shutil
import sys

from bench.data import NormalizedFile, normalize_file, sample_file
from bench.env import RAW_INDEX_PREFIX, BenchEnv
from bench.limits_search import send, serialize
from stores.search import make_search_store


def normalized(env: BenchEnv, rows: int) -> NormalizedFile:
    folder = env.work / "norm" / str(rows)
    batches = len(list(folder.glob("*.documents.parquet")))
    if batches:
        return NormalizedFile(folder, batches, rows, 0, 0, 0, 0.0)
    sample, _ = sample_file(env.landing, rows)
    return normalize_file(sample, folder)


def main(argv: list[str]) -> None:
    rows, shapes = int(argv[0]), argv[1:]
    env = BenchEnv.load()
    settings = env.settings()
    assert settings.search is not None
    store = make_search_store(settings.search, RAW_INDEX_PREFIX)
    documents = normalized(env, rows)
    try:
        for mb, threads in zip(shapes[::2], shapes[1::2], strict=True):
            out = env.work / "bulk" / f"shape-{mb}mb"
            counts = serialize(documents, out, "index", chunk_bytes=int(float(mb) * 2**20))
            store.drop_indices()
            store.ensure_indices()
            sent = send(env, out, int(threads))
            shutil.rmtree(out)
            node_cpu_s = round(sent["cpu_cores"].get("opensearch", 0.0) * sent["seconds"], 1)
            print(json.dumps({"rows": rows, "mb": float(mb), **counts, **sent,
                              "node_cpu_s": node_cpu_s}), flush=True)
    finally:
        store.drop_indices()


if __name__ == "__main__":
    main(sys.argv[1:])

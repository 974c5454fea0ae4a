"""The raw `_bulk` limit in other request shapes: `python -m bench.bulk_shapes ROWS MB THREADS
[MB THREADS ...]`, e.g. `1000000 8 4 6 3 2 3 8 4` (the limit's shape, the loader's, smaller).

The generated file of ROWS rows is normalized once; for each shape its documents are sent
as `bench.limits_search.raw_bulk` sends them (`index` actions into fresh indices), in chunks
of about MB megabytes by THREADS connections. Prints one JSON line per shape, with the
node's CPU-seconds. Says whether the limit depends on how the documents are cut into
requests (BENCHMARKS.md, *Targets of issue 17*, *Fifth session*).
"""

from __future__ import annotations

import json
import sys

from bench.data import normalize_file, sample_file
from bench.env import BenchEnv
from bench.limits_search import raw_bulk


def main(argv: list[str]) -> None:
    rows, shapes = int(argv[0]), argv[1:]
    env = BenchEnv.load()
    sample, _ = sample_file(env.landing, rows)
    documents = normalize_file(sample, env.work / "norm" / str(rows))
    for mb, threads in zip(shapes[::2], shapes[1::2], strict=True):
        sent = raw_bulk(env, documents, "index", int(threads), int(float(mb) * 2**20))
        node_cpu_s = round(sent["cpu_cores"].get("opensearch", 0.0) * sent["seconds"], 1)
        print(json.dumps({"rows": rows, "mb": float(mb), **sent, "node_cpu_s": node_cpu_s}),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

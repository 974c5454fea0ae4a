"""`python -m bench.mapping [ROWS] [ROUNDS]`: the raw `_bulk` limit into the lean mapping of
issue 17.1 (n-gram sub-fields only on the fields that take substring) against the mapping
before it (an n-gram sub-field on every text field), and what each index weighs.

The limit is bench/limits_search.py's: the documents the load writes (each normalized
batch's companies and contact documents), serialized once to NDJSON `index` actions before
any clock starts, sent with 4 connections into fresh indices of one mapping, then refreshed.
The two mappings alternate over ROUNDS rounds (A B, B A, ...) so that a drift of the shared
machine does not favour one; besides the wall time, the node's CPU-seconds over the send
say what the mapping cost it (less sensitive to other work on the machine). After each send
the size of the indices' live segments is read, then again after a force-merge to one
segment (the size that does not depend on the merges the node happened to run). A side
experiment (BENCHMARKS.md, issue 17.1), not part of `make bench`; index prefix
`bench_lean_`, dropped afterwards.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.data import normalize_file, sample_file
from bench.env import BenchEnv
from bench.limits_search import send, serialize
from vql.mapping import NGRAM_SUBFIELD, index_body
from vql.registry import registry

PREFIX = "bench_lean_"
SERVICES = ("contacts", "companies")


def before_17_1(service: str) -> dict[str, Any]:
    """The body indices were made with before issue 17.1: n-grams on every text field."""
    body = index_body(service, 0)
    properties = body["mappings"]["properties"]
    ngram = next(m["fields"][NGRAM_SUBFIELD] for m in properties.values()
                 if NGRAM_SUBFIELD in m.get("fields", {}))  # fmt: skip
    for field in registry(service):
        if field.analyzed:
            properties[field.name]["fields"][NGRAM_SUBFIELD] = ngram
    return body


MAPPINGS: dict[str, Callable[[str], dict[str, Any]]] = {
    "before 17.1 (n-grams on every text field)": before_17_1,
    "lean (n-grams on the substring fields)": lambda service: index_body(service, 0),
}


def main(rows: int = 200_000, rounds: int = 2) -> None:
    env = BenchEnv.load()
    host, port = env.services["ELASTICSEARCH_HOST"], int(env.services["ELASTICSEARCH_PORT"])

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        connection = http.client.HTTPConnection(host, port, timeout=900)
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        connection.close()
        if response.status >= 300 and not (method == "DELETE" and response.status == 404):
            raise RuntimeError(f"{method} {path}: {response.status} {answer[:300]!r}")
        return json.loads(answer) if answer else None

    def store_bytes() -> int:
        """The bytes of the indices' live segments (files of merged-away segments that a
        reader still holds open are not the index's size)."""
        rows = call("GET", f"/_cat/segments/{PREFIX}contacts,{PREFIX}companies"
                           "?format=json&bytes=b&h=size")  # fmt: skip
        return sum(int(row["size"]) for row in rows)

    sample, _ = sample_file(env.landing, rows)
    normalized = normalize_file(sample, env.work / "norm-lean" / str(rows))
    folder = env.work / "bulk-lean" / str(rows)
    counts = serialize(normalized, folder, "index", prefix=PREFIX)
    print(f"{normalized.rows_read:,} rows: {counts['actions']:,} actions, "
          f"{counts['bytes'] / 1e6:,.0f} MB in {counts['chunks']} chunks", flush=True)
    names = list(MAPPINGS)
    try:
        for round_ in range(rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                for service in SERVICES:
                    call("DELETE", f"/{PREFIX}{service}")
                    call("PUT", f"/{PREFIX}{service}", MAPPINGS[name](service))
                result = send(env, folder, prefix=PREFIX)
                size = store_bytes()
                started = time.perf_counter()
                both = f"/{PREFIX}contacts,{PREFIX}companies"
                call("POST", f"{both}/_forcemerge?max_num_segments=1")
                call("POST", f"{both}/_refresh")
                merged, merge_s = store_bytes(), time.perf_counter() - started
                node_cpu = result["cpu_cores"].get("opensearch", 0.0) * result["seconds"]
                print(f"round {round_ + 1} {name:42s} {result['seconds']:6.1f} s "
                      f"{normalized.rows_read / result['seconds']:8,.0f} rows/s  "
                      f"node {node_cpu:5.0f} CPU-s (machine {result['cpu_cores']['machine']:.2f}"
                      " cores busy)  "
                      f"store {size / 2**20:6.0f} MiB, {merged / 2**20:6.0f} MiB merged "
                      f"({merge_s:.0f} s)", flush=True)
    finally:
        for service in SERVICES:
            call("DELETE", f"/{PREFIX}{service}")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(normalized.folder, ignore_errors=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))

"""`python -m bench.mapping [ROWS]`: what each part of the contacts mapping costs the node.

Sends the same contact documents (the 250k file's, normalized once as load_file does) as
pre-serialized `index` actions with 4 connections into fresh indices of three mappings, then
refreshes: the mapping of `vql/mapping.py` as it is, without the trigram `ngram` sub-fields,
and with OpenSearch's `wildcard` field type in their place. Prints seconds and rows/s per
mapping. A side experiment (BENCHMARKS.md, "What bounds each figure"), not part of
`make bench`; index prefix `bench_map_`, dropped afterwards.
"""

from __future__ import annotations

import copy
import http.client
import json
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.data import normalize_file, sample_file
from bench.env import BenchEnv
from bench.limits_search import THREADS, _index_lines
from vql.mapping import NGRAM_SUBFIELD, index_body

INDEX = "bench_map_contacts"
CHUNK_BYTES = 8 << 20


def _variant(change: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    body = index_body("contacts", 0)
    if change is not None:
        for mapping in body["mappings"]["properties"].values():
            if mapping.get("type") == "text":
                change(mapping["fields"])
    return body


MAPPINGS: dict[str, dict[str, Any]] = {
    "as is (trigram sub-fields)": _variant(None),
    "without the trigram sub-fields": _variant(lambda f: f.pop(NGRAM_SUBFIELD)),
    "wildcard sub-fields instead": _variant(
        lambda f: f.update({NGRAM_SUBFIELD: {"type": "wildcard"}})
    ),
}


def main(rows: int = 250_000) -> None:
    env = BenchEnv.load()
    host, port = env.services["ELASTICSEARCH_HOST"], int(env.services["ELASTICSEARCH_PORT"])
    sample, _ = sample_file(env.landing, rows)
    normalized = normalize_file(sample, env.work / "norm-mapping" / str(rows))
    chunks, current, size = [], [], 0
    for batch in range(normalized.batches):
        for line in _index_lines(INDEX, normalized.table(batch, "documents")):
            current.append(line)
            size += len(line)
            if size >= CHUNK_BYTES:
                chunks.append(b"".join(current))
                current, size = [], 0
    chunks.append(b"".join(current))
    shutil.rmtree(normalized.folder, ignore_errors=True)

    def call(method: str, path: str, body: bytes | None = None) -> Any:
        connection = http.client.HTTPConnection(host, port, timeout=600)
        kind = "application/x-ndjson" if path.endswith("_bulk") else "application/json"
        connection.request(method, path, body=body, headers={"Content-Type": kind})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        if response.status >= 300 and not (method == "DELETE" and response.status == 404):
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    for name, body in MAPPINGS.items():
        call("DELETE", f"/{INDEX}")
        call("PUT", f"/{INDEX}", json.dumps(copy.deepcopy(body)).encode())
        work: queue.Queue[bytes] = queue.Queue()
        for chunk in chunks:
            work.put(chunk)

        def sender(work: queue.Queue[bytes] = work) -> None:
            while True:
                try:
                    chunk = work.get_nowait()
                except queue.Empty:
                    return
                answer = call("POST", "/_bulk?filter_path=errors", chunk)
                if answer.get("errors"):
                    raise RuntimeError("bulk errors")

        started = time.perf_counter()
        threads = [threading.Thread(target=sender) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        call("POST", f"/{INDEX}/_refresh")
        seconds = time.perf_counter() - started
        print(f"{name:32s} {seconds:6.1f} s  {normalized.rows_read / seconds:8,.0f} rows/s",
              flush=True)
        call("DELETE", f"/{INDEX}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 250_000)

"""The search side's limit: OpenSearch's raw `_bulk` of the same documents, pre-serialized.

The documents are exactly those the load writes (each normalized batch's companies and
contact documents, nulls left out, with the store's JSON encoding), serialized to NDJSON
chunks of about CHUNK_BYTES *before* the clock starts, into fresh indices with the same
mappings (prefix `bench_raw_`). The clock covers sending every chunk with THREADS
connections at once and the refresh that makes them searchable: what the node can take.

Two forms are sent: `index` actions (the cheapest way in: the limit) and the store's own
`update` + `doc_as_upsert` lines (bulk.encode, byte for byte what load_file sends), which
says how much the partial-update semantics cost the node apart from Python's encoding.
"""

from __future__ import annotations

import http.client
import json
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from bench.data import NormalizedFile
from bench.env import RAW_INDEX_PREFIX, BenchEnv
from bench.procstat import CpuMeter
from stores.search import BulkOptions, make_search_store
from stores.search.bulk import documents_of, encode, json_ready

CHUNK_BYTES = 8 * 1024 * 1024
THREADS = 4


def index_lines(alias: str, table: pa.Table) -> Iterator[bytes]:
    head = b'{"index":{"_index":' + orjson.dumps(alias) + b',"_id":'
    for doc_id, doc in documents_of(json_ready(table), 20_000):
        yield head + orjson.dumps(doc_id) + b"}}\n" + orjson.dumps(doc) + b"\n"


def _update_lines(alias: str, table: pa.Table) -> Iterator[bytes]:
    for _, line in encode(alias, table, BulkOptions()):
        yield line


def serialize(normalized: NormalizedFile, out: Path, form: str,
              prefix: str = RAW_INDEX_PREFIX, chunk_bytes: int = CHUNK_BYTES) -> dict[str, int]:
    """Writes the NDJSON chunks (about `chunk_bytes` each) of every batch's documents (into
    `prefix`'s indices) into `out`; returns counts."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    lines = index_lines if form == "index" else _update_lines
    chunk: list[bytes] = []
    size = chunks = docs = 0

    def flush() -> None:
        nonlocal chunk, size, chunks
        if chunk:
            (out / f"{chunks:05d}.ndjson").write_bytes(b"".join(chunk))
            chunks += 1
            chunk, size = [], 0

    for batch in range(normalized.batches):
        for service, kind in (("companies", "companies"), ("contacts", "documents")):
            alias = f"{prefix}{service}"
            for line in lines(alias, normalized.table(batch, kind)):
                chunk.append(line)
                size += len(line)
                docs += 1
                if size >= chunk_bytes:
                    flush()
    flush()
    return {"chunks": chunks, "actions": docs,
            "bytes": sum(p.stat().st_size for p in out.glob("*.ndjson"))}


def _post(connection: http.client.HTTPConnection, path: str, body: bytes) -> dict[str, Any]:
    connection.request("POST", path, body=body,
                       headers={"Content-Type": "application/x-ndjson"})
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"POST {path}: {response.status} {data[:500]!r}")
    answer: dict[str, Any] = json.loads(data)
    return answer


def send(env: BenchEnv, folder: Path, threads: int = THREADS,
         prefix: str = RAW_INDEX_PREFIX) -> dict[str, Any]:
    """Sends the chunks of `folder` with `threads` connections, then refreshes `prefix`'s
    indices; timed."""
    host, port = env.services["ELASTICSEARCH_HOST"], int(env.services["ELASTICSEARCH_PORT"])
    files = sorted(folder.glob("*.ndjson"))
    work: queue.Queue[Path] = queue.Queue()
    for path in files:
        work.put(path)
    errors: list[str] = []

    def sender() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=300)
        try:
            while not errors:
                try:
                    path = work.get_nowait()
                except queue.Empty:
                    return
                answer = _post(connection, "/_bulk?filter_path=errors,items.*.error",
                               path.read_bytes())
                if answer.get("errors"):
                    errors.append(json.dumps(answer)[:1000])
        except Exception as exc:  # noqa: BLE001 - reported to the caller below
            errors.append(repr(exc))
        finally:
            connection.close()

    with CpuMeter() as meter:
        started = time.perf_counter()
        pool = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        refresh = http.client.HTTPConnection(host, port, timeout=300)
        _post(refresh, f"/{prefix}contacts,{prefix}companies/_refresh", b"")
        refresh.close()
        seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"raw _bulk failed: {errors[0]}")
    return {"seconds": round(seconds, 3), "threads": threads,
            "cpu_cores": meter.cores}


def raw_bulk(env: BenchEnv, normalized: NormalizedFile, form: str,
             threads: int = THREADS, chunk_bytes: int = CHUNK_BYTES) -> dict[str, Any]:
    """Fresh `bench_raw_` indices, the serialized chunks sent, the indices counted and dropped."""
    settings = env.settings()
    assert settings.search is not None
    store = make_search_store(settings.search, RAW_INDEX_PREFIX)
    folder = env.work / "bulk" / f"{normalized.rows_read}-{form}"
    try:
        store.drop_indices()
        store.ensure_indices()
        started = time.perf_counter()
        counts = serialize(normalized, folder, form, chunk_bytes=chunk_bytes)
        serialize_s = time.perf_counter() - started
        result = send(env, folder, threads)
        client = env.opensearch()
        try:
            documents = sum(int(client.count(index=f"{RAW_INDEX_PREFIX}{s}")["count"])
                            for s in ("contacts", "companies"))
        finally:
            client.close()
        return {**result, **counts, "form": form, "documents": documents,
                "serialize_s": round(serialize_s, 2),
                "rows_per_s": round(normalized.rows_read / result["seconds"], 1),
                "mb_per_s": round(counts["bytes"] / 1e6 / result["seconds"], 2)}
    finally:
        store.drop_indices()
        store.close()
        shutil.rmtree(folder, ignore_errors=True)

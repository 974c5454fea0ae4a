"""`python -m bench.substring_queries [ROWS] [RUNS] [VARIANTS] [--private]`: what substring
queries cost on the index mappings of bench/mapping_variants.py that answer them (issue 17,
BENCHMARKS.md *Substring: trigram phrases, the wildcard field or keyword patterns*).

The contact documents a load of the ROWS-row sample writes (bench.data, as bench.mapping
builds them) go into one contacts index per variant (`shipped`: the n-gram sub-field,
a trigram phrase; `wildcard-type`, `wildcard-type-dv`: OpenSearch's `wildcard` sub-field;
`keyword-wildcard`: `*needle*` on the lowercase keyword), force-merged to one segment (the
same shape for every variant; untimed). Each query is the body vql.compile_search makes for a
substring condition (25 rows, newest first, total hits counted), with the path of the
variant. Before timing, every variant's answer is checked against the documents themselves
(`strpos(lower(value), lower(needle))` in Arrow): the same total and the same 25 ids.
Then RUNS rounds, the variants alternating in each, every query once per variant per round,
on one keep-alive connection: p50 and p95 of the client's wall time and of the node's `took`.
Index prefix `bench<CONNECTRA_BENCH_TAG>_subq_`, dropped afterwards.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bench.data import NormalizedFile, normalize_file, sample_file
from bench.env import INDEX_PREFIX, BenchEnv
from bench.limits_search import CHUNK_BYTES, index_lines
from bench.mapping_variants import VARIANTS, WILDCARD_SUBFIELD
from bench.node import Node
from tests.reliability.servers import PrivateOpenSearch
from vql import compile_search, parse_query

PREFIX = f"{INDEX_PREFIX}subq_"
DEFAULT_VARIANTS = ("shipped", "wildcard-type", "keyword-wildcard")
# (field, needle): the query bench's substring, then needles of 3, 4 and 8 characters.
NEEDLES: tuple[tuple[str, str], ...] = (
    ("email", "logic"),
    ("email", "son"), ("email", "mart"), ("email", "williams"),
    ("company_name", "tec"), ("company_name", "labs"), ("company_name", "software"),
)
MODES = {"shipped": "ngram", "wildcard-type": "wildcard", "wildcard-type-dv": "wildcard",
         "keyword-wildcard": "wildcard"}


def body_for(variant: str, field: str, needle: str) -> dict[str, Any]:
    """The search body of a substring condition, as the API sends it, on the variant's path."""
    query = parse_query(service="contacts", body={"where": {"text_matches": {"must": [
        {"filter_key": field, "text_value": needle, "search_type": "substring"}]}}})
    body = compile_search(query, MODES[variant])  # type: ignore[arg-type]
    if variant.startswith("wildcard-type"):
        text = json.dumps(body).replace(f'"{field}.keyword"', f'"{field}.{WILDCARD_SUBFIELD}"')
        body = json.loads(text)
    return body


def expected(normalized: NormalizedFile, field: str, needle: str) -> set[str]:
    """The ids of the documents whose value holds the needle, case-insensitively."""
    ids: set[str] = set()
    for batch in range(normalized.batches):
        table = normalized.table(batch, "documents")
        values = pc.utf8_lower(table[field].cast(pa.string()))
        hit = pc.fill_null(pc.match_substring(values, needle.lower()), False)
        ids.update(table.filter(hit)["id"].to_pylist())
    return ids


def _chunks(normalized: NormalizedFile, index: str) -> Iterator[bytes]:
    chunk: list[bytes] = []
    size = 0
    for batch in range(normalized.batches):
        for line in index_lines(index, normalized.table(batch, "documents")):
            chunk.append(line)
            size += len(line)
            if size >= CHUNK_BYTES:
                yield b"".join(chunk)
                chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


def main(rows: int, runs: int, variants: tuple[str, ...], private: bool) -> None:
    env = BenchEnv.load()
    sample, _ = sample_file(env.landing, rows)
    started = time.perf_counter()
    normalized = normalize_file(sample, env.work / "norm-subq" / str(rows))
    print(f"{normalized.rows_read:,} rows normalized in {time.perf_counter() - started:.0f} s",
          flush=True)
    truth = {(f, n): expected(normalized, f, n) for f, n in NEEDLES}
    node_process = PrivateOpenSearch(heap="1g").start() if private else None
    try:
        host, port = ((("127.0.0.1", node_process.http_port)) if node_process else
                      (env.services["ELASTICSEARCH_HOST"], int(env.services["ELASTICSEARCH_PORT"])))
        node = Node(host, int(port))
        run(node, normalized, truth, runs, variants)
    finally:
        if node_process is not None:
            node_process.close()
        shutil.rmtree(normalized.folder, ignore_errors=True)


def load(node: Node, normalized: NormalizedFile, variants: tuple[str, ...]) -> None:
    for name in variants:
        index = f"{PREFIX}{name}"
        node.call("DELETE", f"/{index}")
        body = VARIANTS[name][1]("contacts")
        body["settings"]["index"]["refresh_interval"] = "-1"
        node.call("PUT", f"/{index}", body)
        started = time.perf_counter()
        for chunk in _chunks(normalized, index):
            answer = node.call("POST", f"/{index}/_bulk?filter_path=errors,items.*.error",
                               chunk, ndjson=True)
            if answer.get("errors"):
                raise RuntimeError(json.dumps(answer)[:500])
        node.call("POST", f"/{index}/_refresh")
        sent = time.perf_counter() - started
        node.call("POST", f"/{index}/_forcemerge?max_num_segments=1")
        node.call("PUT", f"/{index}/_settings", {"index": {"refresh_interval": None}})
        count = node.call("GET", f"/{index}/_count")["count"]
        size = node.segment_bytes(index)
        print(f"{name}: {count:,} documents sent in {sent:.0f} s, merged {size / 2**20:.0f} MiB",
              flush=True)


def run(node: Node, normalized: NormalizedFile, truth: dict[tuple[str, str], set[str]],
        runs: int, variants: tuple[str, ...]) -> None:
    try:
        load(node, normalized, variants)
        bodies = {(v, f, n): body_for(v, f, n) for v in variants for f, n in NEEDLES}
        for (variant, field, needle), body in bodies.items():  # answers checked first
            check = {**body, "size": 10_000}
            answer = node.call("POST", f"/{PREFIX}{variant}/_search", check)
            total = answer["hits"]["total"]["value"]
            got = {hit["_id"] for hit in answer["hits"]["hits"]}
            want = truth[(field, needle)]
            page_ok = got == want if len(want) <= 10_000 else got <= want
            if total != len(want) or not page_ok:
                raise SystemExit(f"{variant} {field}~{needle!r}: {total} hits, "
                                 f"expected {len(want)} (ids agree: {page_ok})")
        print("answers: every variant = strpos(lower(value), lower(needle)) "
              f"({', '.join(f'{f}~{n}: {len(truth[(f, n)]):,}' for f, n in NEEDLES)})",
              flush=True)
        wall: dict[tuple[str, str, str], list[float]] = {key: [] for key in bodies}
        took: dict[tuple[str, str, str], list[float]] = {key: [] for key in bodies}
        for _ in range(3):  # warm-up, untimed
            for key, body in bodies.items():
                node.call("POST", f"/{PREFIX}{key[0]}/_search", body)
        for round_ in range(runs):
            order = variants if round_ % 2 == 0 else variants[::-1]
            for variant in order:
                for field, needle in NEEDLES:
                    key = (variant, field, needle)
                    started = time.perf_counter()
                    answer = node.call("POST", f"/{PREFIX}{variant}/_search", bodies[key])
                    wall[key].append((time.perf_counter() - started) * 1000)
                    took[key].append(float(answer["took"]))
        print(table(wall, took, variants))
    finally:
        for name in variants:
            node.call("DELETE", f"/{PREFIX}{name}")


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def table(wall: dict[tuple[str, str, str], list[float]],
          took: dict[tuple[str, str, str], list[float]], variants: tuple[str, ...]) -> str:
    head = "| query |" + "".join(f" {v}: p50 ms (took p50), p95 |" for v in variants)
    lines = [head, "|---" * (1 + len(variants)) + "|"]
    for field, needle in NEEDLES:
        line = f"| {field} ~ `{needle}` |"
        base = statistics.median(wall[(variants[0], field, needle)])
        for variant in variants:
            key = (variant, field, needle)
            p50 = statistics.median(wall[key])
            line += (f" {p50:.1f} ({statistics.median(took[key]):.0f}), {_p(wall[key], 95):.1f}"
                     f" = {p50 / base:.2f}x |")
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 1_000_000, int(args[1]) if len(args) > 1 else 50,
         tuple(args[2].split(",")) if len(args) > 2 else DEFAULT_VARIANTS,
         private="--private" in sys.argv)

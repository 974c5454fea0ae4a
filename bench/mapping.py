"""`python -m bench.mapping [ROWS] [ROUNDS] [VARIANTS] [--no-merge] [--private] [--heap=4g]`:
the raw `_bulk` limit into index mappings named in bench/mapping_variants.py (VARIANTS:
comma-separated names, default `before,lean`: the mapping before issue 17.1, with an n-gram
sub-field on every text field, against the lean one of 17.1), and what each index weighs.

The limit is bench/limits_search.py's: the documents the load writes (each normalized
batch's companies and contact documents), serialized once to NDJSON `index` actions before
any clock starts, sent with 4 connections into fresh indices of one mapping, then refreshed.
The variants alternate over ROUNDS rounds (A B C, C B A, ...) so that a drift of the shared
machine does not favour one; besides the wall time, the node's CPU-seconds over the send say
what the mapping cost it (less sensitive to other work on the machine). `--private` sends to
a node of this run's own (tests/reliability/servers.py, 1 GiB heap like the services' node
unless `--heap=` says otherwise; 4g measured the same), whose process CPU-seconds count this
run's requests alone: on a machine where other sessions write to the shared node, its
CPU-seconds are theirs too (a first, unrecorded send warms its new JVM up). After each send
the size of the indices' live segments is read, then (unless --no-merge) again after a
force-merge to one segment (the size that does not depend on the merges the node happened to
run). The end prints a Markdown table with each variant's ratios to `before` and `lean`. A
side experiment (BENCHMARKS.md, issue 17), not part of `make bench`; index prefix
`bench<CONNECTRA_BENCH_TAG>_lean_`, dropped afterwards.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import sys
import time
from dataclasses import dataclass

from bench.data import normalize_file, sample_file
from bench.env import INDEX_PREFIX, BenchEnv
from bench.limits_search import send, serialize
from bench.mapping_variants import VARIANTS
from bench.node import Node
from bench.procstat import process_cpu_seconds
from tests.reliability.servers import PrivateOpenSearch

PREFIX = f"{INDEX_PREFIX}lean_"
SERVICES = ("contacts", "companies")
DEFAULT_VARIANTS = ("before", "lean")
PRIVATE_HEAP = "1g"  # as the node of `make services`


def main(rows: int = 200_000, rounds: int = 2, variants: tuple[str, ...] = DEFAULT_VARIANTS,
         merge: bool = True, private: bool = False, heap: str = PRIVATE_HEAP) -> None:
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    env = BenchEnv.load()
    if not private:
        run(env, rows, rounds, variants, merge, None)
        return
    node = PrivateOpenSearch(heap=heap).start()
    try:
        assert node.process is not None
        port = str(node.http_port)
        services = {**env.services, "ELASTICSEARCH_HOST": "127.0.0.1", "ELASTICSEARCH_PORT": port}
        run(dataclasses.replace(env, services=services), rows, rounds, variants, merge,
            node.process.pid)
    finally:
        node.close()


def run(env: BenchEnv, rows: int, rounds: int, variants: tuple[str, ...], merge: bool,
        node_pid: int | None) -> None:
    """The rounds against the node of env.services; ``node_pid``: a node of our own, whose
    process CPU-seconds alone are the node's (else the group of every OpenSearch JVM)."""
    host, port = env.services["ELASTICSEARCH_HOST"], int(env.services["ELASTICSEARCH_PORT"])
    node = Node(host, port, timeout=900)
    both = f"{PREFIX}contacts,{PREFIX}companies"

    sample, _ = sample_file(env.landing, rows)
    normalized = normalize_file(sample, env.work / "norm-lean" / str(rows))
    folder = env.work / "bulk-lean" / str(rows)
    counts = serialize(normalized, folder, "index", prefix=PREFIX)
    print(f"{normalized.rows_read:,} rows: {counts['actions']:,} actions, "
          f"{counts['bytes'] / 1e6:,.0f} MB in {counts['chunks']} chunks", flush=True)
    results: dict[str, list[Measured]] = {name: [] for name in variants}
    # A first send into a new JVM also pays its JIT compilation: one unrecorded send first.
    plan = [(0, variants[0], False)] if node_pid else []
    for round_ in range(rounds):
        plan += [(round_ + 1, name, True)
                 for name in (variants if round_ % 2 == 0 else variants[::-1])]
    try:
        for round_, name, recorded in plan:
            label, body_for = VARIANTS[name]
            for service in SERVICES:
                node.call("DELETE", f"/{PREFIX}{service}")
                node.call("PUT", f"/{PREFIX}{service}", body_for(service))
            cpu_before = process_cpu_seconds(node_pid) if node_pid else 0.0
            result = send(env, folder, prefix=PREFIX)
            size = node.segment_bytes(both)
            merged, merge_s = 0, 0.0
            if merge:
                started = time.perf_counter()
                node.call("POST", f"/{both}/_forcemerge?max_num_segments=1")
                node.call("POST", f"/{both}/_refresh")
                merged, merge_s = node.segment_bytes(both), time.perf_counter() - started
            node_cpu = (process_cpu_seconds(node_pid) - cpu_before if node_pid else
                        result["cpu_cores"].get("opensearch", 0.0) * result["seconds"])
            if recorded:
                results[name].append(Measured(result["seconds"], node_cpu, size, merged))
            print(f"round {round_} {label:44s} {result['seconds']:6.1f} s "
                  f"{normalized.rows_read / result['seconds']:8,.0f} rows/s  "
                  f"node {node_cpu:5.0f} CPU-s (machine {result['cpu_cores']['machine']:.2f}"
                  " cores busy)  "
                  f"store {size / 2**20:6.0f} MiB, {merged / 2**20:6.0f} MiB merged "
                  f"({merge_s:.0f} s)", flush=True)
    finally:
        for service in SERVICES:
            node.call("DELETE", f"/{PREFIX}{service}")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(normalized.folder, ignore_errors=True)
        node.close()
    print(summary(results, normalized.rows_read))


@dataclass(frozen=True)
class Measured:
    seconds: float
    node_cpu: float
    size: int
    merged: int


def summary(results: dict[str, list[Measured]], rows: int) -> str:
    """A Markdown table: per variant the median wall time and mean node CPU-seconds, and
    their ratios (speed-up: higher is faster) to ``before`` and ``lean`` when measured."""
    def wall(name: str) -> float:
        return statistics.median(m.seconds for m in results[name])

    def cpu(name: str) -> float:
        return statistics.mean(m.node_cpu for m in results[name])

    bases = [b for b in ("before", "lean") if b in results and results[b]]
    head = "| variant | wall s (median) | rows/s | node CPU-s (mean) | MiB merged |"
    head += "".join(f" vs {b}: wall, CPU |" for b in bases)
    lines = [head, "|---" * (5 + len(bases)) + "|"]
    for name, measured in results.items():
        if not measured:
            continue
        line = (f"| {VARIANTS[name][0]} | {wall(name):.1f} | {rows / wall(name):,.0f} | "
                f"{cpu(name):.0f} | {max(m.merged for m in measured) / 2**20:.0f} |")
        for base in bases:
            line += f" {wall(base) / wall(name):.2f}x, {cpu(base) / cpu(name):.2f}x |"
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    numbers = [int(a) for a in args[:2]]
    main(numbers[0] if numbers else 200_000, numbers[1] if len(numbers) > 1 else 2,
         variants=tuple(args[2].split(",")) if len(args) > 2 else DEFAULT_VARIANTS,
         merge="--no-merge" not in sys.argv, private="--private" in sys.argv,
         heap=next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--heap=")),
                   PRIVATE_HEAP))

"""A small closed-loop load generator: N threads, each calling one request after another.

Each thread builds its own worker first (an HTTP connection, say), then calls it until the
deadline; latencies after the warm-up are kept. Throughput is completed requests per
second of the measured window. Bounded in time and count, and only ever aimed at loopback.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.procstat import CpuMeter

Worker = Callable[[], object]
MAX_REQUESTS = 200_000  # per run, whatever the duration: a runaway loop stops by itself


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of unsorted values (share in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(share * len(ordered) + 0.5))))
    return ordered[rank - 1]


def drive(make_worker: Callable[[], Worker], concurrency: int, seconds: float,
          warmup_s: float = 0.3, min_requests: int = 8) -> dict[str, Any]:
    """Runs `concurrency` threads for warmup_s + seconds (longer, up to 3x, until at least
    min_requests are measured: a slow query still gets a percentile); returns the figures."""
    latencies = run(make_worker, concurrency, seconds, warmup_s, min_requests)
    return summarize(latencies, concurrency)


def run(make_worker: Callable[[], Worker], concurrency: int, seconds: float,
        warmup_s: float = 0.3, min_requests: int = 8) -> Latencies:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    ready = threading.Barrier(concurrency + 1)
    window: dict[str, float] = {}

    def finished(now: float) -> bool:
        if now >= window["hard_end"]:
            return True
        done = sum(len(part) for part in latencies)
        return done >= MAX_REQUESTS or (now >= window["end"] and done >= min_requests)

    def loop(slot: int) -> None:
        try:
            worker = make_worker()
        except Exception as exc:  # noqa: BLE001 - reported with the figures
            errors.append(repr(exc))
            ready.wait()
            return
        ready.wait()
        mine = latencies[slot]
        while True:
            now = time.perf_counter()
            if finished(now):
                return
            try:
                worker()
            except Exception as exc:  # noqa: BLE001 - counted, the run goes on
                errors.append(repr(exc))
                time.sleep(0.01)
                continue
            done = time.perf_counter()
            if done >= window["start"]:  # a request slower than the warm-up still counts
                mine.append((done - now) * 1000)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    window["start"] = time.perf_counter() + warmup_s
    window["end"] = window["start"] + seconds
    window["hard_end"] = window["start"] + 3 * seconds
    ready.wait()
    with CpuMeter() as meter:
        for thread in threads:
            thread.join()
    cores = meter.cores
    measured = time.perf_counter() - window["start"]
    return Latencies([x for part in latencies for x in part], errors, measured, cores)


@dataclass
class Latencies:
    """Raw figures of one or more runs of the same thing (merged by `+`)."""

    ms: list[float]
    errors: list[str]
    seconds: float
    cpu_cores: dict[str, float]

    def __add__(self, other: Latencies) -> Latencies:
        total = self.seconds + other.seconds
        cores = {k: round((self.cpu_cores.get(k, 0) * self.seconds
                           + other.cpu_cores.get(k, 0) * other.seconds) / total, 2)
                 for k in {*self.cpu_cores, *other.cpu_cores}}
        return Latencies(self.ms + other.ms, self.errors + other.errors, total, cores)


def summarize(latencies: Latencies, concurrency: int) -> dict[str, Any]:
    merged = latencies.ms
    return {
        "concurrency": concurrency,
        "requests": len(merged),
        "errors": len(latencies.errors),
        "first_error": latencies.errors[0] if latencies.errors else None,
        "p50_ms": round(percentile(merged, 0.50), 2),
        "p95_ms": round(percentile(merged, 0.95), 2),
        "p99_ms": round(percentile(merged, 0.99), 2),
        "mean_ms": round(sum(merged) / len(merged), 2) if merged else None,
        "throughput_rps": round(len(merged) / max(latencies.seconds, 1e-6), 1),
        "cpu_cores": dict(sorted(latencies.cpu_cores.items())),
    }


class ApiClient:
    """One keep-alive HTTP/1.1 connection to the API, as a browser or SDK would hold."""

    def __init__(self, port: int, api_key: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"X-API-Key": api_key, "Content-Type": "application/json",
                        "Accept-Encoding": "gzip"}

    def post(self, path: str, body: bytes) -> bytes:
        self.connection.request("POST", path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.getheader("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status} {data[:300]!r}")
        return data

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.post(path, json.dumps(body).encode()))
        return answer

    def close(self) -> None:
        self.connection.close()

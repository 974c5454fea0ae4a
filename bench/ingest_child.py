"""One end-to-end load, in a process of its own:
`python -m bench.ingest_child WORK KEY [N [records-only]]`.

N is BATCH_SIZE_FOR_INSERTION (default 500, the setting's default; a read batch is 40 x N);
`records-only` loads PostgreSQL alone (the search store writes nothing).

The process does what a Dagster run of the file does once its stores are open: load_file
from the landing folder (a LocalLandingZone) into PostgreSQL and OpenSearch, then the
refresh that makes the documents searchable (inside load_file). Its own peak resident set
(VmHWM) is the memory figure; a fresh process per load keeps one load's peak from hiding
another's. The stores are wrapped so the time each side spends writing is known, and the
normalizer so its share is known too; neither wrapper changes what is written.

Prints one JSON line on stdout: the counts, the seconds, the per-side busy times, and the
resident set after each batch.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

import assets.loading as ingest
from bench.data import BATCH_SIZE_FOR_INSERTION
from bench.env import INDEX_PREFIX, BenchEnv
from bench.procstat import status_kb
from dbt_like_sql.normalize import FileNormalizer
from stores.factory import Stores, open_stores
from stores.landing import LocalLandingZone


class TimedCalls:
    """Forwards every call to `inner`, adding up the seconds spent per method."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = target(*args, **kwargs)
            finally:
                self._add(name, time.perf_counter() - started)
            if isinstance(result, contextlib.AbstractContextManager):
                return self._timed_block(name, result)
            return result

        return timed

    @contextlib.contextmanager
    def _timed_block(self, name: str, block: Any) -> Iterator[Any]:
        """A context manager's entry and exit are the method's work (upserted_documents:
        the merge, then the commit); the time inside the block is its caller's."""
        started = time.perf_counter()
        value = block.__enter__()
        self._add(name, time.perf_counter() - started)
        try:
            yield value
        except BaseException as error:
            started = time.perf_counter()
            if not block.__exit__(type(error), error, error.__traceback__):
                raise
        else:
            started = time.perf_counter()
            block.__exit__(None, None, None)
        finally:
            self._add(name, time.perf_counter() - started)

    def _add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @property
    def busy(self) -> float:
        return sum(self.seconds.values())


class TimedNormalizer(FileNormalizer):
    """FileNormalizer that keeps the seconds its batches took (the main thread's work) and
    how much memory its DuckDB connection holds after each batch (what it keeps from batch
    to batch grows with the file's distinct entities)."""

    seconds = 0.0
    duckdb_mb = 0.0

    def process(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().process(*args, **kwargs)
        finally:
            TimedNormalizer.seconds += time.perf_counter() - started
            [(used,)] = self._con.sql(
                "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchall()
            TimedNormalizer.duckdb_mb = round(int(used) / 2**20, 1)


class NoSearch:
    """A search store that writes nothing: the records-only variant of the load, which
    shows what normalization + PostgreSQL reach when the search engine takes no core."""

    index_prefix = INDEX_PREFIX

    def ensure_indices(self) -> None: ...

    def index_documents(self, service: str, sources: Any) -> int:
        return 0

    def refresh(self) -> None: ...

    def close(self) -> None: ...


def run(work: Path, key: str, batch_rows: int = BATCH_SIZE_FOR_INSERTION,
        records_only: bool = False) -> dict[str, Any]:
    env = BenchEnv.load(work)
    settings = env.settings()
    stores = open_stores(settings, index_prefix=INDEX_PREFIX)
    if records_only:
        stores.search.close()
        stores = Stores(records=stores.records, search=NoSearch(),  # type: ignore[arg-type]
                        cursors=stores.cursors)
    stores.search.ensure_indices()  # `connectra migrate` does this before any run
    records, search = TimedCalls(stores.records), TimedCalls(stores.search)
    timed = Stores(records=records, search=search, cursors=stores.cursors)
    ingest.FileNormalizer = TimedNormalizer  # type: ignore[misc]
    timeline: list[dict[str, float]] = []

    def progress(state: ingest.LoadProgress) -> None:
        timeline.append({"t": round(time.perf_counter() - started, 3),
                         "rows_read": state.rows_read,
                         "rss_mb": round(status_kb("VmRSS") / 1024, 1),
                         "arrow_mb": round(pa.total_allocated_bytes() / 2**20, 1),
                         "normalizer_duckdb_mb": TimedNormalizer.duckdb_mb})

    baseline_mb = status_kb("VmRSS") / 1024
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    state = ingest.load_file(LocalLandingZone(env.landing), key, timed, f"bench-{uuid.uuid4()}",
                             batch_rows=batch_rows, progress=progress)
    seconds = time.perf_counter() - started
    cpu_s = _cpu_seconds() - cpu_before
    load_peak_mb = status_kb("VmHWM") / 1024  # before the check, which reads every id
    agree = None if records_only else ingest.stores_agree(stores, key).passed
    stores.close()
    return {
        "key": key,
        "seconds": round(seconds, 3),
        "rows_read": state.rows_read,
        "rows_loaded": state.rows_loaded,
        "rows_merged": state.rows_merged,
        "rows_rejected": state.rows_rejected,
        "batches": state.batches,
        "batch_rows": batch_rows * ingest.READ_BATCH_FACTOR,
        "rows_per_s": round(state.rows_read / seconds, 1),
        "loader_cpu_s": round(cpu_s, 2),
        "stores_agree": agree,
        "loader_cpu_s_per_1m_rows": round(cpu_s * 1e6 / max(state.rows_read, 1), 1),
        "records_busy_s": round(records.busy, 3),
        "records_calls_s": {k: round(v, 3) for k, v in records.seconds.items()},
        "search_busy_s": round(search.busy, 3),
        "search_calls_s": {k: round(v, 3) for k, v in search.seconds.items()},
        "normalize_s": round(TimedNormalizer.seconds, 3),
        "rss_before_load_mb": round(baseline_mb, 1),
        "peak_rss_mb": round(status_kb("VmHWM") / 1024, 1),
        "peak_rss_mb_load": round(load_peak_mb, 1),
        "timeline": timeline,
    }


def _cpu_seconds() -> float:
    """CPU seconds of this process so far, every thread (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    work, key = Path(sys.argv[1]), sys.argv[2]
    batch_rows = int(sys.argv[3]) if len(sys.argv) > 3 else BATCH_SIZE_FOR_INSERTION
    records_only = len(sys.argv) > 4 and sys.argv[4] == "records-only"
    print(json.dumps(run(work, key, batch_rows, records_only)), flush=True)


if __name__ == "__main__":
    main()

"""The whole benchmark in one run: ingest (two sizes) beside its limits and the peer, then the
queries on the loaded data through the API and direct, then the same on DuckDB.

Order matters and is chosen for it: each ingest figure gets empty tables and indices of its
own; the large end-to-end load runs last among the ingest steps, so its data is what the
query phase reads; the embedded DuckDB file is loaded from the same normalized batches.
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.children import run_child
from bench.data import (
    BATCH_SIZE_FOR_INSERTION,
    NormalizedFile,
    SampleFile,
    normalize_file,
    sample_file,
)
from bench.embedded import load_duckdb
from bench.env import DLT_DATASET, INDEX_PREFIX, RAW_INDEX_PREFIX, BenchEnv
from bench.limits_pg import raw_copy, staged_upsert, truncate_records
from bench.limits_search import raw_bulk
from bench.machine import changed_since, describe, source_mtimes
from bench.profiles import summarize
from bench.queries import QUERIES, by_name
from bench.query_bench import run_queries


@dataclass(frozen=True)
class Options:
    rows: int = 1_000_000
    small: int = 250_000
    queries_seconds: float = 2.5
    quick: bool = False
    profile: bool = True
    dlt: bool = True
    update_form_sizes: tuple[int, ...] = ()  # sizes whose raw _bulk is also sent as updates
    queries: str | None = None
    phases: tuple[str, ...] = ("ingest", "queries", "embedded")
    keep: bool = False
    work: Path | None = None


class Log:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[bench {time.monotonic() - self.started:7.1f}s] {message}", flush=True)


def _drop_dlt(env: BenchEnv) -> None:
    with psycopg.connect(env.pg_url(), autocommit=True) as conn:
        for schema in (DLT_DATASET, f"{DLT_DATASET}_staging"):
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _fresh_stores(env: BenchEnv) -> None:
    truncate_records(env)
    env.drop_indices(INDEX_PREFIX)


def ingest_size(env: BenchEnv, sample: SampleFile, normalized: NormalizedFile, opts: Options,
                log: Log, profile_dir: Path | None) -> dict[str, Any]:
    """Every ingest figure of one file: limits, peer, end-to-end (last: its data stays)."""
    out: dict[str, Any] = {"rows": sample.rows, "csv_mb": round(sample.size_mb, 1),
                           "expected": sample.expected, "normalized": normalized.as_dict()}
    _fresh_stores(env)
    log(f"{sample.rows:,}: PostgreSQL raw COPY")
    out["pg_raw_copy"] = raw_copy(env, normalized)
    log(f"{sample.rows:,}: PostgreSQL staged COPY + upsert (the store's path)")
    out["pg_copy_upsert"] = staged_upsert(env, normalized)
    log(f"{sample.rows:,}: OpenSearch raw _bulk (index actions)")
    out["raw_bulk"] = raw_bulk(env, normalized, "index")
    if sample.rows in opts.update_form_sizes:
        log(f"{sample.rows:,}: OpenSearch raw _bulk (the store's update lines)")
        out["raw_bulk_update"] = raw_bulk(env, normalized, "update")
    if opts.dlt:
        log(f"{sample.rows:,}: dlt peer")
        _drop_dlt(env)
        out["dlt"] = run_child("bench.dlt_child", [str(env.work), sample.key])
        _drop_dlt(env)
    if profile_dir is not None:
        log(f"{sample.rows:,}: end-to-end load under py-spy (profile only)")
        _fresh_stores(env)
        raw = env.work / "profiles" / f"ingest-{sample.rows}.txt"
        profiled = run_child("bench.ingest_child", [str(env.work), sample.key], profile=raw)
        out["e2e_profiled"] = {k: profiled[k] for k in ("seconds", "rows_per_s")}
        out["e2e_profile"] = summarize(raw)
    log(f"{sample.rows:,}: load_file into PostgreSQL alone (records only, no search engine)")
    _fresh_stores(env)
    out["e2e_records_only"] = run_child(
        "bench.ingest_child",
        [str(env.work), sample.key, str(BATCH_SIZE_FOR_INSERTION), "records-only"])
    log(f"{sample.rows:,}: end-to-end load_file into PostgreSQL + OpenSearch")
    _fresh_stores(env)
    e2e = run_child("bench.ingest_child", [str(env.work), sample.key])
    out["e2e"] = e2e
    mismatch = {k: (e2e[f"rows_{k}"], v) for k, v in sample.expected.items()
                if e2e.get(f"rows_{k}") != v}
    out["counts_match_manifest"] = not mismatch
    if mismatch:
        log(f"WARNING counts differ from the manifest: {mismatch}")
    log(f"{sample.rows:,}: e2e {e2e['rows_per_s']:,.0f} rows/s, peak RSS {e2e['peak_rss_mb']} MB")
    return out


@contextmanager
def _phase(results: dict[str, Any], name: str, log: Log) -> Iterator[None]:
    """A failed phase is logged and recorded; the run goes on with the next one, so the
    figures that were measured still get written."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - reported in the results and the log
        log(f"FAILED {name}: {exc!r}")
        results.setdefault("errors", {})[name] = traceback.format_exc()[-4000:]


def run_all(opts: Options) -> dict[str, Any]:
    log = Log()
    sources = source_mtimes()
    env = BenchEnv.load(opts.work)
    results: dict[str, Any] = {"meta": describe(env), "options": {
        "rows": opts.rows, "small": opts.small, "queries_seconds": opts.queries_seconds,
        "quick": opts.quick, "profile": opts.profile, "phases": list(opts.phases)}}
    profile_dir = env.work / "profiles" if opts.profile else None
    log(f"work folder {env.work}; database connectra_bench, index prefixes {INDEX_PREFIX}, "
        f"{RAW_INDEX_PREFIX}")
    env.recreate_database()
    env.drop_indices()
    try:
        sizes = sorted({opts.small, opts.rows})
        files: dict[int, tuple[SampleFile, NormalizedFile]] = {}
        for rows in sizes:
            sample, generated = sample_file(env.landing, rows)
            log(f"{rows:,} rows: {sample.path.name} ({sample.size_mb:.0f} MB)"
                + (f", generated in {generated:.1f}s" if generated else ", reused"))
            normalized = normalize_file(sample, env.work / "norm" / str(rows))
            log(f"{rows:,} rows normalized once to Parquet in {normalized.seconds:.1f}s "
                f"({normalized.batches} batches)")
            files[rows] = (sample, normalized)
        if "ingest" in opts.phases:
            results["ingest_sizes"] = {}
            for rows in sizes:  # the largest last: its end-to-end load feeds the queries
                sample, normalized = files[rows]
                with _phase(results, f"ingest {rows}", log):
                    results["ingest_sizes"][str(rows)] = ingest_size(
                        env, sample, normalized, opts, log,
                        profile_dir if rows == min(sizes) else None)
        queries = by_name(opts.queries) if opts.queries else QUERIES
        if "queries" in opts.phases:
            log(f"queries at {opts.rows:,} rows: API on waitress vs direct (OpenSearch + "
                "PostgreSQL)")
            with _phase(results, "queries", log):
                results["queries"] = run_queries(env, "production", queries,
                                                 opts.queries_seconds, profile_dir=profile_dir)
        if "embedded" in opts.phases:
            log(f"embedded: DuckDB loaded from the {opts.rows:,}-row normalized batches")
            with _phase(results, "embedded", log):
                results["embedded_load"] = load_duckdb(env, files[opts.rows][1])
                log("embedded: queries, API on waitress vs DuckDBStore direct")
                results["embedded_queries"] = run_queries(env, "embedded", queries,
                                                          opts.queries_seconds,
                                                          profile_dir=profile_dir)
        for section in ("queries", "embedded_queries"):
            found = results.get(section, {}).pop("_profiles", None)
            if found:
                results.setdefault("profiles", {})[section] = {
                    name: summarize(Path(path)) for name, path in found.items()
                    if Path(path).is_file()}
    finally:
        if not opts.keep:
            log("cleaning up: bench indices, database, normalized batches, DuckDB file")
            env.drop_indices()
            env.drop_database()
            shutil.rmtree(env.work / "norm", ignore_errors=True)
            shutil.rmtree(env.duckdb_path.parent, ignore_errors=True)
    results["meta"]["wall_seconds"] = round(time.monotonic() - log.started, 1)
    changed = changed_since(sources)
    results["meta"]["code_changed_during_run"] = changed
    if changed:
        log(f"WARNING the project's code changed during the run: {', '.join(changed)}; "
            "processes started after the change ran the new code")
    log(f"done in {results['meta']['wall_seconds']}s")
    return results

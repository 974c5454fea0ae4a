"""latest.json -> Markdown tables (bench/results/latest.md), pasted into BENCHMARKS.md."""

from __future__ import annotations

from typing import Any

from bench.profiles import as_markdown


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    if isinstance(value, (int, float)):
        return f"{value:,.0f}"
    return str(value)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def ingest_table(ingest: dict[str, Any]) -> str:
    sizes = ingest.get("by_size", {})
    keys = sorted(sizes, key=int)
    head = "| figure (CSV rows / s of wall time) | " + " | ".join(
        f"{int(k):,} rows" for k in keys) + " |"
    lines = [head, "|---|" + "---:|" * len(keys)]
    rows = (
        ("**end-to-end** load_file, CSV -> PostgreSQL + OpenSearch, refreshed", "rows_per_s"),
        ("  PostgreSQL side inside it (rows / busy s of the record writes)", "pg_side_rows_per_s"),
        ("  OpenSearch side inside it (rows / busy s of index_documents + refresh; the "
         "documents stream from PostgreSQL meanwhile, and two batches may overlap)",
         "search_side_rows_per_s"),
        ("  normalization alone (read + dbt_like_sql, once, to Parquet)",
         "normalize_only_rows_per_s"),
        ("load_file into PostgreSQL alone (no search engine), for the PG side and dlt",
         "records_only_rows_per_s"),
        ("limit: OpenSearch raw `_bulk`, index actions, pre-serialized, 4 connections",
         "raw_bulk_rows_per_s"),
        ("  the same with the store's own update + doc_as_upsert lines",
         "raw_bulk_update_rows_per_s"),
        ("limit: PostgreSQL raw COPY (pre-rendered, LIKE ... INCLUDING ALL)",
         "pg_raw_copy_rows_per_s"),
        ("limit: PostgreSQL staged COPY + INSERT ON CONFLICT (store's upsert)",
         "pg_copy_upsert_rows_per_s"),
        ("peer: dlt 1.31, same CSV -> PostgreSQL (replace, csv/COPY)", "dlt_rows_per_s"),
        ("peak RSS of the loading process, MB", "peak_rss_mb"),
        ("peak RSS of the dlt process, MB", "dlt_peak_rss_mb"),
    )
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(_n(sizes[k].get(key)) for k in keys) + " |")
    lines += ["", "| ratio | " + " | ".join(f"{int(k):,}" for k in keys) + " |",
              "|---|" + "---:|" * len(keys)]
    names = ("e2e_vs_raw_bulk", "search_side_vs_raw_bulk", "pg_side_vs_copy_upsert",
             "copy_upsert_vs_raw_copy", "e2e_vs_dlt", "records_only_vs_dlt",
             "records_only_vs_copy_upsert", "raw_bulk_update_vs_index")
    for name in names:
        lines.append(f"| {name} | " + " | ".join(
            _ratio(sizes[k]["ratios"].get(name)) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def cpu_table(ingest: dict[str, Any]) -> str:
    """Cores used while each figure of the largest size was measured (2 = the machine)."""
    cpu = ingest.get("cpu_cores", {})
    groups = ("bench", "api_server", "postgres", "opensearch", "other", "machine")
    lines = ["| figure | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    for name, cores in cpu.items():
        lines.append(f"| {name} | " + " | ".join(_n(cores.get(g), 2) for g in groups) + " |")
    return "\n".join(lines) + "\n"


def query_table(queries: dict[str, Any]) -> str:
    lines = ["| query | matches | API p50 / p95 ms (c4) | direct p50 / p95 ms (c4) | p50 ratio "
             "(c4) | API / direct req/s (c4) | API p50 ms (c1) | direct p50 ms (c1) | "
             "ratio (c1) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, q in queries.items():
        lines.append(
            f"| {name} | {_n(q['matches'])} | {_n(q.get('api_p50_ms'), 1)} / "
            f"{_n(q.get('api_p95_ms'), 1)} | {_n(q.get('direct_p50_ms'), 1)} / "
            f"{_n(q.get('direct_p95_ms'), 1)} | {_ratio(q.get('p50_ratio'))} | "
            f"{_n(q.get('api_rps'), 1)} / {_n(q.get('direct_rps'), 1)} | "
            f"{_n(q.get('api_p50_ms_c1'), 1)} | {_n(q.get('direct_p50_ms_c1'), 1)} | "
            f"{_ratio(q.get('p50_ratio_c1'))} |")
    return "\n".join(lines) + "\n"


def targets_table(targets: list[dict[str, Any]]) -> str:
    lines = ["| target | value | limit | reached |", "|---|---:|---|---|"]
    for t in targets:
        value = t["value"]
        shown = f"{value:.3f}" if isinstance(value, float) and value < 10 else _n(value)
        lines.append(f"| {t['target']} | {shown} | {t['limit']} | {_n(t['reached'])} |")
    return "\n".join(lines) + "\n"


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    parts = [
        f"# Benchmark run {meta['timestamp']} (commit {meta.get('git_commit')})", "",
        f"{meta['nproc']} cores ({meta['cpu']}), {meta['memory_gib']} GiB, Python "
        f"{meta['python']}, PostgreSQL {meta['servers'].get('postgresql')}, OpenSearch "
        f"{meta['servers'].get('opensearch')}; load average at start "
        f"{meta['load_average_at_start']}; wall {meta.get('wall_seconds')} s; options "
        f"{report['options']}", "",
    ]
    if meta.get("code_changed_during_run"):
        parts += ["**The project's code changed during this run** (shared working tree): "
                  + ", ".join(meta["code_changed_during_run"])
                  + ". Processes started after a change ran the new code.", ""]
    if report.get("ingest"):
        parts += ["## Ingest", "", ingest_table(report["ingest"]),
                  "Cores used meanwhile (largest size; `bench` = the bench's own Python "
                  "processes incl. the loader, `other` = everything else on the machine):", "",
                  cpu_table(report["ingest"])]
    if report.get("queries"):
        parts += ["## Queries, PostgreSQL + OpenSearch", "", query_table(report["queries"])]
    embedded = report.get("embedded", {})
    if embedded.get("load"):
        load = embedded["load"]
        parts += ["## Embedded (DuckDB)", "",
                  f"Load through DuckDBStore from the normalized batches: "
                  f"{_n(load['rows_per_s'])} rows/s ({load['seconds']} s), file "
                  f"{load['file_mb']} MB.", ""]
    if embedded.get("queries"):
        parts += [query_table(embedded["queries"])]
    parts += ["## Targets", "", targets_table(report["targets"])]
    if report.get("embedded_api_overhead"):
        parts += ["Embedded API overhead (informative):", "",
                  targets_table(report["embedded_api_overhead"])]
    profiles = report.get("profiles", {})
    if profiles:
        parts += ["## Profiles (py-spy)", ""]
        for size, summary in profiles.get("ingest", {}).items():
            parts.append(as_markdown(f"end-to-end load, {int(size):,} rows", summary))
        for section in ("queries", "embedded_queries"):
            for name, summary in profiles.get(section, {}).items():
                parts.append(as_markdown(f"{section}: {name} process under 4 clients",
                                         summary))
    return "\n".join(parts)

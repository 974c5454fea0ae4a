"""The chart of a run: each figure beside its limit and the peer (matplotlib, Agg backend).

Four panels: ingest throughput per size (end-to-end, its two sides, the limits, dlt), peak
memory per size against 1 GiB, and query p50 (bars) with p95 (ticks), API beside direct, for
PostgreSQL + OpenSearch and for DuckDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

INGEST_BARS = (
    ("end-to-end", "rows_per_s", "#1f77b4"),
    ("  PostgreSQL side", "pg_side_rows_per_s", "#6baed6"),
    ("  OpenSearch side", "search_side_rows_per_s", "#9ecae1"),
    ("raw _bulk (limit)", "raw_bulk_rows_per_s", "#ff7f0e"),
    ("raw _bulk, update lines", "raw_bulk_update_rows_per_s", "#fdae6b"),
    ("staged COPY+upsert (limit)", "pg_copy_upsert_rows_per_s", "#2ca02c"),
    ("raw COPY", "pg_raw_copy_rows_per_s", "#98df8a"),
    ("PostgreSQL-only load_file", "records_only_rows_per_s", "#17becf"),
    ("dlt (peer)", "dlt_rows_per_s", "#d62728"),
)


def _ingest(ax: Any, ingest: dict[str, Any]) -> None:
    sizes = sorted(ingest.get("by_size", {}), key=int)
    bars = [b for b in INGEST_BARS
            if any(ingest["by_size"][s].get(b[1]) for s in sizes)]
    height = 0.8 / max(len(sizes), 1)
    for i, size in enumerate(sizes):
        fig = ingest["by_size"][size]
        ys = [j + i * height for j in range(len(bars))]
        values = [fig.get(key) or 0 for _, key, _ in bars]
        ax.barh(ys, values, height=height * 0.95, color=[c for _, _, c in bars],
                alpha=1.0 if i == len(sizes) - 1 else 0.55,
                label=f"{int(size):,} rows" + (" (pale)" if i < len(sizes) - 1 else ""))
        for y, v in zip(ys, values, strict=True):
            if v:
                ax.text(v, y, f" {v / 1000:,.1f}k", va="center", fontsize=7)
    ax.set_yticks([j + 0.4 - height / 2 for j in range(len(bars))])
    ax.set_yticklabels([label for label, _, _ in bars], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("CSV rows per second (same file, same work => ratio of times)")
    ax.set_title("Ingest: end-to-end beside its limits and dlt")
    ax.legend(fontsize=7, loc="lower right")


def _memory(ax: Any, ingest: dict[str, Any]) -> None:
    """Resident set after each batch, by rows read, one line per size; the peak as a dot."""
    sizes = sorted(ingest.get("by_size", {}), key=int)
    colors = ("#9ecae1", "#1f77b4", "#08519c")
    for i, size in enumerate(sizes):
        fig = ingest["by_size"][size]
        timeline = fig.get("rss_timeline") or []
        color = colors[i % len(colors)]
        xs = [0] + [p["rows_read"] for p in timeline]
        ys = [None] + [p["rss_mb"] for p in timeline]
        ax.plot(xs[1:], ys[1:], marker="o", markersize=3, color=color,
                label=f"load_file, {int(size):,} rows (peak {fig.get('peak_rss_mb') or 0:.0f})")
        if fig.get("peak_rss_mb"):
            ax.scatter([int(size)], [fig["peak_rss_mb"]], color=color, marker="^", s=40)
        if fig.get("dlt_peak_rss_mb"):
            ax.scatter([int(size)], [fig["dlt_peak_rss_mb"]], color="#d62728", marker="s",
                       s=30, label=f"dlt peak, {int(size):,} rows")
    ax.axhline(1024, color="black", linestyle="--", linewidth=1, label="1 GiB target")
    ax.set_ylim(0, 1150)
    ax.set_xlabel("rows read")
    ax.set_ylabel("resident set, MB (after each batch; triangle: peak)")
    ax.set_title("Memory of the loading process")
    ax.legend(fontsize=7, loc="lower right")


def _queries(ax: Any, queries: dict[str, Any], title: str) -> None:
    names = list(queries)
    xs = range(len(names))
    api = [queries[n].get("api_p50_ms") or 0 for n in names]
    direct = [queries[n].get("direct_p50_ms") or 0 for n in names]
    ax.bar([x - 0.2 for x in xs], api, width=0.4, label="API on waitress (p50)", color="#9467bd")
    ax.bar([x + 0.2 for x in xs], direct, width=0.4, label="direct, no API (p50)",
           color="#8c564b")
    ax.scatter([x - 0.2 for x in xs], [queries[n].get("api_p95_ms") or 0 for n in names],
               marker="_", s=120, color="black", label="p95")
    ax.scatter([x + 0.2 for x in xs], [queries[n].get("direct_p95_ms") or 0 for n in names],
               marker="_", s=120, color="black")
    for x, n in zip(xs, names, strict=True):
        ratio = queries[n].get("p50_ratio")
        if ratio is not None:
            ax.text(x, max(api[x], direct[x]), f"{ratio:.2f}x", ha="center", va="bottom",
                    fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("ms, 4 concurrent clients")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=7)


def draw(report: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("[bench] matplotlib is not installed: no chart (pip install matplotlib)")
        return None
    fig, axes = plt.subplots(2, 2, figsize=(15, 10))
    ingest = report.get("ingest") or {}
    if ingest.get("by_size"):
        _ingest(axes[0][0], ingest)
        _memory(axes[0][1], ingest)
    rows = report["options"]["rows"]
    if report.get("queries"):
        _queries(axes[1][0], report["queries"],
                 f"Queries at {rows:,} rows: PostgreSQL + OpenSearch")
    if report.get("embedded", {}).get("queries"):
        _queries(axes[1][1], report["embedded"]["queries"],
                 f"Queries at {rows:,} rows: embedded DuckDB")
    meta = report["meta"]
    fig.suptitle(f"Connectra benchmarks, {meta['timestamp']}, {meta['nproc']} shared cores "
                 f"(commit {str(meta.get('git_commit'))[:10]})", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

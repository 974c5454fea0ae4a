"""`python -m bench` (what `make bench` runs): every benchmark of issue 8 in one run.

    python -m bench                      # full size: 1M and 250k rows (~20 min on 2 cores)
    python -m bench --quick              # smoke run: 50k and 20k rows, short query runs
    python -m bench --rows 500000 --small 100000 --queries-seconds 6

A full-size run writes bench/results/latest.json, latest.md and latest.png; a --quick run
(or one with other sizes) writes quick.* / run-<rows>.* beside them, so the results of the
largest finished full run are never overwritten by a smaller one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.chart import draw
from bench.env import ROOT
from bench.report import build, write
from bench.run import Options, run_all
from bench.tables import markdown

FULL_ROWS, FULL_SMALL = 1_000_000, 250_000


def parse(argv: list[str]) -> tuple[Options, str]:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=None, help="rows of the large file (1,000,000)")
    p.add_argument("--small", type=int, default=None, help="rows of the small file (250,000)")
    p.add_argument("--queries-seconds", type=float, default=None,
                   help="seconds per query, path and concurrency level (2.5; quick: 1)")
    p.add_argument("--quick", action="store_true", help="50k/20k rows, ~2-3 minutes")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy passes")
    p.add_argument("--profile", action="store_true", help="py-spy passes in --quick too")
    p.add_argument("--no-dlt", action="store_true", help="skip the dlt peer")
    p.add_argument("--queries", default=None, help="comma-separated query names (all)")
    p.add_argument("--phases", default="ingest,queries,embedded",
                   help="comma-separated subset of ingest,queries,embedded")
    p.add_argument("--keep", action="store_true",
                   help="keep the bench database, indices and DuckDB file afterwards")
    p.add_argument("--work", type=Path, default=None, help="work folder (.connectra/bench)")
    p.add_argument("--name", default=None, help="results file name (latest / quick / run-N)")
    a = p.parse_args(argv)
    rows = a.rows or (50_000 if a.quick else FULL_ROWS)
    small = a.small or (20_000 if a.quick else FULL_SMALL)
    seconds = a.queries_seconds or (1.0 if a.quick else 2.5)
    full = rows == FULL_ROWS and small == FULL_SMALL and not a.quick
    name = a.name or ("latest" if full else "quick" if a.quick else f"run-{rows}")
    profile = (not a.no_profile) and (a.profile or not a.quick)
    return Options(rows=rows, small=small, queries_seconds=seconds, quick=a.quick,
                   profile=profile, dlt=not a.no_dlt, update_form_sizes=(small,),
                   queries=a.queries, phases=tuple(a.phases.split(",")), keep=a.keep,
                   work=a.work), name


def main(argv: list[str] | None = None) -> int:
    opts, name = parse(sys.argv[1:] if argv is None else argv)
    results = run_all(opts)
    report = build(results)
    out = ROOT / "bench" / "results"
    write(report, out / f"{name}.json")
    (out / f"{name}.md").write_text(markdown(report))
    chart = draw(report, out / f"{name}.png")
    print(f"[bench] wrote {out / f'{name}.json'}, {name}.md" + (f", {chart.name}" if chart else ""))
    for phase in report.get("errors", {}):
        print(f"[bench]   FAILED phase: {phase} (traceback in the JSON's errors)")
    for target in report["targets"]:
        mark = "reached" if target["reached"] else "NOT reached"
        print(f"[bench]   {target['target']}: {target['value']} ({target['limit']}) {mark}")
    sys.stdout.flush()
    # DuckDB's C++ threads can abort the interpreter's teardown ("terminate called ...")
    # after everything is written; the run's work is done, so leave without it.
    os._exit(1 if report.get("errors") else 0)


if __name__ == "__main__":
    raise SystemExit(main())

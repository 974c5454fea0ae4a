"""The `connectra` command: one entry point for running, loading and setting up Connectra."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def _sample_data(args: argparse.Namespace) -> int:
    from orchestration.sample_data import write_sample_files

    started = time.perf_counter()
    paths = write_sample_files(rows=args.rows, out_dir=Path(args.out), seed=args.seed)
    elapsed = time.perf_counter() - started
    for path in paths:
        print(path)
    print(f"{args.rows} rows in {elapsed:.1f} s", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connectra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser(
        "sample-data", help="write realistic contacts-with-companies CSV files"
    )
    sample.add_argument("--rows", type=int, required=True, help="number of data rows")
    sample.add_argument("--out", required=True, help="folder to write into")
    sample.add_argument("--seed", type=int, default=42, help="same seed, same bytes")
    sample.set_defaults(handler=_sample_data)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.handler(args))

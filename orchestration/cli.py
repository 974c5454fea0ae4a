"""The `connectra` command: one entry point for running, loading and setting up Connectra."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from stores.errors import StoreError
from stores.settings import ConfigError, load_settings


def _sample_data(args: argparse.Namespace) -> int:
    from orchestration.sample_data import write_sample_files

    started = time.perf_counter()
    paths = write_sample_files(rows=args.rows, out_dir=Path(args.out), seed=args.seed)
    for path in paths:
        print(path)
    print(f"{args.rows:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _up(args: argparse.Namespace) -> int:
    from orchestration.up import up

    return up(sample_rows=args.sample_rows)


def _api(args: argparse.Namespace) -> int:
    from api.server import serve

    settings = load_settings()
    serve(settings, host=args.host or settings.api_host, port=args.port or settings.api_port)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from orchestration.migrate import migrate_stores

    settings = load_settings()
    migrate_stores(settings)
    print(f"schema and indices ready ({settings.profile} profile)")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from orchestration.ingest_command import ingest_and_wait, ingest_queued

    settings = load_settings()
    if args.wait:
        return ingest_and_wait(settings, args.files)
    return ingest_queued(settings, args.files)


def _reindex(args: argparse.Namespace) -> int:
    from orchestration.reindex_command import reindex_and_wait

    return reindex_and_wait(load_settings(), args.files)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connectra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run everything: Dagster UI + daemon and the API")
    up.add_argument("--sample-rows", type=int, default=10_000, help="sample rows on first start")
    up.set_defaults(handler=_up)

    api = commands.add_parser("api", help="serve the HTTP API (waitress)")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.set_defaults(handler=_api)

    ingest = commands.add_parser("ingest", help="load files through the Dagster ingest job")
    ingest.add_argument("files", nargs="+", metavar="PATH_OR_S3_URI")
    ingest.add_argument("--wait", action="store_true", help="run here and wait, with progress")
    ingest.set_defaults(handler=_ingest)

    reindex = commands.add_parser(
        "reindex", help="rebuild the search index from the records (the Dagster reindex job)"
    )
    reindex.add_argument(
        "--file",
        dest="files",
        action="append",
        default=[],
        metavar="KEY",
        help="only upsert the records of this source file into the live index (repeatable)",
    )
    reindex.set_defaults(handler=_reindex)

    migrate = commands.add_parser("migrate", help="create or upgrade the schema and indices")
    migrate.set_defaults(handler=_migrate)

    sample = commands.add_parser(
        "sample-data", help="write realistic contacts-with-companies CSV files"
    )
    sample.add_argument("--rows", type=int, required=True, help="number of data rows")
    sample.add_argument("--out", required=True, help="folder to write into")
    sample.add_argument("--seed", type=int, default=42, help="same seed, same bytes")
    sample.set_defaults(handler=_sample_data)
    return parser


def interruptible() -> None:
    """Ctrl-C and SIGTERM stop the command and what it starts, even when it was started with
    them ignored. A shell script's `&` starts a command with SIGINT ignored, and Dagster maps
    SIGTERM to SIGINT's handler around a run in the main thread
    (dagster/_utils/interrupts.py), which then leaves SIGTERM ignored too, inherited by every
    process started afterwards: a `connectra` command started by such a process could not
    stop the `tail` of Dagster's log capture, which outlived it and held its output open
    (`connectra ingest --wait | ...` never ended)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> None:
    interruptible()
    args = build_parser().parse_args(argv)
    try:
        sys.exit(args.handler(args))
    except (ConfigError, StoreError) as exc:
        print(f"connectra {args.command}: {exc}", file=sys.stderr)
        sys.exit(2)

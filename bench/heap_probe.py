"""The bench's load child with the loader's heap in view (BENCHMARKS.md, "Memory"):
`python -m bench.heap_probe [--threshold BYTES | --moving-threshold] WORK KEY [N]`.

Runs `bench.ingest_child` (same arguments, same JSON line on stdout) and prints on stderr,
after each batch, what glibc's malloc holds (`mallinfo2`: in use, free inside its arenas,
mapped blocks) beside the resident set by kind (`/proc/self/smaps_rollup`). The options
change assets/heap.py's setting for an A/B: `--moving-threshold` leaves glibc's default
(the threshold rises to the largest block freed), `--threshold` fixes another value.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import assets.loading as loading
from assets import heap


def _heap_mb() -> dict[str, int]:
    figures = {f"malloc_{k}_mb": v >> 20 for k, v in heap.malloc_figures().items()}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            key, _, value = line.partition(":")
            if key in ("Rss", "Anonymous", "Pss_File"):
                figures[f"{key.lower()}_mb"] = int(value.split()[0]) >> 10
    return figures


def _with_heap_figures(load_file: Any) -> Any:
    def load(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        def report(state: loading.LoadProgress) -> None:
            if progress is not None:
                progress(state)
            print(
                json.dumps({"rows_read": state.rows_read, **_heap_mb()}),
                file=sys.stderr,
                flush=True,
            )

        return load_file(*args, progress=report, **kwargs)

    return load


class _NoMallopt:
    """The C library without mallopt: glibc's moving threshold, for the 'before' runs."""

    def __init__(self, libc: Any) -> None:
        self._libc = libc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._libc, name)

    def mallopt(self, *args: int) -> int:
        return 1


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--moving-threshold":
        assert heap._LIBC is not None, "glibc only"
        heap._LIBC = _NoMallopt(heap._LIBC)  # type: ignore[assignment]
        args = args[1:]
    elif args and args[0] == "--threshold":
        heap.MMAP_THRESHOLD_BYTES = int(args[1])
        args = args[2:]
    loading.load_file = _with_heap_figures(loading.load_file)
    sys.argv = [sys.argv[0], *args]
    from bench import ingest_child

    ingest_child.main()


if __name__ == "__main__":
    main()

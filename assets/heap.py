"""The loading process's heap: what a batch frees goes back to the system.

A load allocates the same few large blocks over and over (Arrow's column buffers, the
`_bulk` request bodies of ~6 MB, PostgreSQL's COPY data), from several threads. Three
settings keep its resident set flat over a file of any size (BENCHMARKS.md, "Memory"):

- Arrow allocates from the C library's malloc (the system pool): pyarrow's default,
  mimalloc, keeps freed segments per thread (~80 MB more at the peak, same CPU).
- glibc serves every block of 1 MiB or more by `mmap`, and unmaps it when freed. By default
  it raises that threshold to the largest block freed so far (up to 32 MiB), after which the
  request bodies and buffers were carved out of the per-thread arenas, which fragmented: the
  peak grew with the file (quiet runs: 530-552 MB at 250k rows, 597 MB at 1M; with the
  threshold fixed, 457-474 and 493 MB, for ~6% more loader CPU: the mapped blocks' faults).
- After each batch, `malloc_trim` hands the arenas' free pages back.

Process-wide: the loader is a process of its own (a Dagster run, the CLI). Not glibc: the
C library's defaults are kept.
"""

from __future__ import annotations

import ctypes

import pyarrow as pa

M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 1 << 20


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")
    ]  # fmt: skip


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - both must exist
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def use_returning_allocator() -> None:
    """Arrow on malloc, and large blocks always mapped (the module's doc). Idempotent."""
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())
    if _LIBC is not None:
        _LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def trim() -> None:
    """Hands the free pages of every malloc arena back to the system (~1 ms)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def malloc_figures() -> dict[str, int]:
    """What malloc holds, in bytes (glibc's mallinfo2; empty elsewhere): ``in_use`` (blocks
    given out), ``free`` (free inside its arenas), ``mapped`` (blocks served by mmap)."""
    if _LIBC is None:
        return {}
    info = _LIBC.mallinfo2()
    return {"in_use": info.uordblks, "free": info.fordblks, "mapped": info.hblkhd}

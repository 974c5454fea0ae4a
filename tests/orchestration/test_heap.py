"""The loader's heap (assets/heap.py): the large blocks a batch frees go back to the system,
so the resident set does not grow with the file (the figures: BENCHMARKS.md, "Memory")."""

from __future__ import annotations

import ctypes

import pyarrow as pa

from assets import heap


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL("libc.so.6")  # the loader runs on glibc (Debian); so do the tests
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = _MallInfo2
    return libc


def test_a_large_block_after_a_larger_one_was_freed_is_still_mapped() -> None:
    """glibc's default raises its mmap threshold to the largest block freed (here 8 MiB),
    after which a 2 MiB block would be carved out of an arena; the loader fixes it at 1 MiB."""
    heap.use_returning_allocator()
    libc = _libc()
    libc.free(libc.malloc(8 << 20))
    mapped_before = libc.mallinfo2().hblkhd
    block = libc.malloc(2 << 20)
    try:
        assert libc.mallinfo2().hblkhd >= mapped_before + (2 << 20)
    finally:
        libc.free(block)
    assert libc.mallinfo2().hblkhd == mapped_before  # and unmapped when freed


def test_arrow_allocates_from_malloc() -> None:
    heap.use_returning_allocator()
    assert pa.default_memory_pool().backend_name == "system"

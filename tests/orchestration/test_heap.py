"""The loader's heap (assets/heap.py): the large blocks a batch frees go back to the system,
so the resident set does not grow with the file (the figures: BENCHMARKS.md, "Memory")."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa

from assets import heap

# In a fresh process (a test process's arenas may already hold a free chunk that serves the
# request, mapped or not): after an 8 MiB block was freed, glibc's default has raised its
# mmap threshold to 8 MiB and carves a 2 MiB block out of an arena; the loader's setting
# keeps it mapped, and unmapped when freed.
_PROBE = """
import ctypes, json, sys
from assets import heap
if sys.argv[1] == "loader":
    heap.use_returning_allocator()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(8 << 20))
before = heap.malloc_figures()["mapped"]
block = libc.malloc(2 << 20)
held = heap.malloc_figures()["mapped"] - before
libc.free(block)
after = heap.malloc_figures()["mapped"] - before
print(json.dumps({"mapped_while_held": held, "mapped_after_free": after}))
"""


def _probe(mode: str) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    result: dict[str, int] = json.loads(done.stdout)
    return result


def test_a_large_block_after_a_larger_one_was_freed_is_mapped_then_unmapped() -> None:
    assert _probe("default")["mapped_while_held"] == 0  # glibc's moving threshold
    loader = _probe("loader")
    assert loader["mapped_while_held"] >= 2 << 20
    assert loader["mapped_after_free"] == 0


def test_arrow_allocates_from_malloc() -> None:
    heap.use_returning_allocator()
    assert pa.default_memory_pool().backend_name == "system"

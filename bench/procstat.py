"""What the machine spent: memory of a process, CPU seconds per group of processes.

Read from /proc, so nothing is installed and nothing samples: a phase's CPU is the
difference of two snapshots. On this 2-core machine shared with other work, the groups say
who used the cores while a figure was measured (the bench's Python processes, PostgreSQL,
the OpenSearch JVM, everything else), which is the first thing to know about what bounds it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import TracebackType

_TICKS = os.sysconf("SC_CLK_TCK")


def status_kb(field: str, pid: int | str = "self") -> int:
    """A `kB` line of /proc/PID/status (VmHWM: peak resident set, VmRSS: resident now)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _group(pid: str) -> str | None:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as comm:
            name = comm.read().strip()
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            cmdline = cmd.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None
    if name == "java" and "opensearch" in cmdline.lower():
        return "opensearch"
    if name.startswith("postgres") or cmdline.startswith("postgres:"):
        return "postgres"
    if "python" in name and " -m bench.api_server" in cmdline:
        return "api_server"
    if "python" in name and " -m bench" in cmdline:
        return "bench"
    return "other"


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU-seconds of one process (every thread) so far."""
    return _cpu_seconds(str(pid))


def _cpu_seconds(pid: str) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    by_group: dict[str, float]
    by_pid: dict[str, tuple[str, float]]
    machine_busy: float  # CPU seconds of the whole machine (all processes, /proc/stat)

    @classmethod
    def take(cls) -> CpuSnapshot:
        by_pid: dict[str, tuple[str, float]] = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                group = _group(pid)
                if group is not None:
                    by_pid[pid] = (group, _cpu_seconds(pid))
        groups: dict[str, float] = {}
        for group, seconds in by_pid.values():
            groups[group] = groups.get(group, 0.0) + seconds
        with open("/proc/stat", encoding="ascii") as stat:
            cpu = [int(x) for x in stat.readline().split()[1:]]
        busy = (sum(cpu) - cpu[3] - cpu[4]) / _TICKS  # all but idle and iowait
        return cls(time.monotonic(), groups, by_pid, busy)

    def since(self, before: CpuSnapshot) -> dict[str, float]:
        """Cores used per group between two snapshots (CPU seconds / wall seconds).

        Per process, so processes that started or ended in between count by what they
        used while seen; short-lived processes that came and went are in `machine` only.
        """
        wall = max(self.at - before.at, 1e-6)
        used: dict[str, float] = {}
        for pid, (group, seconds) in self.by_pid.items():
            start = before.by_pid.get(pid, (group, 0.0))[1] if pid in before.by_pid else 0.0
            used[group] = used.get(group, 0.0) + max(seconds - start, 0.0)
        cores = {group: round(seconds / wall, 2) for group, seconds in sorted(used.items())}
        cores["machine"] = round((self.machine_busy - before.machine_busy) / wall, 2)
        return cores


class CpuMeter:
    """Cores used per group over a `with` block, sampled every `interval` seconds, so the
    processes that end inside the block (a child and its PostgreSQL backends) still count
    for what they used until their last sample."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.first: CpuSnapshot | None = None
        self.seen: dict[str, tuple[str, float]] = {}
        self.cores: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)

    def _take(self) -> CpuSnapshot:
        snap = CpuSnapshot.take()
        self.seen.update(snap.by_pid)
        return snap

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._take()

    def __enter__(self) -> CpuMeter:
        self.first = self._take()
        self.seen = {}
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        last = self._take()
        assert self.first is not None
        merged = CpuSnapshot(last.at, {}, dict(self.seen), last.machine_busy)
        self.cores = merged.since(self.first)


def _pin(pid: str, cpus: set[int]) -> None:
    """Every thread of one process onto `cpus` (a process's threads each carry their own
    mask; the ones it starts later take the mask of the thread that starts them)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for tid in tids:
        with suppress(OSError):  # the thread ended meanwhile
            os.sched_setaffinity(int(tid), cpus)


@contextmanager
def cores_apart(engine: set[int]) -> Iterator[None]:
    """The search engine's JVM on `engine`'s cores; PostgreSQL (the postmaster, so its later
    backends too) and this process (so its children too) on the others, as if the engine ran
    on a machine of its own; every mask restored to all cores at the end."""
    every = set(range(os.cpu_count() or 1))
    rest = every - engine
    moved = {
        pid: engine if group == "opensearch" else rest
        for pid in os.listdir("/proc")
        if pid.isdigit() and (group := _group(pid)) in ("opensearch", "postgres")
    }
    try:
        for pid, cpus in moved.items():
            _pin(pid, cpus)
        os.sched_setaffinity(0, rest)
        yield
    finally:
        for pid in list(moved) + [p for p in os.listdir("/proc")
                                  if p.isdigit() and _group(p) == "postgres"]:
            _pin(pid, every)
        os.sched_setaffinity(0, every)

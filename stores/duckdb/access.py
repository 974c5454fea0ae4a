"""Short-lived, shared connections to one DuckDB file, for several processes at once.

DuckDB holds a file lock for as long as a database is open: one read-write process, or any
number of read-only ones, never both. The API process must keep answering while a Dagster
run process loads, so no process keeps the file open between operations:

- a write batch opens the file read-write, writes in one transaction and closes it (the
  close checkpoints the WAL into the file, so readers never replay it);
- a read opens it read-only, runs, closes;
- whoever finds the file locked retries with jittered backoff (steps growing from ~5 to
  ~50 ms) until its deadline (reads ~10 s, writes ~60 s), then raises TransientStoreError,
  which the API answers with 503 and Dagster's retry policy retries; a wait inside an
  abandoned scope (a load being stopped, stores/abandon.py) ends at once instead;
- threads of one process share the open connection (each gets its own cursor) instead of
  reopening: the first one opens, late-comers join, the last one out closes it (a
  read-only one after a 20 ms grace, so the few reads of one API request share it). A
  read-only connection stops taking joiners as soon as a writer is waiting, here or in
  another process, so it drains; the file is never open while no operation runs;
- processes take turns through two flag files (stores/duckdb/turns.py): reads go first,
  a loader between two batches lets waiting readers in, and a loader that has polled for
  0.5 s in vain makes readers step aside; neither side starves the other.

Opening is not free (about 15-20 ms whatever the file's size, most of it creating the
database instance, which also starts with cold caches), which is why concurrent threads
share one connection; a lone request pays it. One FileAccess exists per file per process
(:meth:`FileAccess.shared`): DuckDB refuses a second read-only instance of a file that this
process holds read-write, and vice versa.

Measured on a 2-core machine shared with other work (tests/stores/test_duckdb_throughput.py,
numbers vary run to run): a whole filter request (page, exact total, rows, companies) with
the file closed takes ~50 ms at 100k contacts and ~140 ms at 1M; a 50k-row write batch
~0.5-1 s (new or changed rows; ~3.5 s when list columns of existing rows change). While
another process loads 50k-row batches back to back, a reader's search takes ~25 ms median at
100k (p90 ~50 ms) and ~95 ms at 1M (p90 ~1 s), and waits at most about one batch (2-2.7 s).
With four reader threads busy in one process, plain polling kept the file read-only for the
loader's whole 60 s deadline; with the turn flags, 5k-row batches got in every ~0.7 s while
the reads kept a ~40 ms median (max ~0.4 s).
"""

from __future__ import annotations

import atexit
import random
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import duckdb

from stores import abandon
from stores.duckdb.alarms import ALARMS
from stores.duckdb.errors import BACKEND, is_lock_conflict, translate
from stores.duckdb.turns import TurnFlags
from stores.errors import TransientStoreError

Mode = Literal["read", "write"]
_ROLE: dict[Mode, Literal["readers", "writers"]] = {"read": "readers", "write": "writers"}


@dataclass(frozen=True)
class Timing:
    """How long to wait for the file, and how to poll it."""

    read_deadline_s: float = 10.0
    write_deadline_s: float = 60.0
    first_step_s: float = 0.005
    max_step_s: float = 0.05
    turn_wait_s: float = 2.0  # longest a writer defers to waiting readers, and vice versa
    writer_patience_s: float = 0.5  # a writer polls this long before readers make way
    linger_s: float = 0.02  # an idle read-only connection waits this long for the next read


class FileAccess:
    """Connections to one database file: :meth:`connection` yields a cursor for one operation."""

    _registry: ClassVar[weakref.WeakValueDictionary[Path, FileAccess]] = (
        weakref.WeakValueDictionary()
    )
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls, path: Path) -> FileAccess:
        """The one FileAccess of this process for `path`."""
        key = path.resolve()
        with cls._registry_lock:
            access = cls._registry.get(key)
            if access is None:
                access = cls(key)
                cls._registry[key] = access
            return access

    def __init__(self, path: Path) -> None:
        self.path = path
        self.turns = TurnFlags(path)
        self._cond = threading.Condition()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._mode: Mode | None = None
        self._users = 0
        self._opening = False
        self._writers_queued = 0
        self._write_lock = threading.Lock()  # one write transaction per process at a time
        self._generation = 0  # bumped at every open and join: a stale linger timer does nothing
        self.opens = 0  # connections opened so far; the last is the one open (see frozen)

    # -- public -------------------------------------------------------------------------------

    @contextmanager
    def connection(self, mode: Mode, timing: Timing) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on a connection that is open for exactly as long as someone uses it."""
        deadline = time.monotonic() + _deadline_s(mode, timing)
        with ExitStack() as stack:
            if mode == "write":
                self._take_write_lock(deadline, timing)
                stack.callback(self._write_lock.release)
            con = self._acquire(mode, deadline, timing)
            stack.callback(self._release, timing)
            cursor = con.cursor()
            stack.callback(cursor.close)
            yield cursor

    @property
    def is_open(self) -> bool:
        return self._con is not None

    @property
    def mode(self) -> Mode | None:
        """How the connection in use is open (a cursor's, while its operation runs)."""
        return self._mode

    def frozen(self) -> int | None:
        """For a cursor in use: the number of its connection's opening when that connection
        is read-only, else None. No process can write the file while this process holds it
        read-only (DuckDB's file lock), so whatever a read saw in the file stays true for
        every read of the same opening: the store keeps such facts per opening."""
        return self.opens if self._mode == "read" else None

    # -- in-process sharing -------------------------------------------------------------------

    def _take_write_lock(self, deadline: float, timing: Timing) -> None:
        """This process's one write at a time; the wait ends with an abandoned scope."""
        while True:
            wait = min(deadline - time.monotonic(), timing.max_step_s)
            if self._write_lock.acquire(timeout=max(0.0, wait)):
                return
            abandon.check(BACKEND)
            if time.monotonic() >= deadline:
                raise self._busy("write", timing)

    def _acquire(self, mode: Mode, deadline: float, timing: Timing) -> duckdb.DuckDBPyConnection:
        with self._cond:
            if mode == "write":
                self._writers_queued += 1
            try:
                while True:
                    if self._con is not None and not self._opening:
                        if self._can_join(mode):
                            self._users += 1
                            self._generation += 1
                            return self._con
                        if self._users == 0:
                            self._close()  # idle (lingering) but not joinable: close it now
                    if self._con is None and not self._opening and (
                        mode == "write" or self._writers_queued == 0  # a queued writer goes first
                    ):
                        self._opening = True
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self._busy(mode, timing)
                    # Cross-process flags change without a notify: look again now and then.
                    self._cond.wait(min(remaining, timing.max_step_s))
                    abandon.check(BACKEND)
            finally:
                if mode == "write":
                    self._writers_queued -= 1
        try:
            con = self._open(mode, deadline, timing)
        except BaseException:
            with self._cond:
                self._opening = False
                self._cond.notify_all()
            raise
        with self._cond:
            self._con, self._mode, self._users, self._opening = con, mode, 1, False
            self._generation += 1
            self.opens += 1
            self._cond.notify_all()
        return con

    def _can_join(self, mode: Mode) -> bool:
        if self._mode == "write":
            return True  # writes are serialized by _write_lock; reads see committed data
        if mode == "write":
            return False  # a read-only connection must close first
        return self._writers_queued == 0 and not self.turns.waiting("writers")

    def _release(self, timing: Timing) -> None:
        with self._cond:
            self._users -= 1
            if self._users > 0 or self._con is None:
                return
            if self._mode == "write" or timing.linger_s <= 0 or self._writers_queued:
                self._close()
                return
            # A request is usually several reads in a row (a page of ids, its rows, their
            # companies): an instant of grace saves reopening (~15 ms) and DuckDB's caches.
            ALARMS.call_later(timing.linger_s, self._close_if_idle, self._generation)

    def _close_if_idle(self, generation: int) -> None:
        with self._cond:
            if self._con is not None and self._users == 0 and self._generation == generation:
                self._close()

    def close_idle(self) -> None:
        """Closes the connection now if no operation uses it; a pending linger does nothing."""
        with self._cond:  # waits for a linger timer that is closing it
            self._generation += 1
            if self._con is not None and self._users == 0:
                self._close()

    def _close(self) -> None:
        """Closes the connection; inside the lock, so no new instance of the file is made
        before this one is gone (and, read-write, its WAL checkpointed)."""
        con, self._con, self._mode = self._con, None, None
        try:
            if con is not None:
                con.close()
        finally:
            self._cond.notify_all()

    # -- across processes ---------------------------------------------------------------------

    def _open(self, mode: Mode, deadline: float, timing: Timing) -> duckdb.DuckDBPyConnection:
        """Opens the file, retrying while another process holds it, taking turns (turns.py):
        readers go first, a writer that has waited past its patience goes next."""
        read_only = mode == "read"
        with ExitStack() as flags:
            announced = False
            impatient_at = time.monotonic() + timing.writer_patience_s
            if mode == "write":
                self._wait_while("readers", deadline, timing)
            elif self.turns.waiting("writers"):
                flags.enter_context(self.turns.announce("readers"))
                announced = True
                self._wait_while("writers", deadline, timing)
            step = timing.first_step_s
            while True:
                try:
                    con = duckdb.connect(str(self.path), read_only=read_only)
                except duckdb.Error as exc:
                    if not is_lock_conflict(exc):
                        raise translate(exc) from exc
                    if not announced and (mode == "read" or time.monotonic() >= impatient_at):
                        flags.enter_context(self.turns.announce(_ROLE[mode]))
                        announced = True
                    if time.monotonic() + step > deadline:
                        raise self._busy(mode, timing) from exc
                    abandon.pause(BACKEND, step * random.uniform(0.5, 1.0))
                    step = min(step * 1.6, timing.max_step_s)
                    continue
                try:
                    con.execute("SET TimeZone = 'UTC'")
                except duckdb.Error as exc:
                    con.close()
                    raise translate(exc) from exc
                return con

    def _wait_while(self, role: Literal["readers", "writers"], deadline: float,
                    timing: Timing) -> None:
        """Gives processes waiting in `role` their turn, for at most the turn wait."""
        until = min(deadline, time.monotonic() + timing.turn_wait_s)
        step = timing.first_step_s
        while time.monotonic() < until and self.turns.waiting(role):
            abandon.pause(BACKEND, step * random.uniform(0.5, 1.0))
            step = min(step * 1.6, timing.max_step_s)

    def _busy(self, mode: Mode, timing: Timing) -> TransientStoreError:
        what = "write to" if mode == "write" else "read"
        return TransientStoreError(
            BACKEND,
            f"could not {what} the database within {_deadline_s(mode, timing):g} s: another "
            "process holds the file (a load in progress); retry shortly",
        )


def _deadline_s(mode: Mode, timing: Timing) -> float:
    return timing.write_deadline_s if mode == "write" else timing.read_deadline_s


@atexit.register
def _close_idle_files() -> None:
    """Closes this process's idle connections before the interpreter stops: a linger
    timer closing one while it stops is cut off inside DuckDB, which aborts the process
    ("FATAL: exception not rethrown", exit status 134) after its work was done."""
    for access in list(FileAccess._registry.values()):
        access.close_idle()

"""Two sidecar flags that make processes take turns on the database file.

DuckDB lets one process open a file read-write, or any number of processes read-only, never
both; a loser just gets "Could not set lock on file" and must try again. Plain polling is
unfair: an API whose overlapping requests keep a read-only connection open never lets a
loader in (measured: with four busy reader threads, a loader's first batch gave up after
its 60 s deadline), and a loader writing batch after batch wins many races against a reader
polling every few milliseconds. So a process that has to wait says so in a flag file next
to the database:

- ``<db>.readers`` is held (shared) by a reader while it waits for the file. A writer
  about to open the file for its next batch first lets waiting readers in (bounded by the
  turn wait), so a read waits for at most about one batch.
- ``<db>.writers`` is held (shared) by a writer that has waited past its patience (0.5 s):
  readers then stop joining the read-only connection open in their process, so it drains
  and closes, and new reads let the writer in before opening again (bounded).

Reads go first, then, and a writer gets in within its patience plus the reads in flight.
The flags are BSD ``flock`` locks: the kernel drops them when a process dies, two
descriptors conflict even inside one process, and holding one never touches the database
file. Testing a flag briefly takes it exclusively; a concurrent test may then see it as held
for that instant, which costs one short extra wait, nothing more. Where the flag files
cannot be created (a read-only directory), nobody is ever seen waiting and the store falls
back to plain polling.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

Role = Literal["readers", "writers"]


class TurnFlags:
    def __init__(self, database: Path) -> None:
        self.paths: dict[Role, Path] = {
            role: database.with_name(f"{database.name}.{role}") for role in ("readers", "writers")
        }

    def _open(self, role: Role) -> int | None:
        try:
            return os.open(self.paths[role], os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None

    def waiting(self, role: Role) -> bool:
        """Whether some process (this one included) announced it is waiting in `role`."""
        fd = self._open(role)
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)  # also releases the test lock
        return False

    @contextmanager
    def announce(self, role: Role) -> Iterator[None]:
        """Holds the `role` flag until the block ends."""
        fd = self._open(role)
        if fd is None:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # a tester holds it exclusively for microseconds
        except OSError:
            os.close(fd)
            yield
            return
        try:
            yield
        finally:
            os.close(fd)

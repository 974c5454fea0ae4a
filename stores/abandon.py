"""Giving up a store operation's waits once its caller has given up on it.

A load writes a batch on a writer thread while its main thread normalizes the next one.
Terminating the run interrupts the main thread only (Python runs signal handlers there), and
the step cannot end before its writes in flight do: a write that waited for its turn on the
DuckDB file (another process holding it) waited out its 60 s deadline, the run CANCELING all
along. So the loader runs its writes in :func:`scope` with an event it sets when it gives up,
and every wait inside a store operation (for the file, for this process's write lock, a bulk
retry's pause) goes through :func:`pause` / :func:`check`, which raise OperationAbandoned once
the event is set. Work already running is left to finish (a statement commits or rolls back
whole, in a second or two), so an abandoned load leaves whole transactions only.

Outside a scope (the API, tests, the CLI's own calls) nothing changes: `pause` just sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from stores.errors import StoreError

_abandoned: ContextVar[threading.Event | None] = ContextVar("store_abandoned", default=None)


class OperationAbandoned(StoreError):
    """The caller gave up on this operation (a load being stopped): neither transient nor
    terminal, nobody retries it."""


@contextmanager
def scope(abandoned: threading.Event) -> Iterator[None]:
    """Store operations in this block (this thread) stop waiting once `abandoned` is set."""
    token = _abandoned.set(abandoned)
    try:
        yield
    finally:
        _abandoned.reset(token)


def check(backend: str) -> None:
    """Raises OperationAbandoned if the current scope was given up."""
    event = _abandoned.get()
    if event is not None and event.is_set():
        raise OperationAbandoned(backend, "operation abandoned: the load was stopped")


def pause(backend: str, seconds: float) -> None:
    """Sleeps `seconds`, or raises OperationAbandoned as soon as the scope is given up."""
    event = _abandoned.get()
    if event is None:
        time.sleep(seconds)
    elif event.wait(seconds):
        check(backend)

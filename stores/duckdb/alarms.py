"""Delayed calls of the embedded store, all run by one thread of the process.

Every read sets two alarms: its statement timeout (interrupt the cursor after 30 s) and,
when it is the last user of the file's read-only connection, the linger that closes the
connection 20 ms later unless another read joins (access.py). Both are almost always
cancelled or harmless. A ``threading.Timer`` for each started a thread per alarm, and
``Thread.start`` waits until the new thread runs: with four API requests at once on two
cores that wait is a hand-over of the GIL, up to the interpreter's 5 ms switch interval,
two or three times per request.

Here an alarm is an entry in a heap that one daemon thread sleeps on. Setting one wakes
the thread only when it becomes the earliest; cancelling one wakes nobody (the entry is
dropped when its time comes, or when cancelled entries outnumber live ones).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Alarm:
    __slots__ = ("when", "call", "args")

    def __init__(self, when: float, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.call: Callable[..., Any] | None = call
        self.args = args

    def cancel(self) -> None:
        """The call will not run (unless it already started); its arguments are let go."""
        self.call, self.args = None, ()


class Alarms:
    """A heap of alarms and the one thread that runs them when due."""

    def __init__(self, name: str = "connectra-alarms") -> None:
        self.name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def call_later(self, delay_s: float, call: Callable[..., Any], *args: Any) -> Alarm:
        alarm = Alarm(time.monotonic() + delay_s, call, args)
        with self._cond:
            heapq.heappush(self._heap, (alarm.when, next(self._order), alarm))
            if len(self._heap) > 1024:
                self._compact()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            elif self._heap[0][2] is alarm:
                self._cond.notify()
        return alarm

    def pending(self) -> int:
        """Alarms set and neither run nor cancelled (tests read it)."""
        with self._cond:
            return sum(1 for _, _, alarm in self._heap if alarm.call is not None)

    def _compact(self) -> None:
        """Drops cancelled entries once they are most of the heap (under the lock)."""
        live = [entry for entry in self._heap if entry[2].call is not None]
        if len(live) * 2 < len(self._heap):
            heapq.heapify(live)
            self._heap = live

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].call is None:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        alarm = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            call, args = alarm.call, alarm.args
            if call is None:
                continue
            try:
                call(*args)
            except Exception:  # one failed alarm must not stop the others
                log.exception("alarm %r failed", call)


    def _forget(self) -> None:
        """In a forked child: the parent's thread did not come along (nor may its lock be
        free); start over empty."""
        self._cond = threading.Condition()
        self._heap = []
        self._thread = None


ALARMS = Alarms()
os.register_at_fork(after_in_child=ALARMS._forget)

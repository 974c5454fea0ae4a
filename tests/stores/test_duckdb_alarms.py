"""The embedded store's delayed calls (statement timeouts, the linger close) run on one
thread (stores/duckdb/alarms.py)."""

from __future__ import annotations

import threading
import time

from stores.duckdb.alarms import Alarms


def _wait_for(check, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_alarms_run_in_the_order_of_their_time_not_of_setting() -> None:
    alarms, ran = Alarms(), []
    alarms.call_later(0.15, ran.append, "late")
    alarms.call_later(0.05, ran.append, "early")  # earlier than the one the thread sleeps on
    alarms.call_later(0.10, ran.append, "middle")
    _wait_for(lambda: len(ran) == 3)
    assert ran == ["early", "middle", "late"]


def test_a_cancelled_alarm_does_not_run_and_lets_go_of_its_arguments() -> None:
    alarms, ran = Alarms(), []
    cancelled = alarms.call_later(0.02, ran.append, "cancelled")
    alarms.call_later(0.05, ran.append, "kept")
    cancelled.cancel()
    assert cancelled.args == ()
    _wait_for(lambda: ran == ["kept"])
    time.sleep(0.05)
    assert ran == ["kept"]
    assert alarms.pending() == 0


def test_a_failing_alarm_does_not_stop_the_later_ones() -> None:
    alarms, ran = Alarms(), []
    alarms.call_later(0.01, lambda: 1 / 0)
    alarms.call_later(0.03, ran.append, "after")
    _wait_for(lambda: ran == ["after"])


def test_many_alarms_share_one_thread_and_cancelled_ones_are_dropped() -> None:
    alarms = Alarms(name="alarms-under-test")
    for _ in range(5000):  # what a busy API sets: 30 s timeouts, cancelled at once
        alarms.call_later(30.0, print).cancel()
    assert [t.name for t in threading.enumerate()].count("alarms-under-test") == 1
    assert len(alarms._heap) <= 2048  # compacted, not 5000 entries waiting 30 s
    assert alarms.pending() == 0


def test_a_forked_child_runs_its_own_alarms() -> None:
    """A child forked after the thread started has no thread: it starts one of its own."""
    import os

    from stores.duckdb.alarms import ALARMS

    ALARMS.call_later(30.0, print).cancel()  # the parent's thread runs
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: an alarm must fire within a second
        ran: list[int] = []
        ALARMS.call_later(0.01, ran.append, 1)
        deadline = time.monotonic() + 1.0
        while not ran and time.monotonic() < deadline:
            time.sleep(0.005)
        os.write(write, b"1" if ran else b"0")
        os._exit(0)
    import select
    import signal

    os.close(write)
    ready, _, _ = select.select([read], [], [], 5.0)
    if not ready:  # the child hung (on a lock the parent's thread held at the fork)
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert ready and os.read(read, 1) == b"1"

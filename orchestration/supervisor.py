"""The processes of `connectra up`: each in a process group of its own, started again with
backoff when it dies, all stopped together.

A child that dies while `connectra up` is still starting is a setup error (a port taken, a
storage refused) and `up` gives up. Once everything has started, a dead child is started
again: after 1 s, then 2, 4, ... up to 60 s while it keeps dying within a minute of its start
(a crash loop does not spin); one that had run for longer starts again after 1 s. Every exit
and every restart is logged. Without this, a SIGKILLed dagster-daemon took the API and the UI
down with it (`connectra up` stopped everything), and nothing launched queued runs, ticked the
sensors or retried failed runs until someone started it all again.

A dead child's process group may still hold processes: the daemon's code server and the run
workers it spawned outlive the daemon (the code server finishes its runs, then exits by
itself once no daemon heartbeat has reached it for 20 s). They are left alone (killing them
would kill the runs) and stopped with the rest when `connectra up` stops.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
STABLE_SECONDS = 60.0  # a child that ran this long before dying was not crash-looping


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Child:
    name: str
    argv: list[str]
    logfile: Path
    proc: subprocess.Popen[bytes]
    started: float  # monotonic
    restarts: int = 0
    quick_deaths: int = 0  # deaths in a row, each within STABLE_SECONDS of its start
    due: float | None = None  # when a dead child starts again


class Supervisor:
    """Starts child processes in their own process groups, restarts the ones that die (see
    `keep_running`) and stops them all together."""

    def __init__(
        self,
        env: dict[str, str],
        log: Callable[[str], None],
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        stable_seconds: float = STABLE_SECONDS,
    ) -> None:
        self.env = env
        self.log = log
        self.first_delay, self.max_delay = first_delay, max_delay
        self.stable_seconds = stable_seconds
        self.children: dict[str, Child] = {}
        self.leftover: list[int] = []  # process groups of dead children still holding processes

    def _spawn(self, argv: list[str], logfile: Path) -> subprocess.Popen[bytes]:
        with logfile.open("ab") as out:
            return subprocess.Popen(
                argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start(self, name: str, argv: list[str], logfile: Path) -> None:
        self.children[name] = Child(name, argv, logfile, self._spawn(argv, logfile),
                                    time.monotonic())  # fmt: skip

    def dead(self) -> list[str]:
        return [name for name, c in self.children.items() if c.proc.poll() is not None]

    def keep_running(self) -> None:
        """One look at the children (`connectra up` calls it twice a second): a child found dead
        is scheduled to start again, one whose delay has passed is started."""
        now = time.monotonic()
        for child in self.children.values():
            code = child.proc.poll()
            if code is None:
                continue
            if child.due is None:
                ran = now - child.started
                child.quick_deaths = child.quick_deaths + 1 if ran < self.stable_seconds else 1
                delay = min(self.max_delay, self.first_delay * 2 ** (child.quick_deaths - 1))
                child.due = now + delay
                if group_exists(child.proc.pid):
                    self.leftover.append(child.proc.pid)
                self.log(
                    f"{child.name} (pid {child.proc.pid}) exited ({describe_exit(code)}) after "
                    f"{ran:.0f} s; starting it again in {delay:.0f} s; see {child.logfile}"
                )
            elif now >= child.due:
                child.proc = self._spawn(child.argv, child.logfile)
                child.started, child.due = now, None
                child.restarts += 1
                self.log(f"{child.name} started again (pid {child.proc.pid}, "
                         f"restart {child.restarts})")  # fmt: skip
        # Forget the groups that emptied, so a stop never signals a process group id reused.
        self.leftover = [g for g in self.leftover if group_exists(g)]

    def stop(self, grace: float = 20.0) -> None:
        running = [c.proc for c in self.children.values() if c.proc.poll() is None]
        groups = [p.pid for p in running] + self.leftover
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        while time.monotonic() < deadline and any(group_exists(g) for g in self.leftover):
            time.sleep(0.2)
        # Run workers and code servers are grandchildren in the same process groups.
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        for child in self.children.values():
            child.proc.wait()

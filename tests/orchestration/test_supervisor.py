"""The supervisor of `connectra up` on real processes: a child that dies is started again with
backoff and a log line, what its process group still holds is left running (a code server
finishing its runs) and stopped with the rest."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestration.supervisor import Supervisor, describe_exit, group_exists

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def with_grandchild(pid_file: Path) -> list[str]:
    """A child that starts a process of its own (in its process group), as the daemon starts
    its code server, and writes that process's pid to pid_file."""
    code = (
        "import pathlib, subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(p.pid))\n"
        "time.sleep(120)\n"
    )
    return [sys.executable, "-c", code]


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def drive(supervisor: Supervisor, until: Callable[[], bool], seconds: float) -> float:
    """Calls keep_running as `connectra up` does until `until` holds; the seconds it took."""
    began = time.monotonic()
    while not until():
        assert time.monotonic() - began < seconds, "timed out"
        supervisor.keep_running()
        time.sleep(0.02)
    return time.monotonic() - began


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[Supervisor, list[str]]]:
    lines: list[str] = []
    supervisor = Supervisor(dict(os.environ), lines.append, first_delay=0.3, max_delay=1.2,
                            stable_seconds=30)  # fmt: skip
    yield supervisor, lines
    supervisor.stop(grace=5)


def test_a_killed_child_is_started_again_with_a_doubling_delay(
    supervised: tuple[Supervisor, list[str]], tmp_path: Path
) -> None:
    supervisor, lines = supervised
    supervisor.start("dagster-daemon", SLEEPER, tmp_path / "daemon.log")
    pids = [supervisor.children["dagster-daemon"].proc.pid]
    delays = []
    for _ in range(4):
        os.kill(pids[-1], signal.SIGKILL)
        delays.append(drive(supervisor, lambda: supervisor.children["dagster-daemon"].proc.pid
                            != pids[-1], 10))  # fmt: skip
        pids.append(supervisor.children["dagster-daemon"].proc.pid)
    assert len(set(pids)) == 5 and supervisor.dead() == []
    # 0.3, 0.6, 1.2, then capped at 1.2 s: each restart waited at least its delay.
    for waited, delay in zip(delays, (0.3, 0.6, 1.2, 1.2), strict=True):
        assert delay <= waited < delay + 1.0, delays
    assert re.fullmatch(rf"dagster-daemon \(pid {pids[0]}\) exited \(killed by SIGKILL\) after "
                        rf"\d+ s; starting it again in 0 s; see {tmp_path / 'daemon.log'}",
                        lines[0]), lines[0]  # fmt: skip
    assert lines[1] == f"dagster-daemon started again (pid {pids[1]}, restart 1)"
    assert "starting it again in 1 s" in lines[-2]  # 1.2 s, rounded


def test_a_child_that_ran_long_enough_is_started_again_after_the_first_delay(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    supervisor = Supervisor(dict(os.environ), lines.append, first_delay=0.3, max_delay=5,
                            stable_seconds=0.5)  # fmt: skip
    try:
        supervisor.start("api", SLEEPER, tmp_path / "api.log")
        for _ in range(3):
            time.sleep(0.6)  # longer than stable_seconds: no crash loop
            old = supervisor.children["api"].proc.pid
            os.kill(old, signal.SIGTERM)
            waited = drive(supervisor, lambda o=old: supervisor.children["api"].proc.pid != o, 10)  # type: ignore[misc]
            assert 0.3 <= waited < 1.3
        assert [line.split("; ")[1] for line in lines if "exited" in line] == [
            "starting it again in 0 s"] * 3  # fmt: skip
        assert "exited (killed by SIGTERM)" in lines[0]
    finally:
        supervisor.stop(grace=5)


def test_what_a_dead_childs_group_holds_is_left_running_then_stopped_with_the_rest(
    supervised: tuple[Supervisor, list[str]], tmp_path: Path
) -> None:
    supervisor, _ = supervised
    pid_file = tmp_path / "code-server.pid"
    supervisor.start("dagster-daemon", with_grandchild(pid_file), tmp_path / "daemon.log")
    daemon = supervisor.children["dagster-daemon"].proc.pid
    drive(supervisor, lambda: pid_file.exists() and pid_file.read_text() != "", 30)
    server = int(pid_file.read_text())
    pid_file.unlink()
    os.kill(daemon, signal.SIGKILL)  # the daemon only, not its group
    drive(supervisor, lambda: supervisor.children["dagster-daemon"].proc.pid != daemon
          and pid_file.exists() and pid_file.read_text() != "", 30)  # fmt: skip
    new_server = int(pid_file.read_text())
    assert alive(server), "the old code server was killed on restart"
    assert supervisor.leftover == [daemon]
    supervisor.stop(grace=5)
    assert not alive(server) and not alive(new_server)
    assert not group_exists(daemon)


def test_a_group_that_empties_is_forgotten(
    supervised: tuple[Supervisor, list[str]], tmp_path: Path
) -> None:
    supervisor, _ = supervised
    pid_file = tmp_path / "code-server.pid"
    supervisor.start("dagster-daemon", with_grandchild(pid_file), tmp_path / "daemon.log")
    drive(supervisor, lambda: pid_file.exists() and pid_file.read_text() != "", 30)
    server = int(pid_file.read_text())
    os.killpg(supervisor.children["dagster-daemon"].proc.pid, signal.SIGKILL)  # all of it
    drive(supervisor, lambda: supervisor.children["dagster-daemon"].restarts == 1, 10)
    drive(supervisor, lambda: supervisor.leftover == [], 10)
    assert not alive(server)


def test_describe_exit() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(-200) == "killed by signal 200"

"""Running a measured step in a child process: its JSON answer, its peak memory, the CPU.

A child of its own gives each load a clean peak resident set, and lets py-spy record it
(all threads, from outside the process) when a profile is asked for.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.env import ROOT
from bench.procstat import CpuMeter

PY_SPY = Path(sys.executable).with_name("py-spy")


def run_child(module: str, args: list[str], *, profile: Path | None = None,
              env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Runs `python -m module args...`; returns its last stdout line (JSON) plus `cpu_cores`
    (cores used per process group meanwhile) and `children_maxrss_mb` (RUSAGE_CHILDREN)."""
    command = [sys.executable, "-m", module, *args]
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        # raw = collapsed stacks, one line per stack with its sample count; --idle left out,
        # so waiting threads do not count as work. --nonblocking: never pause the target.
        command = [str(PY_SPY), "record", "--format", "raw", "--output", str(profile),
                   "--rate", "50", "--nonblocking", "--threads", "--", *command]
    with CpuMeter() as meter:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})}, check=False)
    cores = meter.cores
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{module} printed no result:\n{done.stdout[-2000:]}\n"
                           f"{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["cpu_cores"] = cores
    result["children_maxrss_mb"] = round(usage.ru_maxrss / 1024, 1)
    return result

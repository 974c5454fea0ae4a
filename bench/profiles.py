"""py-spy's collapsed stacks turned into the few lines that say what a process spent on.

py-spy records from outside the process (every thread, idle ones left out, so a sample is
a thread doing work), in "raw" format: one line per distinct stack, frames separated by `;`,
the sample count last. The summary gives each thread's share, the functions where samples
end (self), and the project's functions that samples pass through (inclusive), each with
its share of all samples.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

# Frames listed inclusively: the project's own, and the entry points of the layers the API
# and the loader sit on (waitress's task, falcon's app, the two clients' transports).
PROJECT = ("stores/", "orchestration/", "dbt_like_sql/", "vql/", "api/", "waitress/task.py",
           "falcon/app.py", "opensearchpy/transport.py", "psycopg/cursor.py")
_LINE = re.compile(r":\d+\)$")
_THREAD_SUFFIX = re.compile(r"(_\d+|-\d+)+$")
_NOISE = ("<frozen", "threading.py", "concurrent/futures/thread.py", "runpy")


def _frame(raw: str) -> str:
    """`func (path/to/file.py:123)` -> `func (to/file.py)`: the line is dropped, so a
    function counts once however many of its lines were sampled."""
    name = _LINE.sub(")", raw.strip())
    if "site-packages/" in name:
        name = re.sub(r"\(.*site-packages/", "(", name)
    return name


def _thread(raw: str) -> str:
    name = raw.split(":", 1)[1].strip() if ":" in raw else raw
    return _THREAD_SUFFIX.sub("", name) or name


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    through: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames and frames[0].startswith(("thread", "process")):
            threads[_thread(frames[0])] += count
            frames = frames[1:]
        if not frames:
            continue
        total += count
        names = [_frame(f) for f in frames]
        own[names[-1]] += count
        for name in set(names):
            if any(p in name for p in PROJECT) and not any(n in name for n in _NOISE):
                through[name] += count

    def share(counter: Counter[str], n: int) -> list[list[Any]]:
        return [[name, round(100 * c / max(total, 1), 1)] for name, c in counter.most_common(n)]

    return {"samples": total, "threads_pct": share(threads, 8), "self_pct": share(own, top),
            "project_inclusive_pct": share(through, top + 5)}


def as_markdown(title: str, summary: dict[str, Any]) -> str:
    lines = [f"### {title}", "", f"{summary['samples']} samples of working threads.", "",
             "| thread | % |", "|---|---|"]
    lines += [f"| {name} | {pct} |" for name, pct in summary["threads_pct"]]
    lines += ["", "| where samples end (self) | % |", "|---|---|"]
    lines += [f"| `{name}` | {pct} |" for name, pct in summary["self_pct"]]
    lines += ["", "| project function on the stack (inclusive) | % |", "|---|---|"]
    lines += [f"| `{name}` | {pct} |" for name, pct in summary["project_inclusive_pct"]]
    return "\n".join(lines) + "\n"

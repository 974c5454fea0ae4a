"""What the figures were measured on: the machine, the versions, the commit, the load."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.env import ROOT, BenchEnv

PACKAGES = ("duckdb", "pyarrow", "psycopg", "sqlalchemy", "opensearch-py", "falcon", "waitress",
            "orjson", "dlt", "matplotlib", "py-spy")


SOURCES = ("vql", "stores", "dbt_like_sql", "assets", "orchestration", "api")


def source_mtimes() -> dict[str, float]:
    """Modification times of the project's code: a run whose code changed under it (the
    working tree is shared) says so instead of mixing two versions silently."""
    found: dict[str, float] = {}
    for package in SOURCES:
        for path in (ROOT / package).rglob("*"):
            if path.suffix in {".py", ".sql", ".csv"} and "__pycache__" not in path.parts:
                found[str(path.relative_to(ROOT))] = path.stat().st_mtime
    return found


def changed_since(before: dict[str, float]) -> list[str]:
    now = source_mtimes()
    return sorted(name for name in {*before, *now} if before.get(name) != now.get(name))


def git_commit() -> str | None:
    """The checked-out commit, read from .git's files (no git command is run); in a
    worktree, .git is a file naming its git folder, whose refs live in the common one."""
    git = ROOT / ".git"
    try:
        if git.is_file():  # "gitdir: <main repository>/.git/worktrees/<name>"
            git = Path(git.read_text().strip().removeprefix("gitdir: "))
        common = git / "commondir"
        shared = (git / common.read_text().strip()).resolve() if common.is_file() else git
        ref = (git / "HEAD").read_text().strip()
        if not ref.startswith("ref: "):
            return ref
        name = ref[5:]
        loose = shared / name
        if loose.is_file():
            return loose.read_text().strip()
        for line in (shared / "packed-refs").read_text().splitlines():
            if line.endswith(" " + name):
                return line.split()[0]
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def server_versions(env: BenchEnv) -> dict[str, Any]:
    import psycopg

    found: dict[str, Any] = {}
    try:
        with psycopg.connect(env.pg_url("postgres")) as conn:
            found["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    except Exception as exc:  # noqa: BLE001 - informative only
        found["postgresql"] = f"unknown ({type(exc).__name__})"
    try:
        client = env.opensearch(timeout=10)
        info = client.info()
        found["opensearch"] = info["version"]["number"]
        client.close()
    except Exception as exc:  # noqa: BLE001 - informative only
        found["opensearch"] = f"unknown ({type(exc).__name__})"
    return found


def describe(env: BenchEnv) -> dict[str, Any]:
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in PACKAGES},
        "servers": server_versions(env),
    }

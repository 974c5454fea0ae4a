"""A loopback TCP proxy used as a fault injector in front of a real service.

Protocol-agnostic (PostgreSQL's wire protocol, HTTP to OpenSearch or S3 all pass through
unchanged), so a store pointed at the proxy cannot tell it from the service, until a test
breaks it:

- stop(): the port is closed and every open connection is cut, as when the service's
  process dies (clients get connection refused / reset); start() listens again on the
  same port, as when it comes back;
- freeze(): connections stay open but no byte moves either way, as with a hung server
  (its kernel still accepts and acknowledges, it never answers); thaw() lets the held
  bytes through;
- bytes_per_second: a slow link from the service to the client, so that a streamed
  download is still in flight when a test cuts it;
- alternates: more addresses of the same service; each new connection goes to the next one
  that accepts it (round robin with failover), as a load balancer in front of a cluster.

It is a test instrument, never part of Connectra.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

CHUNK = 64 * 1024


class TcpProxy:
    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        bytes_per_second: float | None = None,
        alternates: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.upstreams = [(upstream_host, upstream_port), *alternates]
        self._next = 0
        self.bytes_per_second = bytes_per_second
        self.port = 0  # chosen at the first start(), kept across restarts
        self.connections_accepted = 0
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._running = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- faults -------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.05)  # accept() polls, so stop() is prompt
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        self._running.set()
        self._acceptor = threading.Thread(
            target=self._accept_loop, args=(listener,), name=f"proxy-{self.port}", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Closes the port and cuts every connection (the service died)."""
        self._running.clear()
        if self._acceptor is not None:
            self._acceptor.join(5)
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._flowing.set()  # wake frozen pumps so they notice and end
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)

    def freeze(self) -> None:
        """No byte moves from now on; connections stay open (the service hangs)."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    @property
    def running(self) -> bool:
        return self._listener is not None

    def restore(self) -> None:
        """Back to normal service, whatever fault is on."""
        self.thaw()
        if not self.running:
            self.start()

    # -- plumbing -----------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self.connections_accepted += 1
            self._spawn(self._connect, client)

    def _spawn(self, target: Callable[..., None], *args: object) -> threading.Thread:
        thread = threading.Thread(target=self._tracked, args=(target, *args), daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()
        return thread

    def _tracked(self, target: Callable[..., None], *args: object) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _dial(self) -> socket.socket | None:
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % len(self.upstreams)
        for n in range(len(self.upstreams)):
            address = self.upstreams[(start + n) % len(self.upstreams)]
            try:
                return socket.create_connection(address, timeout=5)
            except OSError:
                continue
        return None

    def _connect(self, client: socket.socket) -> None:
        upstream = self._dial()
        if upstream is None:
            client.close()
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if not self._running.is_set():
                client.close()
                upstream.close()
                return
            self._sockets.update((client, upstream))
        outbound = self._spawn(self._pump, client, upstream, None)
        self._pump(upstream, client, self.bytes_per_second)
        outbound.join()
        with self._lock:
            self._sockets.difference_update((client, upstream))
        client.close()
        upstream.close()

    def _pump(self, source: socket.socket, sink: socket.socket, rate: float | None) -> None:
        size = CHUNK if rate is None else max(1024, min(CHUNK, int(rate / 20)))
        try:
            while True:
                data = source.recv(size)
                if not data:
                    break
                self._flowing.wait()
                if not self._running.is_set():
                    break
                if rate is not None:
                    time.sleep(len(data) / rate)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> bool:
    """Polls `condition` until it holds or `timeout` seconds pass; returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)

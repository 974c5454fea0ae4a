"""A loopback HTTP proxy that lets the Elasticsearch client talk to the OpenSearch test node.

It stands for an Elasticsearch 9 server (the real node of `CONNECTRA_ES=1` is an 8.15), and
elasticsearch-py refuses anything that does not look like Elasticsearch: it checks the
`X-Elastic-Product` response header and speaks the vendor media type
`application/vnd.elasticsearch+json; compatible-with=N` (8 from Connectra's dialect), which
OpenSearch rejects. This proxy translates just that: it answers `GET /` with an Elasticsearch-like
version, rewrites the media types in both directions (the vendor type goes back only to a client
that asked for it, as Elasticsearch does) and adds the product header; every other byte is
forwarded unchanged. It is a test instrument, never part of Connectra.

Endpoints the two engines spell differently (point in time: ES `POST /idx/_pit` vs OpenSearch
`POST /idx/_search/point_in_time`) are forwarded as they are, so they fail through the proxy.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

VENDOR_PREFIX = "application/vnd.elasticsearch+"
ES_VERSION = "9.1.0"
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def to_plain_media_type(value: str) -> str:
    """`application/vnd.elasticsearch+x-ndjson; compatible-with=9` -> `application/x-ndjson`."""
    main = value.split(";", 1)[0].strip()
    if main.startswith(VENDOR_PREFIX):
        return "application/" + main[len(VENDOR_PREFIX) :]
    return value


def to_vendor_media_type(value: str) -> str:
    """`application/json; charset=UTF-8` -> the vendor type the Elasticsearch client expects."""
    main = value.split(";", 1)[0].strip()
    if main in {"application/json", "application/x-ndjson"}:
        return f"{VENDOR_PREFIX}{main.split('/', 1)[1]}; compatible-with=9"
    return value


def _root_answer() -> bytes:
    return json.dumps(
        {
            "name": "es-proxy",
            "cluster_name": "connectra-test",
            "cluster_uuid": "es-proxy-over-opensearch",
            "version": {
                "number": ES_VERSION,
                "build_flavor": "default",
                "build_type": "tar",
                "lucene_version": "10.2.2",
                "minimum_wire_compatibility_version": "8.19.0",
                "minimum_index_compatibility_version": "8.0.0",
            },
            "tagline": "You Know, for Search",
        }
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real node: the client pools connections
    server: _ProxyServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Quiet: test output is no place for an access log."""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # Like Elasticsearch, answer in the vendor type only to a client that asked for it.
        vendor = VENDOR_PREFIX in (self.headers.get("Accept") or "")
        if self.command in {"GET", "HEAD"} and self.path.split("?", 1)[0] in {"", "/"}:
            kind = "application/json"
            self._answer(
                200,
                {"Content-Type": to_vendor_media_type(kind) if vendor else kind},
                _root_answer(),
            )
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        for name in ("Content-Type", "Accept"):
            for key in [k for k in headers if k.lower() == name.lower()]:
                headers[key] = to_plain_media_type(headers[key])
        server = self.server
        connection = http.client.HTTPConnection(
            server.upstream_host, server.upstream_port, timeout=server.timeout_seconds
        )
        try:
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
        except OSError as exc:
            message = json.dumps({"error": f"proxy: upstream unreachable: {exc}"}).encode()
            self._answer(502, {"Content-Type": "application/json"}, message)
            return
        finally:
            connection.close()
        for key in [k for k in out if k.lower() == "content-type" and vendor]:
            out[key] = to_vendor_media_type(out[key])
        self._answer(response.status, out, payload)

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    upstream_host: str
    upstream_port: int
    timeout_seconds: float


class ElasticsearchProxy:
    """`with ElasticsearchProxy(opensearch_url) as proxy:` then point the ES client at proxy.url."""

    def __init__(self, upstream_url: str, timeout_seconds: float = 60.0) -> None:
        parts = urlsplit(upstream_url)
        self._server = _ProxyServer(("127.0.0.1", 0), _Handler)
        self._server.upstream_host = parts.hostname or "127.0.0.1"
        self._server.upstream_port = parts.port or 9200
        self._server.timeout_seconds = timeout_seconds
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="es-proxy", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ElasticsearchProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ElasticsearchProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
